"""The train flow: train, evaluate, log and register a model; the gate decides whether it becomes champion."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow

from features.config import DatasetConfig, load_config
from features.contract import LoadedExport
from models import tracking as trk
from models.train import TrainingResult
from pipelines.flows.common import labels_at, load_cached, repair_interrupted
from pipelines.flows.tasks import (
    apply_decision_task,
    cutoffs_task,
    dask_train_task,
    decide_task,
    log_task,
    register_task,
    retrying,
    train_task,
)
from pipelines.progress import step
from pipelines.results import TrainResult
from pipelines.settings import Settings
from serving.summary import data_facts, inputs_summary, training_summary


@dataclass(frozen=True)
class Trained:
    """A trained, logged and registered version, with the gate's decision not yet applied."""

    tracking: trk.Tracking
    run_id: str
    version: str
    decision: trk.GateDecision
    result: TrainingResult
    cutoffs: dict[str, float]
    summary: dict


def train_and_register(
    export: LoadedExport,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    as_of: pd.Timestamp,
    config: DatasetConfig,
    settings: Settings,
    inputs: tuple[Path, Path | None],
    dask: str | None = None,
) -> Trained:
    """Train (in one process or on Dask), log the run, register the version and ask the gate."""
    tracking = settings.tracking(config.name)
    if dask:
        with step(f"Training with lightgbm.dask on {dask}, calibrating and evaluating against the baselines"):
            result = dask_train_task(features, labels, config, settings, dask)
    else:
        with step("Training the candidate models, calibrating and evaluating against the baselines"):
            result = train_task(features, labels, config, settings)
    facts = data_facts(export, config, as_of, inputs)
    with step("Logging the run to MLflow"):
        run_id, model_uri = retrying(log_task, settings)(tracking, result, settings, facts)
    with step("Registering and comparing with the champion"):
        version = retrying(register_task, settings)(tracking, model_uri, run_id, result, config.name)
        decision = decide_task(tracking, version, result, settings)
    cutoffs = cutoffs_task(tracking, version)
    summary = training_summary(result, cutoffs, decision, tracking, run_id, version)
    return Trained(tracking, run_id, version, decision, result, cutoffs["cutoffs"], summary)


@flow(name="train", log_prints=True)
def train_flow(
    leads: Path,
    activities: Path | None,
    config_path: Path,
    settings: Settings,
    as_of: datetime | None = None,
    dask: str | None = None,
) -> TrainResult:
    """Train, evaluate, log and register a model; the gate decides whether it becomes champion.

    ``dask``: a Dask scheduler address, or ``local``, to train with lightgbm.dask (models/distributed.py).
    """
    t0 = time.perf_counter()
    repair_interrupted(settings.workspace / "lists")
    config = load_config(config_path)
    export, features, cached = load_cached(leads, activities, config, settings)
    labels, stamp = labels_at(export, config, as_of)
    t = train_and_register(export, features, labels, stamp, config, settings, (leads, activities), dask)
    retrying(apply_decision_task, settings)(t.tracking, t.run_id, t.decision)
    return TrainResult.model_validate(
        {
            "status": "ok",
            "as_of": str(stamp),
            "inputs": inputs_summary(export, labels),
            "features": cached,
            **t.summary,
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
    )
