"""This week's list beyond its scores: the working list for the capacity, trends, and the seed KPIs."""

from __future__ import annotations

import pandas as pd

from features.config import Persona
from serving import control, planning


def shape_list(
    scored: pd.DataFrame,
    previous: pd.DataFrame | None,
    leads: pd.DataFrame,
    activities: pd.DataFrame,
    cutoffs: dict[str, float],
    *,
    capacity: int | None,
    trend_points: float,
    minutes_per_lead: float,
    cost_per_hour: float,
) -> tuple[pd.DataFrame, dict]:
    """The list with this week's working list marked and each lead's trend; the list's facts beside it.

    The facts: ``capacity`` (the working list, when a capacity is given), ``trend`` (against the previous
    list, when there is one) and ``kpis`` (expected SQLs, SDR hours and cost, response by tier). The trend
    words are English in every language (list.csv says them in the team's: ``serving.publish.sdr_csv``).
    """
    facts: dict = {}
    if capacity is not None:  # 0 too: the model group's share when all the open leads are control leads
        scored, facts["capacity"] = planning.mark_capacity(scored, capacity)
    if previous is not None:
        scored = planning.score_trend(scored, previous, points=trend_points)
        facts["trend"] = planning.trend_counts(scored)
    kpis = planning.week_kpis(scored, cutoffs, minutes_per_lead=minutes_per_lead, cost_per_hour=cost_per_hour)
    kpis["response_by_tier"] = planning.response_rate_by_tier(scored, leads, activities)
    facts["kpis"] = kpis
    return scored, facts


def shape_week_list(
    scored: pd.DataFrame,
    features: pd.DataFrame,
    persona: Persona,
    *,
    capacity: int | None,
    control_share: float,
    control_salt: str,
    **list_args,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """``shape_list`` with the control group (``serving.control``): the list, its facts and its assignment.

    The control share of the open leads (``features``, the listed leads' features in the export's order) is
    set apart, ranked by ``persona`` below the model group, with its score withheld; the model group gets
    ``shape_list`` (working list, trends, KPIs; ``list_args`` are its other arguments) with its share of the
    capacity. With share 0 the list is ``shape_list``'s.
    """
    split = control.split_list(scored, features, persona, share=control_share, salt=control_salt)
    return control.shape_week(split, lambda part, cap: shape_list(part, capacity=cap, **list_args), capacity)


def page_facts(facts: dict) -> dict | None:
    """What the review page's "this week" section shows: the seed KPIs, and the control group when it is on."""
    if "kpis" not in facts:
        return None
    on = facts.get("control", {}).get("share", 0) > 0
    return {**facts["kpis"], "control": facts["control"]} if on else facts["kpis"]


def challenger_notes(promoted: bool, version: str, reason: str, scored_with: str) -> list[str]:
    """The review page's note when this run's model was kept as challenger and the champion scored the list."""
    if promoted:
        return []
    return [
        f"This run's model v{version} was kept as challenger ({reason}); this week's list "
        f"is scored with the champion v{scored_with}."
    ]
