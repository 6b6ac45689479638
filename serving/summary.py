"""The sections of a run's summary: what was read, what training found, what the list holds.

The summary is written beside each list (``*_summary.json``) and returned by the flows, typed
(pipelines/results.py); these functions build its sections from the export, the training result and
the registry's decision, so the flows only wire them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from features.config import DatasetConfig
from features.contract import LoadedExport, fingerprint_files
from features.related import related_files
from models import tracking as trk
from models.train import TrainingResult

NO_OPEN_LEADS = "no open leads in this export: the previous list was kept"


def inputs_summary(export: LoadedExport, labels: pd.DataFrame | None = None) -> dict:
    """Rows read and rejected per table and the loader's warnings; with the labels, the leads by state."""
    rej = export.rejects["table"].value_counts() if len(export.rejects) else pd.Series(dtype=int)
    out = {
        "leads_in": export.rows_in["leads"],
        "activities_in": export.rows_in["activities"],
        "leads_rejected": int(rej.get("leads", 0)),
        "activities_rejected": int(rej.get("activities", 0)),
        "warnings": list(export.warnings),
    }
    related = {t: n for t, n in export.rows_in.items() if t not in ("leads", "activities")}
    if related:  # lookup and event tables of the config, by name: rows read and rejected
        out["related"] = {t: {"in": n, "rejected": int(rej.get(t, 0))} for t, n in related.items()}
    if labels is not None:
        out["leads_by_state"] = {k: int(v) for k, v in labels["state"].value_counts().items()}
    return out


def data_facts(
    export: LoadedExport, config: DatasetConfig, as_of: datetime | pd.Timestamp, inputs: tuple[Path, Path | None]
) -> dict:
    """What the run was trained on, logged with it: dataset, config and input fingerprints, row counts."""
    return {
        "dataset": config.name,
        "config_fingerprint": config.fingerprint(),
        "as_of": str(as_of),
        "horizon_days": config.horizon_days,
        "input_file": Path(inputs[0]).name,
        "input_fingerprint": fingerprint_files(*inputs, *related_files(config, inputs[0])),
        "rows_leads": export.rows_in["leads"],
        "rows_activities": export.rows_in["activities"],
        "rejected_rows": len(export.rejects),
    }


def carried_cutoffs_note(result: TrainingResult, record: dict) -> str | None:
    """A note when the version's cut-offs were carried over from the champion: what they pass on this run.

    Carried cut-offs were set for another model's scores; the shares they pass on this run's newest MQLs
    (A, A-B, A-C) say whether they still fit. None when the cut-offs are this version's own.
    """
    if not str(record.get("note", "")).startswith("carried over"):
        return None
    scores = (result.holdout_proba * 100).round(1)
    shares = {t: float((scores >= c).mean()) for t, c in record["cutoffs"].items()}
    return (
        f"tier cut-offs {record['note'].split(':')[0]} (set by {record['by']} at {record['at']}): on this "
        f"run's newest MQLs they pass A {shares['A']:.0%}, A-B {shares['B']:.0%}, A-C {shares['C']:.0%} "
        "(the defaults pass 10%, 30%, 60%); check them with `leadscore thresholds propose`"
    )


def training_summary(
    result: TrainingResult,
    cutoffs: dict,
    decision: trk.GateDecision,
    tracking: trk.Tracking,
    run_id: str,
    version: str,
) -> dict:
    """The trained model's figures, its cut-offs, the gate's decision and where MLflow keeps the run."""
    note = carried_cutoffs_note(result, cutoffs)
    return {
        "windows": result.windows,
        "metrics": result.metrics,
        "model_vs_baselines": result.comparisons,
        "best_iteration": result.best_iteration,
        **({"model_choice": result.model_choice, "candidates": result.candidates} if result.candidates else {}),
        "notes": [*result.notes, *([note] if note else [])],
        **({"segments": result.segments} if result.segments else {}),
        "leak_suspects": result.audit.head(3)[["source", "suspicion", "evidence"]].round(2).to_dict(orient="records"),
        "tier_cutoffs": cutoffs["cutoffs"],
        "tier_cutoffs_set_by": cutoffs["by"],
        "gate": decision.as_dict(),
        "mlflow": {
            "tracking_uri": trk.display_uri(tracking.tracking_uri),  # the summary is written beside the list
            "experiment": tracking.experiment_name,
            "run_id": run_id,
            "model": f"models:/{tracking.model_name}/{version}",
        },
    }


def tiers_of(scored: pd.DataFrame) -> dict:
    """Leads per tier on a list, A first (the control group's rows have no tier: serving.control)."""
    tiers = scored["tier"]
    return tiers[tiers != ""].value_counts().sort_index().to_dict()


def predictor_fact(scorer) -> str:
    """``compiled``, or ``lightgbm (why)``: the scores are identical, the fallback is slower."""
    return scorer.predictor if scorer.predictor == "compiled" else f"lightgbm ({scorer.predictor_reason})"


def tradeoff_records(refs: pd.DataFrame) -> dict:
    """The reference trade-offs table as records by rule, rounded, missing figures as None."""
    return {
        rule: {k: (None if pd.isna(v) else round(float(v), 4)) for k, v in row.items()} for rule, row in refs.iterrows()
    }
