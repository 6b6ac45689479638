"""The spine's acceptance criteria at full size (60,000 generated leads): run with `make test-slow`."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG

pytestmark = pytest.mark.slow


def test_weekly_on_60k_leads_meets_the_acceptance_figures(prefect_harness, tmp_path):
    from features.synthetic import generate
    from pipelines.flows import weekly_flow

    crm = generate(60_000, 12, 11)
    crm.leads.to_csv(tmp_path / "leads.csv", index=False)
    crm.activities.to_csv(tmp_path / "activities.csv", index=False)
    ws = tmp_path / "ws"
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}")
    summary = weekly_flow(tmp_path / "leads.csv", tmp_path / "activities.csv", SYNTHETIC_CONFIG, settings)

    listed = pd.read_csv(ws / "lists" / "latest.csv")
    rejects = pd.read_csv(ws / "lists" / "latest_rejects.csv")
    open_ids = set(crm.open_ids())
    counted = pd.concat([listed["lead_id"], rejects["lead_id"].dropna()])
    assert set(counted) >= open_ids and counted[counted.isin(open_ids)].is_unique

    truth = crm.truth.set_index("lead_id").loc[listed["lead_id"]]
    ratio = roc_auc_score(truth["converted"], listed["score"]) / roc_auc_score(truth["converted"], truth["p_true"])
    assert ratio >= 0.97
    m = summary["metrics"]
    assert m["model"]["ece"] <= 0.03
    assert m["model"]["roc_auc"] > m["persona_rule"]["roc_auc"]
    # the shipped model may be the logistic regression itself (chosen on the calibration window): at least
    # the logistic regression's AUC minus 0.005, the bar, and never clearly worse (the gate's rule)
    assert m["model"]["roc_auc"] >= m["logistic_regression"]["roc_auc"] - 0.005
    assert summary["model_vs_baselines"]["logistic_regression"]["verdict"] != "worse"
