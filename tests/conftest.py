from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

from features.config import load_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_CONFIG = ROOT / "data" / "configs" / "synthetic.toml"


@pytest.fixture(scope="session")
def config():
    return load_config(SYNTHETIC_CONFIG)


@pytest.fixture(scope="session")
def crm():
    """A small synthetic export, generated once per session."""
    from features.synthetic import generate

    return generate(6000, 12, 3)


@pytest.fixture(scope="session")
def canonical(crm, config):
    from features.contract import canonical_activities, canonical_leads

    leads, _ = canonical_leads(crm.leads, config)
    acts, _ = canonical_activities(crm.activities, config, leads["lead_id"])
    return leads, acts


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


@pytest.fixture(scope="session", autouse=True)
def migrated_mlflow_schema(tmp_path_factory):
    """Every new SQLite MLflow store of this test process starts from one migrated copy of MLflow's schema.

    MLflow runs its ~60 Alembic migrations on each new SQLite file (~5 s apiece, dozens of stores per
    session); the result is the same schema every time, so it is made once and copied in with SQLite's
    backup API. The stores are still real MLflow stores: MLflow's own code creates the default experiment
    and every record. Subprocesses (the e2e tests) create their stores the normal way.
    """
    import sqlite3

    import mlflow.store.db.utils as db_utils
    import mlflow.store.model_registry.sqlalchemy_store as registry_store
    import sqlalchemy

    migrate = db_utils._initialize_tables
    template = tmp_path_factory.getbasetemp() / "mlflow-schema.db"

    def initialize_from_template(engine: sqlalchemy.engine.Engine) -> None:
        if engine.url.get_backend_name() != "sqlite" or not engine.url.database or db_utils._all_tables_exist(engine):
            migrate(engine)  # not a file we can fill (or already filled): MLflow's own path
            return
        if not template.exists():  # the first store of the session: MLflow migrates it once, here
            made = sqlalchemy.create_engine(f"sqlite:///{template}")
            migrate(made)
            made.dispose()
        source = sqlite3.connect(template)
        target = engine.raw_connection()
        try:
            source.backup(target.driver_connection)
        finally:
            target.close()
            source.close()
        engine.dispose()  # pooled connections opened before the copy must not keep a stale schema cache

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(db_utils, "_initialize_tables", initialize_from_template)
        mp.setattr(registry_store, "_initialize_tables", initialize_from_template)
        yield


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the session's flow tests (~8 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness) -> str:
    """The session's Prefect server, for subprocesses: with PREFECT_API_URL set, a `python -m pipelines.cli`
    run uses it instead of starting a temporary server of its own (6-11 s each on this machine)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def export_files(crm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    crm.leads.to_csv(folder / "leads.csv", index=False)
    crm.activities.to_csv(folder / "activities.csv", index=False)
    return folder / "leads.csv", folder / "activities.csv"
