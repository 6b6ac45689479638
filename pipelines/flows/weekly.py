"""The weekly flow: train, gate, score the open leads, publish the list, then move the registry's aliases."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.states import State

from features.config import DatasetConfig, load_config
from features.contract import LoadedExport
from models import tracking as trk
from models.train import InsufficientData
from pipelines.flows.common import drift_of, labels_at, load_cached, repair_interrupted, with_drift_state
from pipelines.flows.tasks import (
    apply_decision_task,
    log_report_task,
    publish_task,
    resolve_task,
    retrying,
    review_task,
    score_task,
    shape_list_task,
)
from pipelines.flows.train import train_and_register
from pipelines.progress import step
from pipelines.results import WeeklyResult
from pipelines.settings import Settings
from serving.persona_week import nothing_to_list, open_lead_ids, persona_summary, persona_week
from serving.publish import kill_point, read_previous, remove_pages, write_pages
from serving.summary import inputs_summary, predictor_fact, tiers_of
from serving.week_list import page_facts


@flow(name="weekly", log_prints=True)
def weekly_flow(
    leads: Path,
    activities: Path | None,
    config_path: Path,
    settings: Settings,
    as_of: datetime | None = None,
    capacity: int | None = None,
) -> WeeklyResult | State:
    """Load → validate → features → train → gate → score the open leads → publish the list → summary.

    The registry's aliases move last, after the list is written, so a run that fails before publishing
    leaves the previous champion, and the previous list, as they were (a failure of the alias move itself
    leaves the new list beside the old champion; the run fails and says so). The open leads are compared
    with the training window of the model that scores them (drift); a drift alert ends the run in the
    ``DriftAlert`` state.
    """
    t0 = time.perf_counter()
    repair_interrupted(settings.workspace / "lists")
    config = load_config(config_path)
    export, features, cached = load_cached(leads, activities, config, settings)
    labels, stamp = labels_at(export, config, as_of)
    capacity = capacity or settings.capacity
    try:
        t = train_and_register(export, features, labels, stamp, config, settings, (leads, activities))
    except InsufficientData as exc:
        summary = persona_summary(export, labels, stamp, str(exc), cached)
        return _persona_week(export, features, labels, config, settings, summary, t0, capacity)
    decision, tracking = t.decision, t.tracking
    if not decision.promoted and decision.previous_champion is None:
        # no champion to fall back on (this run's model is clearly worse than the logistic regression): the
        # persona rule ranks the list, as with too little data; the version is kept as challenger
        why = f"no champion yet, and this run's model v{decision.version} was not promoted: {decision.reason}"
        extra = {k: v for k, v in t.summary.items() if k != "tier_cutoffs"}
        summary = persona_summary(export, labels, stamp, why, cached, extra)
        week = _persona_week(export, features, labels, config, settings, summary, t0, capacity)
        retrying(apply_decision_task, settings)(tracking, t.run_id, decision)
        return week
    alias = f"/{decision.version}" if decision.promoted else f"@{trk.CHAMPION}"
    resolved = resolve_task(tracking, f"models:/{tracking.model_name}{alias}")
    open_ids = open_lead_ids(labels)
    summary = {
        "status": "ok",
        "as_of": str(stamp),
        "inputs": inputs_summary(export, labels),
        "features": cached,
        **t.summary,
        "scored_with": f"v{resolved.version}",
    }
    lists = settings.workspace / "lists"
    facts: dict = {}
    drift_table = None
    if open_ids.empty:
        nothing_to_list(summary)  # nothing new to work: keep last week's list rather than replace it
    else:
        open_features = features.loc[open_ids]
        with step(f"Scoring {len(open_ids):,} open leads with v{resolved.version}"):
            scored = score_task(resolved, open_features, export.leads, config, settings)
        drift_table, summary["drift"] = drift_of(tracking, resolved, open_features, settings, t.run_id)
        previous = read_previous(lists / "latest.parquet")
        scored, facts, assignment = shape_list_task(
            scored, previous, export, resolved.tier_cutoffs, settings, capacity, open_features, config
        )
        summary["list"] = {
            "rows": len(scored),
            "tiers": tiers_of(scored),
            "tier_cutoffs": resolved.tier_cutoffs,
            "predictor": predictor_fact(resolved.scorer),
            **facts,
        }
    summary["list"]["lang"] = settings.lang  # the language of list.csv, and of the review page shown first
    summary["list"]["kind"] = "weekly"  # impact measures a weekly list's open leads at its as_of
    with step("Rendering the threshold review page (English, Spanish)"):
        pages = review_task(
            t.result, decision, t.cutoffs, config, labels, settings, resolved.version, page_facts(facts), export.leads
        )
        retrying(log_report_task, settings)(tracking, t.run_id, pages, t.version)
    if open_ids.empty:
        files = {}
        summary["review_pages"] = write_pages(lists, "latest", pages)
    else:
        with step("Publishing the list and the review page"):
            files = retrying(publish_task, settings)(
                lists,
                "latest",
                scored,
                export.rejects,
                summary,
                pages,
                drift_table,
                assignment=assignment,
                lang=settings.lang,
            )
    kill_point("weekly:before-alias")
    retrying(apply_decision_task, settings)(tracking, t.run_id, decision)
    result = {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
    return with_drift_state(WeeklyResult.model_validate(result))


def _persona_week(
    export: LoadedExport,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: DatasetConfig,
    settings: Settings,
    summary: dict,
    t0: float,
    capacity: int | None,
) -> WeeklyResult:
    """Too little history to train (or no model fit to): the persona rule ranks this week's list.

    Last week's review page, about a model that did not score this list, leaves lists/ (the archive keeps it).
    """
    open_ids = open_lead_ids(labels)
    if open_ids.empty:
        nothing_to_list(summary)
        return WeeklyResult.model_validate({**summary, "files": {}, "elapsed_s": round(time.perf_counter() - t0, 1)})
    with step(f"Ranking {len(open_ids):,} open leads by the persona rule"):
        scored = persona_week(export, features, open_ids, config, summary, capacity, lang=settings.lang)
    summary["list"]["kind"] = "persona"  # impact shows persona-rule weeks apart from the model's
    folder = settings.workspace / "lists"
    with step("Publishing the list"):
        files = retrying(publish_task, settings)(folder, "latest", scored, export.rejects, summary, lang=settings.lang)
    remove_pages(folder, "latest")
    return WeeklyResult.model_validate({**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)})
