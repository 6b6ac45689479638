"""Prefect flows: thin wiring of features/, models/ and serving/. Flows do the I/O, nothing else."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from features.build import build_features
from features.config import DatasetConfig, load_config
from features.contract import LoadedExport, fingerprint_files, load_export
from models import tracking as trk
from models.train import (
    InsufficientData,
    TrainingDataError,
    TrainingResult,
    default_as_of,
    labels_for,
    train_and_evaluate,
)
from pipelines.progress import step
from pipelines.settings import Settings
from serving.output import write_csv, write_json, write_parquet
from serving.persona import PERSONA_VERSION, persona_list
from serving.score import score_leads

# DataFrames flow between tasks in memory: hashing them for a cache key would only cost time
TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(**TASK)
def load_task(leads: Path, activities: Path | None, config: DatasetConfig) -> LoadedExport:
    return load_export(leads, activities, config)


@task(**TASK)
def features_task(export: LoadedExport, config: DatasetConfig) -> pd.DataFrame:
    return build_features(export.leads, export.activities, config=config)


@task(**TASK)
def train_task(features: pd.DataFrame, labels: pd.DataFrame, config: DatasetConfig, settings: Settings):
    return train_and_evaluate(features, labels, config=config, params=settings.train)


@task(**TASK)
def log_task(tracking: trk.Tracking, result: TrainingResult, settings: Settings, facts: dict) -> tuple[str, str]:
    return trk.log_training(tracking, result, params=settings.train.model_dump(), data_facts=facts)


@task(**TASK)
def score_task(
    resolved: trk.ResolvedModel, features: pd.DataFrame, leads: pd.DataFrame, config: DatasetConfig, settings: Settings
) -> pd.DataFrame:
    return score_leads(
        resolved.scorer,
        features,
        leads,
        cutoffs=resolved.tier_cutoffs,
        model_version=resolved.version,
        pii_columns=config.names_with_role("pii"),
        reasons_limit=settings.reasons_limit,
    )


@task(**TASK)
def publish_task(folder: Path, stem: str, scored: pd.DataFrame, rejects: pd.DataFrame, summary: dict) -> dict:
    """Write the dated copy first, then replace each latest file atomically."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    paths = {}
    for target, prefix in ((folder / "archive" / stamp, "list"), (folder, stem)):
        paths = {
            "csv": write_csv(scored, target / f"{prefix}.csv"),
            "parquet": write_parquet(scored, target / f"{prefix}.parquet"),
            "rejects": write_csv(rejects, target / f"{prefix}_rejects.csv"),
        }
        write_json({**summary, "files": {k: str(v) for k, v in paths.items()}}, target / f"{prefix}_summary.json")
    return {k: str(v) for k, v in paths.items()} | {"archive": str(folder / "archive" / stamp)}


def _load(leads: Path, activities: Path | None, config: DatasetConfig) -> tuple[LoadedExport, pd.DataFrame]:
    with step("Loading and validating the export"):
        export = load_task(leads, activities, config)
    with step("Building point-in-time features"):
        features = features_task(export, config)
    return export, features


def _inputs_summary(export: LoadedExport, labels: pd.DataFrame | None = None) -> dict:
    rej = export.rejects["table"].value_counts() if len(export.rejects) else pd.Series(dtype=int)
    out = {
        "leads_in": export.rows_in["leads"],
        "activities_in": export.rows_in["activities"],
        "leads_rejected": int(rej.get("leads", 0)),
        "activities_rejected": int(rej.get("activities", 0)),
        "warnings": list(export.warnings),
    }
    if labels is not None:
        out["leads_by_state"] = {k: int(v) for k, v in labels["state"].value_counts().items()}
    return out


