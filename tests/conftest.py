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


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the session's flow tests (~8 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def export_files(crm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    crm.leads.to_csv(folder / "leads.csv", index=False)
    crm.activities.to_csv(folder / "activities.csv", index=False)
    return folder / "leads.csv", folder / "activities.csv"
