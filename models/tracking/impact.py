"""Realised results of past lists as an MLflow series: one point per realised week, charted by the MLflow UI."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from models.tracking.client import Tracking, mask_secrets
from models.transient import is_transient

IMPACT_TAG = "impact_monitor"  # tag (value: the registered model's name) of the runs holding the series


def week_metrics(week: dict) -> dict[str, float]:
    """One realised week's figures as MLflow metrics (``impact/...``): counts and rates only, no lead."""
    out = {"impact/leads": float(week["leads"]), "impact/realised_sqls": float(week["sqls"])}
    if week.get("expected_sqls") is not None:
        out["impact/expected_sqls"] = float(week["expected_sqls"])
    if week.get("score_sum") is not None:
        out["impact/score_sum"] = float(week["score_sum"])
    for part in ("worked", "rest", "control_worked"):
        rate = (week.get(part) or {}).get("rate")
        if rate is not None:
            out[f"impact/{part}_rate"] = float(rate)
    if week.get("lift") is not None:
        out["impact/lift"] = float(week["lift"])
    cost = (week.get("kpis") or {}).get("cost_per_sql")
    if cost is not None:
        out["impact/cost_per_sql"] = float(cost)
    return out


def lift_metrics(lift: dict | None) -> dict[str, float]:
    """The pooled lift and its interval (``impact_lift/...``), when there is a control group."""
    keys = ("lift", "lift_low", "lift_high", "sqls_gained_per_week", "weeks_needed")
    return {f"impact_lift/{k}": float(lift[k]) for k in keys if lift and lift.get(k) is not None}


def log_impact(tracking: Tracking, report: dict) -> dict:
    """Log an impact report as a finished run ``impact-<as_of>`` of the model's experiment (tag ``impact_monitor``).

    Each realised week is one step of the ``impact/`` series (timestamp: the list's as-of moment), so the
    MLflow UI charts realised against expected SQLs and the worked leads' SQL rate week by week; the
    pooled lift goes to ``impact_lift/`` and the whole report to the run's ``impact/`` artifacts. A run per
    report, not one long series: each report re-measures every week with the outcomes known by then.

    Logging never costs the report: an MLflow error that will not pass by itself comes back as
    ``{"warning": ...}``; a transient one (the server is down) propagates, to be retried.
    """
    try:
        return _log_impact(tracking, report)
    except MlflowException as exc:
        if is_transient(exc):
            raise
        first = mask_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return {"warning": f"impact not logged to MLflow: {first}"}


def _log_impact(tracking: Tracking, report: dict) -> dict:
    client = tracking.client()
    experiment_id = tracking.experiment_id()
    run = client.create_run(
        experiment_id,
        run_name=f"impact-{pd.Timestamp(report['as_of']):%Y%m%d-%H%M}",
        tags={
            IMPACT_TAG: tracking.model_name,
            "mlflow.note.content": (
                "Realised results of past lists (leadscore impact): one step per week whose horizon has passed. "
                "impact/expected_sqls against impact/realised_sqls is the calibration in production; "
                "impact/worked_rate against impact/rest_rate and impact/control_worked_rate is the list's lift."
            ),
        },
    )
    run_id = run.info.run_id
    realised = [w for w in report["weeks"] if w["status"] == "realised"]
    metrics = []
    for step, week in enumerate(realised):
        stamp = int(pd.Timestamp(week["week_of"]).timestamp() * 1000)
        metrics += [Metric(k, v, stamp, step) for k, v in week_metrics(week).items()]
    stamp = int(pd.Timestamp(report["as_of"]).timestamp() * 1000)
    metrics += [Metric(k, v, stamp, 0) for k, v in lift_metrics(report.get("lift")).items()]
    for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "impact.json"
        path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        client.log_artifact(run_id, str(path), artifact_path="impact")
    client.set_terminated(run_id)
    return {"run_id": run_id, "experiment_id": experiment_id, "weeks": len(realised)}
