"""The report and propose flows: a registered model's review page, and cut-offs proposed for a capacity."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from features.config import DatasetConfig, load_config
from features.files import atomic_write
from models import tracking as trk
from pipelines.flows.common import labels_at, load, resolve_model
from pipelines.progress import step
from pipelines.results import ProposeResult, ReportResult
from pipelines.settings import Settings
from serving import planning, review
from serving.review import reference_tradeoffs
from serving.summary import tradeoff_records

PROPOSE_RULE = (
    "C: the lowest cut-off passing at most the capacity per week (weekly MQL volume x share of the "
    "validation window at or above it); B and A: the same for 60% and 25% of the capacity"
)


def _model_window(
    leads: Path, activities: Path | None, settings: Settings, model_uri: str | None, config_path: Path | None
) -> tuple[trk.ResolvedModel, DatasetConfig, review.ReviewInputs]:
    """A registered model, its dataset config and its validation window rebuilt from the export."""
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    resolved, config = resolve_model(tracking, model_uri, config)
    export, features = load(leads, activities, config, settings)
    labels, _ = labels_at(export, config, None)
    with step("Scoring the validation window"):
        inputs = review.for_model(
            resolved.scorer, features, labels, config=config, params=settings.train, leads=export.leads
        )
    return resolved, config, inputs


@flow(name="report", log_prints=True)
def report_flow(
    leads: Path,
    activities: Path | None,
    out: Path,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
    lang: str = "en",
) -> ReportResult:
    """The threshold review page of a registered model (default: the champion), on its validation window."""
    resolved, config, inputs = _model_window(leads, activities, settings, model_uri, config_path)
    volume, source = review.volume_for(inputs.window, setting=settings.weekly_mql_volume)
    pages = review.render_pages(
        inputs,
        tier_cutoffs=resolved.tier_cutoffs,
        config=config,
        weekly_mql_volume=settings.weekly_mql_volume,
        model_label=f"{settings.model_name} v{resolved.version}",
        langs=(lang,),
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
        currency=settings.currency,
    )
    path = atomic_write(out, lambda tmp: tmp.write_text(pages[lang], encoding="utf-8"))
    costs = {"minutes_per_lead": settings.minutes_per_lead, "cost_per_hour": settings.cost_per_hour}
    refs = reference_tradeoffs(inputs.window, resolved.tier_cutoffs, weekly_mql_volume=volume, **costs)
    return ReportResult(
        status="ok",
        page=str(path),
        lang=lang,
        model=resolved.uri,
        model_version=resolved.version,
        tier_cutoffs=resolved.tier_cutoffs,
        window={"leads": len(inputs.window), "sqls": int(inputs.window["label"].sum())},
        weekly_mql_volume=round(volume, 1),
        weekly_mql_volume_source=source,
        at_current_cutoffs=tradeoff_records(refs),
        auc=inputs.metrics["model"]["roc_auc"],
    )


@flow(name="propose-cutoffs", log_prints=True)
def propose_flow(
    leads: Path,
    activities: Path | None,
    capacity: float,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
) -> ProposeResult:
    """A-D cut-offs that fill ``capacity`` leads a week with the best scores, and what they mean."""
    resolved, _, inputs = _model_window(leads, activities, settings, model_uri, config_path)
    volume, source = review.volume_for(inputs.window, setting=settings.weekly_mql_volume)
    try:
        proposed = planning.propose_cutoffs(inputs.window, weekly_mql_volume=volume, capacity=capacity)
    except ValueError as exc:
        raise trk.CutoffError(str(exc)) from None
    kw = {
        "weekly_mql_volume": volume,
        "minutes_per_lead": settings.minutes_per_lead,
        "cost_per_hour": settings.cost_per_hour,
    }
    return ProposeResult(
        status="ok",
        model=resolved.uri,
        model_version=resolved.version,
        capacity=capacity,
        weekly_mql_volume=round(volume, 1),
        weekly_mql_volume_source=source,
        window={"leads": len(inputs.window), "sqls": int(inputs.window["label"].sum())},
        current=resolved.tier_cutoffs,
        proposed=proposed,
        at_proposed=tradeoff_records(reference_tradeoffs(inputs.window, proposed, **kw)),
        at_current=tradeoff_records(reference_tradeoffs(inputs.window, resolved.tier_cutoffs, **kw)),
        rule=PROPOSE_RULE,
    )
