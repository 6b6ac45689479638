"""Drift over time: each drift check as one point of a per-model MLflow series, charted by the MLflow UI."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.files import neutralise_formulas
from models.tracking.client import Tracking, mask_secrets
from models.transient import is_transient

DRIFT_MONITOR_TAG = "drift_monitor"  # tag (value: the registered model's name) of the run holding the series
DRIFT_LEVEL_CODE = {"ok": 0, "watch": 1, "alert": 2}


def _metric_key(name: str) -> str:
    return re.sub(r"[^\w\-. ]", "_", name)  # no "/": it would open a chart section of its own


def drift_metrics(table: pd.DataFrame, verdict: dict, *, version: str) -> dict[str, float]:
    """The figures of one drift check as MLflow metrics: the headline ones (``drift/...``), and per feature
    its PSI (``drift_psi/<feature>``), unseen share (``drift_unseen/``, categorical features) and missing
    rate (``drift_missing/``, where missing then or now). Names and numbers only: no category value or lead."""
    scored = table[table["kind"] != "score"]
    top = table[table["top"] & (table["kind"] != "score")]
    out = {
        "drift/level": float(DRIFT_LEVEL_CODE[verdict["level"]]),
        "drift/score_psi": float(verdict["score_psi"]),
        "drift/top_feature_max_psi": float(top["psi"].max()) if len(top) else 0.0,
        "drift/feature_max_psi": float(scored.loc[scored["level"] != "n/a", "psi"].max()) if len(scored) else 0.0,
        "drift/rows": float(verdict.get("rows", 0)),
    }
    if version.isdigit():
        out["drift/model_version"] = float(version)
    # per feature under a prefix with "/": the MLflow UI charts each prefix in a section of its own
    for r in scored.to_dict(orient="records"):
        key = _metric_key(r["feature"])
        out[f"drift_psi/{key}"] = float(r["psi"])
        if r["kind"] == "categorical":
            out[f"drift_unseen/{key}"] = float(r["unseen_now"])
        if r["missing_then"] or r["missing_now"]:  # a feature never missing would add a flat line
            out[f"drift_missing/{key}"] = float(r["missing_now"])
    return out


def _drift_monitor(client: MlflowClient, experiment_id: str, model_name: str) -> str:
    """The run that holds a model name's drift series in an experiment, created (finished) the first time."""
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.{DRIFT_MONITOR_TAG} = '{model_name}'", max_results=1
    )
    if found:
        return found[0].info.run_id
    run = client.create_run(
        experiment_id,
        run_name=f"drift-monitor-{model_name}",
        tags={
            DRIFT_MONITOR_TAG: model_name,
            "mlflow.note.content": (
                "One point per scoring run (step = its count, time = when it scored): PSI of the score and of "
                "each feature against the scoring model's training window. drift/level: 0 ok, 1 watch, 2 alert."
            ),
        },
    )
    client.set_terminated(run.info.run_id)  # a finished run still takes new points; the UI shows no spinner
    return run.info.run_id


def log_drift(
    tracking: Tracking,
    table: pd.DataFrame,
    verdict: dict,
    *,
    version: str,
    scored_at: datetime | None = None,
    run_id: str | None = None,
    model_name: str | None = None,
) -> dict:
    """Log a drift check to MLflow as a point of a time series, so the MLflow UI charts drift over weeks.

    Where: one long-lived run per registered model name, ``drift-monitor-<model name>`` (tag
    ``drift_monitor``), in the experiment of the scoring version's training run. Each check adds one
    point to each of its metrics (``drift_metrics``), with step = the number of earlier checks and timestamp = the
    scoring time; the check's table goes to its ``drift/`` artifacts. Not the scoring version's own
    training run: the weekly gate promotes a new version most weeks, so each version's run would hold a
    single point and no chart. The series keeps going across versions, and ``drift/model_version``
    shows where the scoring model changed (the reference moves with it).

    With ``run_id`` (the weekly run), the same metrics and table are also logged on that run, so the
    runs table of the experiment shows each week's drift level next to its metrics.

    ``model_name`` is the registered model of the version that scored (``ResolvedModel.name``; default the
    settings' model name): ``--model models:/other/3`` is version 3 of ``other`` whatever the settings say.
    Logging never costs the list: an MLflow error that will not pass by itself (a version or run gone, a
    refused write) is returned as ``{"warning": ...}`` for the summary; a transient one (the server is
    down) propagates like any other MLflow outage.
    """
    name = model_name or tracking.model_name
    try:
        return _log_drift(tracking, table, verdict, name=name, version=version, scored_at=scored_at, run_id=run_id)
    except MlflowException as exc:
        if is_transient(exc):
            raise
        first = mask_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return {"warning": f"drift not logged to MLflow for model '{name}' version {version}: {first}"}


def _log_drift(
    tracking: Tracking,
    table: pd.DataFrame,
    verdict: dict,
    *,
    name: str,
    version: str,
    scored_at: datetime | None,
    run_id: str | None,
) -> dict:
    client = tracking.client()
    mv = client.get_model_version(name, version)
    experiment_id = client.get_run(mv.run_id).info.experiment_id
    monitor = _drift_monitor(client, experiment_id, name)
    step = len(client.get_metric_history(monitor, "drift/level"))
    when = scored_at or datetime.now(UTC)
    stamp = int(when.timestamp() * 1000)
    values = drift_metrics(table, verdict, version=version)
    targets = [(monitor, step)] + ([(run_id, 0)] if run_id else [])
    with tempfile.TemporaryDirectory() as tmp:
        # the series' step in the name: two checks within the same second must not overwrite each other's table
        path = Path(tmp) / f"drift-{when:%Y%m%dT%H%M%SZ}-v{version}-step{step}.csv"
        neutralise_formulas(table).to_csv(path, index=False)  # opened in spreadsheets too
        for target, at in targets:
            metrics = [Metric(k, v, stamp, at) for k, v in values.items()]
            for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
                client.log_batch(target, metrics=metrics[i : i + 1000])
            client.set_tag(target, "drift_level", verdict["level"])
            client.log_artifact(target, str(path), artifact_path="drift")
    return {"monitor_run_id": monitor, "experiment_id": experiment_id, "step": step}
