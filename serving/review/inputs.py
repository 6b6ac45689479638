"""The threshold review's inputs: the validation window (from a training run, or rebuilt for a registered
model from an export), the weekly MQL volume to read it at, and the page in each language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from features.config import DatasetConfig
from features.names import feature_words
from models.baselines import persona_score
from models.leaks import weight_shares
from models.metrics import compare_scorers
from models.scorer import LeadScoreModel
from models.train import MIN_PER_WINDOW, TrainingDataError, TrainingResult, TrainParams, mature_leads
from serving.review.fairness import audit_values
from serving.review.page import render_report
from serving.review.window import review_window, weekly_volume, window_frame
from serving.vocabulary import LANGS


@dataclass
class ReviewInputs:
    """Everything ``render_report`` needs besides the language and the current cut-offs."""

    window: pd.DataFrame
    features: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    comparisons: dict[str, dict]
    importance: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    audit: pd.DataFrame | None = None  # the audit columns' values, same rows as window (fairness.audit_values)


def from_training(
    result: TrainingResult, config: DatasetConfig, labels: pd.DataFrame, leads: pd.DataFrame | None = None
) -> ReviewInputs:
    """The page's inputs from a training run: its holdout window, metrics and importance.

    ``leads``: the canonical leads (``LoadedExport.leads``), where audit columns that are not features are read.
    """
    mql_at = labels.set_index("lead_id")["mql_at"] if config.time == "timestamps" else None
    window = review_window(result, config.persona, mql_at=mql_at)
    audit = audit_values(config, result.holdout_features, leads) if config.audit else None
    return ReviewInputs(
        window,
        result.holdout_features,
        result.metrics,
        result.comparisons,
        result.importance,
        list(result.notes),
        audit,
    )


def for_model(
    model: LeadScoreModel,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    config: DatasetConfig,
    params: TrainParams,
    leads: pd.DataFrame | None = None,
) -> ReviewInputs:
    """Rebuild a registered model's validation window from an export, with the split training uses.

    On the export the model was trained on, this is exactly its holdout window; on a newer export, the
    newest mature leads, which the model has not seen. Refused (TrainingDataError) when the window holds
    too few SQLs or non-SQLs for its figures to mean anything. ``leads``: as in ``from_training``.
    """
    mature = mature_leads(features, labels, config=config, params=params)
    if len(mature.y) == 0:
        raise TrainingDataError("no lead in this export has a known outcome yet: there is no window to review")
    hold = mature.split == "holdout"
    Xh, yh = mature.X[hold], mature.y[hold]
    if min(int(yh.sum()), int(len(yh) - yh.sum())) < MIN_PER_WINDOW:
        raise TrainingDataError(
            f"too few labelled leads to review: the validation window holds {int(yh.sum())} SQLs and "
            f"{int(len(yh) - yh.sum())} non-SQLs; at least {MIN_PER_WINDOW} of each are needed"
        )
    proba = model.predict_proba(Xh)
    persona = persona_score(Xh, config.persona)
    mql_at = mature.mql_at if config.time == "timestamps" else None
    window = window_frame(proba, yh, Xh, config.persona, mql_at=mql_at)
    scores = {"model": proba, "persona_rule": persona}
    metrics, comparisons = compare_scorers(yh, scores, seed=params.seed)
    gain = model.booster.feature_importance(importance_type="gain")
    if model.kind != "lightgbm":  # a logistic or blend model: the page's shares are of its own weight
        gain = weight_shares(model, Xh).reindex(model.features).to_numpy()
    importance = pd.DataFrame({"feature": model.features, "gain": gain}).sort_values("gain", ascending=False)
    notes = []
    if config.time == "none":
        notes.append("no timestamps: a random stratified split; the figures are optimistic")
    audit = audit_values(config, Xh, leads) if config.audit else None
    return ReviewInputs(window, Xh, metrics, comparisons, importance.reset_index(drop=True), notes, audit)


def volume_for(window: pd.DataFrame, *, setting: float | None) -> tuple[float, str]:
    """The weekly MQL volume to read the page at, and where it comes from.

    A configured volume (``weekly_mql_volume``) wins; else the window's MQL dates measure it; with no
    dates, the window's size stands in and the page says its "per week" figures are per that many MQLs.
    """
    if setting is not None:
        return float(setting), "setting"
    if "mql_at" in window.columns and window["mql_at"].notna().any():
        return weekly_volume(window["mql_at"]), "measured"
    return float(len(window)), "window"


def render_pages(
    inputs: ReviewInputs,
    *,
    tier_cutoffs: Mapping[str, float],
    config: DatasetConfig,
    weekly_mql_volume: float | None = None,
    model_label: str = "",
    notes: Sequence[str] = (),
    langs: Sequence[str] = LANGS,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
    currency: str = "€",
    this_week: Mapping[str, object] | None = None,
    generated_at: datetime | None = None,
    impact: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """The review page in each language of ``langs``: language -> self-contained HTML (``impact``: render_report)."""
    volume, source = volume_for(inputs.window, setting=weekly_mql_volume)
    all_notes = [*inputs.notes, *notes]
    if source == "window":
        all_notes.append(
            f"This export has no MQL dates, so the weekly MQL volume cannot be measured: the “per week” figures "
            f"are per {len(inputs.window):,} MQLs (the validation window). Set LEADSCORE_WEEKLY_MQL_VOLUME to "
            "read them per week."
        )
    # every language's page reads the same figures and names: only the language differs
    shared = {
        "weekly_mql_volume": volume,
        "tier_cutoffs": tier_cutoffs,
        "metrics": inputs.metrics,
        "comparisons": inputs.comparisons,
        "importance": inputs.importance,
        "features": inputs.features,
        "persona_description": config.persona.description,
        "model_label": model_label,
        "notes": all_notes,
        "minutes_per_lead": minutes_per_lead,
        "cost_per_hour": cost_per_hour,
        "currency": currency,
        "generated_at": generated_at,
        "volume_source": source,
        "this_week": this_week,
        "words": feature_words(config),
        "audit": inputs.audit,
        "impact": impact,
    }
    return {lang: render_report(inputs.window, lang=lang, **shared) for lang in langs}