def _train_and_register(export, features, labels, as_of, config, settings, inputs) -> dict:
    tracking = settings.tracking(config.name)
    with step("Training LightGBM, calibrating and evaluating against the baselines"):
        result = train_task(features, labels, config, settings)
    facts = {
        "dataset": config.name,
        "config_fingerprint": config.fingerprint(),
        "as_of": str(as_of),
        "horizon_days": config.horizon_days,
        "input_file": Path(inputs[0]).name,
        "input_fingerprint": fingerprint_files(*inputs),
        "rows_leads": export.rows_in["leads"],
        "rows_activities": export.rows_in["activities"],
        "rejected_rows": len(export.rejects),
    }
    with step("Logging the run to MLflow"):
        run_id, model_uri = log_task(tracking, result, settings, facts)
    with step("Registering and comparing with the champion"):
        version = trk.register(tracking, model_uri, run_id, result, by="leadscore (default)")
        decision = trk.decide(tracking, version, result, tolerance=settings.gate_tolerance)
    summary = {
        "windows": result.windows,
        "metrics": result.metrics,
        "model_vs_baselines": result.comparisons,
        "best_iteration": result.best_iteration,
        "notes": result.notes,
        "leak_suspects": result.audit.head(3)[["source", "suspicion", "evidence"]].round(2).to_dict(orient="records"),
        "tier_cutoffs": result.tier_cutoffs,
        "gate": decision.as_dict(),
        "mlflow": {
            "tracking_uri": tracking.tracking_uri,
            "experiment": tracking.experiment_name,
            "run_id": run_id,
            "model": f"models:/{tracking.model_name}/{version}",
        },
    }
    return {"tracking": tracking, "run_id": run_id, "decision": decision, "summary": summary}


def _labels(export: LoadedExport, config: DatasetConfig, as_of: datetime | None) -> tuple[pd.DataFrame, pd.Timestamp]:
    stamp = pd.Timestamp(as_of) if as_of else default_as_of(export.leads, export.activities)
    return labels_for(export.leads, config, stamp), stamp


@flow(name="build-features", log_prints=True)
def build_features_flow(leads: Path, activities: Path | None, config_path: Path, out: Path) -> dict:
    """Load, validate and write the point-in-time feature table (Parquet) and its rejects."""
    config = load_config(config_path)
    export, features = _load(leads, activities, config)
    labels, as_of = _labels(export, config, None)
    table = features.reset_index().merge(labels[["lead_id", "state", "label"]], on="lead_id")
    write_parquet(table, out)
    rejects = write_csv(export.rejects, Path(out).with_name(Path(out).stem + "_rejects.csv"))
    return {
        "status": "ok",
        "inputs": _inputs_summary(export, labels),
        "features": str(out),
        "rejects": str(rejects),
        "columns": len(features.columns),
        "as_of": str(as_of),
    }


