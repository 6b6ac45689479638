"""The Prefect tasks of the flows: each one call into features/, models/ or serving/, retried where it may fail."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from features.build import build_features
from features.config import DatasetConfig
from features.contract import LoadedExport, load_export
from models import backtest
from models import tracking as trk
from models.train import TrainingResult, train_and_evaluate
from pipelines.retries import retry_options
from pipelines.settings import RetrySettings, Settings
from serving import drift, review
from serving.impact import read_latest
from serving.publish import publish
from serving.score import score_leads
from serving.week_list import challenger_notes, shape_week_list

# DataFrames flow between tasks in memory: hashing them for a cache key would only cost time
TASK = {"cache_policy": NO_CACHE, "persist_result": False}


def retrying(t, settings: Settings | None):
    """The task with the settings' retry policy: back-off retries on transient file and MLflow errors only."""
    return t.with_options(**retry_options(settings.retry if settings else RetrySettings()))


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
def dask_train_task(
    features: pd.DataFrame, labels: pd.DataFrame, config: DatasetConfig, settings: Settings, address: str
):
    from models.distributed import train_on_cluster  # the optional Dask extra, only when asked for

    return train_on_cluster(features, labels, config=config, params=settings.train, address=address)


@task(**TASK)
def log_task(tracking: trk.Tracking, result: TrainingResult, settings: Settings, facts: dict) -> tuple[str, str]:
    compile_predictor = settings.compile_predictor
    params = settings.train.model_dump()
    return trk.log_training(tracking, result, params=params, data_facts=facts, compile_predictor=compile_predictor)


@task(**TASK)
def register_task(tracking: trk.Tracking, model_uri: str, run_id: str, result: TrainingResult, dataset: str) -> str:
    # the run was logged just before: a version of it can only come from an earlier attempt of this task
    return trk.register(tracking, model_uri, run_id, result, by=trk.DEFAULT_SETTER, dataset=dataset, resume=True)


@task(**TASK)
def decide_task(tracking: trk.Tracking, version: str, result: TrainingResult, settings: Settings) -> trk.GateDecision:
    return trk.decide(tracking, version, result, policy=settings.promotion)


@task(**TASK)
def cutoffs_task(tracking: trk.Tracking, version: str) -> dict[str, float]:
    return trk.cutoff_record(tracking, f"models:/{tracking.model_name}/{version}")["current"]


@task(**TASK)
def apply_decision_task(tracking: trk.Tracking, run_id: str, decision: trk.GateDecision) -> None:
    trk.apply_decision(tracking, run_id, decision)


@task(**TASK)
def resolve_task(tracking: trk.Tracking, uri: str | None) -> trk.ResolvedModel:
    return trk.resolve(tracking, uri)


@task(**TASK)
def log_report_task(tracking: trk.Tracking, run_id: str, pages: dict[str, str], version: str) -> list[str]:
    return trk.log_report(tracking, run_id, pages, version=version)


@task(**TASK)
def score_task(
    resolved: trk.ResolvedModel, features: pd.DataFrame, leads: pd.DataFrame, config: DatasetConfig, settings: Settings
) -> pd.DataFrame:
    return score_leads(
        resolved.scorer, features, leads, cutoffs=resolved.tier_cutoffs, model_version=resolved.version,
        pii_columns=config.names_with_role("pii"), reasons_limit=settings.reasons_limit, lang=settings.lang,
    )  # fmt: skip


@task(**TASK)
def shape_list_task(
    scored: pd.DataFrame,
    previous: pd.DataFrame | None,
    export: LoadedExport,
    cutoffs: dict[str, float],
    settings: Settings,
    capacity: int | None,
    features: pd.DataFrame,
    config: DatasetConfig,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """This week's working list, score trends, the seed KPIs and the control group; the list's assignment."""
    return shape_week_list(
        scored, features, config.persona, capacity=capacity, control_share=settings.control_share,
        control_salt=settings.control_salt, previous=previous, leads=export.leads, activities=export.activities,
        cutoffs=cutoffs, trend_points=settings.trend_points, minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
    )  # fmt: skip


@task(**TASK)
def drift_task(
    resolved: trk.ResolvedModel, features: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame | None, dict]:
    """The scored batch against the scoring model's training window: the table and the summary section."""
    return drift.check(
        resolved.scorer.extra, features, resolved.scorer.predict_proba(features),
        watch=settings.drift_watch, alert=settings.drift_alert, top_n=settings.drift_top_features,
    )  # fmt: skip


# the list set to a dated archive, then the latest files replaced from it (serving.publish)
publish_task = task(publish, name="publish_task", **TASK)


@task(**TASK)
def review_task(
    result: TrainingResult,
    decision: trk.GateDecision,
    cutoffs: dict[str, float],
    config: DatasetConfig,
    labels: pd.DataFrame,
    settings: Settings,
    scored_with: str,
    kpis: dict | None,
    leads: pd.DataFrame | None = None,
) -> dict[str, str]:
    """The review page of this run's model, in English and Spanish (``leads``: where audit columns are read)."""
    return review.render_pages(
        review.from_training(result, config, labels, leads),
        tier_cutoffs=cutoffs,
        config=config,
        weekly_mql_volume=settings.weekly_mql_volume,
        model_label=f"{settings.model_name} v{decision.version}",
        notes=challenger_notes(decision.promoted, decision.version, decision.reason, scored_with),
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
        currency=settings.currency,
        this_week=kpis,
        impact=read_latest(settings.workspace / "lists"),
    )


@task(**TASK)
def replay_week_task(
    features: pd.DataFrame,
    leads: pd.DataFrame,
    outcomes: pd.DataFrame,
    week: backtest.Week,
    config: DatasetConfig,
    settings: Settings,
    capacity: int,
) -> backtest.WeekReplay:
    return backtest.replay_week(
        features, leads, outcomes, week, config=config, params=settings.train, capacity=capacity
    )
