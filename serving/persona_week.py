"""The persona week: with no model to rank the list, the persona rule ranks it, and the summary says so."""

from __future__ import annotations

import pandas as pd

from features.config import DatasetConfig
from features.contract import LoadedExport
from features.names import feature_words
from serving import planning
from serving.persona import PERSONA_VERSION, persona_list
from serving.summary import NO_OPEN_LEADS, inputs_summary, tiers_of

CAPACITY_NOTE = "ranked by the persona rule: no expected SQLs (not probabilities)"


def open_lead_ids(labels: pd.DataFrame) -> pd.Series:
    """The leads still open at the as-of moment: the ones a list ranks."""
    return labels.loc[labels["state"] == "open", "lead_id"]


def persona_summary(
    export: LoadedExport,
    labels: pd.DataFrame,
    stamp: pd.Timestamp,
    why: str,
    cached: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """The persona week's summary before its list: why no model ranks it, and what was read."""
    return {
        "status": "persona_rule",
        "as_of": str(stamp),
        "inputs": inputs_summary(export, labels),
        "training": why,
        "scored_with": PERSONA_VERSION,
        "features": cached or {"cache": "off"},
        **(extra or {}),  # a trained model the gate did not promote: its figures and the gate's decision
    }


def persona_week(
    export: LoadedExport,
    features: pd.DataFrame,
    open_ids: pd.Series,
    config: DatasetConfig,
    summary: dict,
    capacity: int | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """The open leads ranked by the persona rule (reasons in ``lang``); the list's section is added to ``summary``.

    The capacity still marks this week's working list, but no SQLs are "expected": the persona share is
    not a probability.
    """
    scored = persona_list(
        features.loc[open_ids],
        export.leads,
        config.persona,
        pii_columns=config.names_with_role("pii"),
        words=feature_words(config),
        lang=lang,
    )
    summary["list"] = {"rows": len(scored), "tiers": tiers_of(scored)}
    if capacity:
        scored, facts = planning.mark_capacity(scored, capacity)
        summary["list"]["capacity"] = {"capacity": facts["capacity"], "leads": facts["leads"], "note": CAPACITY_NOTE}
    return scored


def nothing_to_list(summary: dict) -> None:
    """No open leads: the previous list is kept, and the summary says so."""
    summary["list"] = {"rows": 0, "note": NO_OPEN_LEADS}
