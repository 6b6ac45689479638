"""The list of registry versions with what a data team asks about each (``leadscore models``). Reads only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException

from models.tracking.client import CHAMPION, Tracking, is_missing
from models.tracking.history import (
    BY_ROLLBACK_TAG,
    ROLLED_BACK_TAG,
    _registered_at,
    _versions,
    active_hold,
    champion_history,
)

METRIC_KEYS = ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "pr_auc", "ece", "brier", "lift_top10", "capture_top20")
WINDOW_KEYS = ("rows", "sqls", "sql_rate", "first_mql", "last_mql")


def list_versions(tracking: Tracking, now: datetime | None = None) -> dict:
    """Every version of the registered model, newest first, with what a data team asks about it.

    Holdout metrics and the data windows come from the version's training run; aliases, tier cut-offs,
    the gate's decision and rollbacks from the registry. Reads only.
    """
    client, name = tracking.client(), tracking.model_name
    now = now or datetime.now(UTC)
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if not is_missing(exc):
            raise  # an unreachable or failing store is an error, not "no versions"
        return {"status": "ok", "model": name, "versions": [], "champion_history": [], "hold": None}
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for version, mv in reversed(_versions(tracking).items()):
        tags = dict(mv.tags)
        metrics, baselines, params = {}, {}, {}
        try:
            run = client.get_run(mv.run_id) if mv.run_id else None
        except MlflowException as exc:
            if not is_missing(exc):
                raise
            run = None  # the run was deleted: the figures kept on the version below
        if run is not None:
            m, params = run.data.metrics, run.data.params
            metrics = {k: m[f"model.{k}"] for k in METRIC_KEYS if f"model.{k}" in m}
            baselines = {b: m[f"{b}.roc_auc"] for b in ("persona_rule", "logistic_regression") if f"{b}.roc_auc" in m}
        if not metrics:  # the run is gone: the figures kept on the version
            kept = {"roc_auc": "holdout_auc", "ece": "holdout_ece"}
            metrics = {k: float(tags[t]) for k, t in kept.items() if t in tags}
        windows = {
            w: {k: params[f"{w}_{k}"] for k in WINDOW_KEYS if f"{w}_{k}" in params}
            for w in ("train", "calibration", "holdout")
        }
        created = _registered_at(mv)
        rows.append(
            {
                "version": version,
                "aliases": sorted(aliases.get(version, [])),
                "created": created.isoformat(timespec="seconds"),
                "age_days": round((now - created).total_seconds() / 86_400, 2),
                "dataset": tags.get("dataset", ""),
                "run_id": mv.run_id,
                "metrics": metrics,
                "baselines_auc": baselines,
                "windows": {w: f for w, f in windows.items() if f},
                "holdout_window": tags.get("holdout_window", ""),
                "tier_cutoffs": json.loads(tags["tier_cutoffs"]) if "tier_cutoffs" in tags else None,
                "tier_cutoffs_set_by": tags.get("tier_cutoffs_set_by", ""),
                "gate_rule": tags.get("gate_rule", ""),
                "gate_decision": tags.get("gate_decision", ""),
                "rolled_back": json.loads(tags[ROLLED_BACK_TAG]) if ROLLED_BACK_TAG in tags else None,
                "champion_by_rollback": json.loads(tags[BY_ROLLBACK_TAG]) if BY_ROLLBACK_TAG in tags else None,
            }
        )
    champion = next((r["version"] for r in rows if CHAMPION in r["aliases"]), None)
    return {
        "status": "ok",
        "model": name,
        "versions": rows,
        "champion_history": champion_history(tracking),
        "hold": active_hold(tracking, champion, now) if champion else None,
    }
