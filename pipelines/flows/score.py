"""The score flow: score every valid lead in a file with a registered model, check drift, publish the list."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow
from prefect.states import State

from features.config import load_config
from models.train import default_as_of
from pipelines.flows.common import drift_of, load, repair_interrupted, resolve_model, with_drift_state
from pipelines.flows.tasks import publish_task, retrying, score_task, shape_list_task
from pipelines.progress import step
from pipelines.results import ScoreResult
from pipelines.settings import Settings
from serving.publish import read_previous
from serving.summary import inputs_summary, predictor_fact, tiers_of


@flow(name="score", log_prints=True)
def score_flow(
    leads: Path,
    activities: Path | None,
    out: Path,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
    capacity: int | None = None,
) -> ScoreResult | State:
    """Score every valid lead in the file with a registered model (default: the champion).

    A list already at ``out`` is read first, for each lead's previous score and trend. The batch is
    compared with the model's training window (drift: ``<stem>_drift.csv`` beside the list, the summary,
    MLflow); a drift alert ends the run in the ``DriftAlert`` state (see ``with_drift_state``).
    """
    t0 = time.perf_counter()
    repair_interrupted(Path(out).parent)
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    resolved, config = resolve_model(tracking, model_uri, config)
    export, features = load(leads, activities, config, settings)
    with step(f"Scoring {len(features):,} leads"):
        scored = score_task(resolved, features, export.leads, config, settings)
    drift_table, drift_section = drift_of(tracking, resolved, features, settings) if len(features) else (None, {})
    out = Path(out)
    previous = read_previous(out)
    scored, facts, assignment = shape_list_task(
        scored, previous, export, resolved.tier_cutoffs, settings, capacity or settings.capacity, features, config
    )
    summary = {
        "status": "ok",
        # the export's own moment: impact measures the leads of this list that were open then (a score list
        # holds every lead of its file, decided ones too), and never the wall clock of scored_at
        "as_of": str(default_as_of(export.leads, export.activities)),
        "inputs": inputs_summary(export),
        "model": resolved.uri,
        "model_version": resolved.version,
        "tier_cutoffs": resolved.tier_cutoffs,
        "predictor": predictor_fact(resolved.scorer),
        "list": {"rows": len(scored), "tiers": tiers_of(scored), **facts, "lang": settings.lang, "kind": "score"},
        **({"drift": drift_section} if drift_section else {}),
    }
    with step("Writing the list"):
        files = retrying(publish_task, settings)(
            out.parent,
            out.stem,
            scored,
            export.rejects,
            summary,
            drift_table=drift_table,
            assignment=assignment,
            lang=settings.lang,
        )
    result = {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
    return with_drift_state(ScoreResult.model_validate(result))