@flow(name="train", log_prints=True)
def train_flow(
    leads: Path, activities: Path | None, config_path: Path, settings: Settings, as_of: datetime | None = None
) -> dict:
    """Train, evaluate, log and register a model; the gate decides whether it becomes champion."""
    t0 = time.perf_counter()
    config = load_config(config_path)
    export, features = _load(leads, activities, config)
    labels, stamp = _labels(export, config, as_of)
    t = _train_and_register(export, features, labels, stamp, config, settings, (leads, activities))
    trk.apply_decision(t["tracking"], t["run_id"], t["decision"])
    return {
        "status": "ok",
        "as_of": str(stamp),
        "inputs": _inputs_summary(export, labels),
        **t["summary"],
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


@flow(name="score", log_prints=True)
def score_flow(
    leads: Path,
    activities: Path | None,
    out: Path,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
) -> dict:
    """Score every valid lead in the file with a registered model (default: the champion)."""
    t0 = time.perf_counter()
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    with step("Loading the model"):
        resolved = trk.resolve(tracking, model_uri)
    # by default, features are built with the dataset config saved inside the model
    config = config or DatasetConfig.model_validate(resolved.scorer.extra["dataset_config"])
    export, features = _load(leads, activities, config)
    with step(f"Scoring {len(features):,} leads"):
        scored = score_task(resolved, features, export.leads, config, settings)
    summary = {
        "status": "ok",
        "inputs": _inputs_summary(export),
        "model": resolved.uri,
        "model_version": resolved.version,
        "tier_cutoffs": resolved.tier_cutoffs,
        "list": {"rows": len(scored), "tiers": scored["tier"].value_counts().sort_index().to_dict()},
    }
    out = Path(out)
    with step("Writing the list"):
        files = publish_task(out.parent, out.stem, scored, export.rejects, summary)
    return {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}


@flow(name="weekly", log_prints=True)
def weekly_flow(
    leads: Path, activities: Path | None, config_path: Path, settings: Settings, as_of: datetime | None = None
) -> dict:
    """Load → validate → features → train → gate → score the open leads → publish the list → summary.

    The registry's aliases move last, after the list is written, so a failed run leaves the previous
    champion, and the previous list, as they were.
    """
    t0 = time.perf_counter()
    config = load_config(config_path)
    export, features = _load(leads, activities, config)
    labels, stamp = _labels(export, config, as_of)
    try:
        t = _train_and_register(export, features, labels, stamp, config, settings, (leads, activities))
    except InsufficientData as exc:
        return _persona_week(export, features, labels, stamp, config, settings, str(exc), t0)
    decision, tracking = t["decision"], t["tracking"]
    if decision.promoted:
        uri = f"models:/{tracking.model_name}/{decision.version}"
    elif decision.previous_champion is not None:
        uri = f"models:/{tracking.model_name}@{trk.CHAMPION}"
    else:
        trk.apply_decision(tracking, t["run_id"], decision)
        raise TrainingDataError(
            f"no model to score with: v{decision.version} was {decision.reason}, and there is no champion yet. "
            "Mark the columns it names as exclude in the dataset config, then run again."
        )
    resolved = trk.resolve(tracking, uri)
    open_ids = labels.loc[labels["state"] == "open", "lead_id"]
    summary = {
        "status": "ok",
        "as_of": str(stamp),
        "inputs": _inputs_summary(export, labels),
        **t["summary"],
        "scored_with": f"v{resolved.version}",
    }
    if open_ids.empty:
        # nothing new to work: keep last week's list rather than replace it with an empty one
        summary["list"] = {"rows": 0, "note": "no open leads in this export: the previous list was kept"}
        files = {}
    else:
        with step(f"Scoring {len(open_ids):,} open leads with v{resolved.version}"):
            scored = score_task(resolved, features.loc[open_ids], export.leads, config, settings)
        summary["list"] = {
            "rows": len(scored),
            "tiers": scored["tier"].value_counts().sort_index().to_dict(),
            "tier_cutoffs": resolved.tier_cutoffs,
        }
        with step("Publishing the list"):
            files = publish_task(settings.workspace / "lists", "latest", scored, export.rejects, summary)
    trk.apply_decision(tracking, t["run_id"], decision)
    return {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}


def _persona_week(export, features, labels, stamp, config, settings, why: str, t0: float) -> dict:
    """Too little history to train: the persona rule ranks this week's list, and everything says so."""
    open_ids = labels.loc[labels["state"] == "open", "lead_id"]
    summary = {
        "status": "persona_rule",
        "as_of": str(stamp),
        "inputs": _inputs_summary(export, labels),
        "training": why,
        "scored_with": PERSONA_VERSION,
    }
    if open_ids.empty:
        summary["list"] = {"rows": 0, "note": "no open leads in this export: the previous list was kept"}
        return {**summary, "files": {}, "elapsed_s": round(time.perf_counter() - t0, 1)}
    with step(f"Ranking {len(open_ids):,} open leads by the persona rule"):
        scored = persona_list(
            features.loc[open_ids], export.leads, config.persona, pii_columns=config.names_with_role("pii")
        )
    summary["list"] = {"rows": len(scored), "tiers": scored["tier"].value_counts().sort_index().to_dict()}
    with step("Publishing the list"):
        files = publish_task(settings.workspace / "lists", "latest", scored, export.rejects, summary)
    return {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
