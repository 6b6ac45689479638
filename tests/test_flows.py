"""The weekly flow end to end: real Prefect flow runs, a real SQLite MLflow store, real LightGBM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG


@pytest.fixture(scope="module")
def weekly_twice(prefect_harness, export_files, tmp_path_factory):
    from pipelines.flows import weekly_flow

    ws = tmp_path_factory.mktemp("workspace")
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", train={"num_threads": 2})
    leads, acts = export_files
    first = weekly_flow(leads, acts, SYNTHETIC_CONFIG, settings)
    first_list = pd.read_csv(ws / "lists" / "latest.csv")
    second = weekly_flow(leads, acts, SYNTHETIC_CONFIG, settings)
    return settings, first, first_list, second


def test_every_open_lead_is_listed_exactly_once_or_rejected(weekly_twice, crm):
    settings, first, first_list, _ = weekly_twice
    listed = pd.read_csv(settings.workspace / "lists" / "latest.csv")
    rejects = pd.read_csv(settings.workspace / "lists" / "latest_rejects.csv")
    assert listed["lead_id"].is_unique
    assert set(listed["lead_id"]) | set(rejects["lead_id"].dropna()) == set(crm.open_ids())
    assert listed["rank"].tolist() == list(range(1, len(listed) + 1))
    assert listed["score"].is_monotonic_decreasing
    assert set(listed["tier"]) <= {"A", "B", "C", "D"}
    assert listed["reason_1"].str.match(r"^[▲▼] ").all()
    assert {"first_name", "email", "company"} <= set(listed.columns)  # SDRs need to reach the lead
    assert first["list"]["rows"] == len(first_list) == len(listed)


def test_first_model_is_champion_and_second_run_applies_the_gate(weekly_twice):
    settings, first, _, second = weekly_twice
    client = MlflowClient(settings.resolved_tracking_uri())
    assert first["gate"]["promoted"] and first["gate"]["version"] == "1"
    assert second["gate"]["version"] == "2" and second["gate"]["champion_auc"] is not None
    champion = str(client.get_model_version_by_alias("lead-scoring", "champion").version)
    alias = "champion" if second["gate"]["promoted"] else "challenger"
    assert str(client.get_model_version_by_alias("lead-scoring", alias).version) == "2"
    assert champion == ("2" if second["gate"]["promoted"] else "1")
    run = client.get_run(second["mlflow"]["run_id"])
    assert run.data.tags["gate_decision"] == second["gate"]["reason"]
    assert run.data.metrics["gate.champion_auc"] == pytest.approx(second["gate"]["champion_auc"])
    assert "model.roc_auc" in run.data.metrics and "persona_rule.roc_auc" in run.data.metrics
    assert "logistic_regression.roc_auc" in run.data.metrics
    mv = client.get_model_version("lead-scoring", "2")
    assert set(mv.tags) >= {"tier_cutoffs", "tier_cutoffs_set_by", "gate_decision", "holdout_auc"}


def test_the_list_uses_the_champion_of_the_run(weekly_twice):
    settings, _, _, second = weekly_twice
    listed = pd.read_csv(settings.workspace / "lists" / "latest.csv")
    client = MlflowClient(settings.resolved_tracking_uri())
    expected = (
        "2"
        if second["gate"]["promoted"]
        else str(client.get_model_version_by_alias("lead-scoring", "champion").version)
    )
    assert listed["model_version"].astype(str).unique().tolist() == [expected]


def test_no_pii_anywhere_in_the_mlflow_store(weekly_twice, crm):
    settings, *_ = weekly_twice
    markers = [s.encode() for s in pd.concat([crm.leads["Email"], crm.leads["Phone"]]).head(400)]
    markers += [s.encode() for s in crm.leads["Company"].unique()[:200]]
    blobs = [(settings.workspace / "mlflow.db").read_bytes()]
    blobs += [p.read_bytes() for p in (settings.workspace / "mlartifacts").rglob("*") if p.is_file()]
    hits = [m for m in markers for b in blobs if m in b]
    assert hits == []


def test_pyfunc_model_scores_feature_rows_like_the_batch_scorer(weekly_twice, canonical, config):
    import mlflow.pyfunc

    from features.build import build_features
    from models.tracking import resolve

    settings, *_ = weekly_twice
    tracking = settings.tracking(config.name)
    leads, acts = canonical
    X = build_features(leads.head(200), acts, config=config)
    mlflow.set_tracking_uri(tracking.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/lead-scoring@champion")
    served = np.asarray(pyfunc.predict(X))
    batch = resolve(tracking).scorer.predict_proba(X)
    np.testing.assert_allclose(served, batch, rtol=0, atol=1e-12)
