"""What a list means for the SDR team: cut-offs sized to a capacity, this week's working list, score
trends against the previous list, and the seed KPIs sales leaders track. Pure functions on frames.

The list's ``score`` is the calibrated SQL probability x 100 (one decimal), so ``score / 100`` summed
over leads is the number of SQLs expected among them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.cutoffs import validate_cutoffs
from serving.review import scores
from serving.vocabulary import number
from serving.vocabulary import words as vocabulary

TREND_POINTS = 5.0  # a score move of at least this many points is a trend, less is Steady
# share of the capacity filled by tier A, and by tiers A and B; tier C fills the rest of it
PROPOSAL_SHARES = {"A": 0.25, "B": 0.60}
# activity types that are a prospect's answer ("no_response", "unanswered" are not)
REPLY_PATTERN = (
    r"^(?!.*\b(?:no|non|sin|un)[ _-]?(?:repl|respon|respuesta|contest|answer)).*(?:repl|respon|respuesta|contest)"
)
TRENDS = ("improving", "steady", "declining")  # the trend words' ids in the vocabulary's [list.trends]


# ---------------------------------------------------------------------------------------------------
# cut-offs for a capacity


def cutoff_for_volume(proba: np.ndarray, *, weekly_mql_volume: float, leads_per_week: float) -> float:
    """The lowest cut-off (a score, one decimal) that passes at most ``leads_per_week`` leads a week.

    Leads per week at a cut-off = weekly MQL volume x the share of ``proba`` (the validation window)
    scoring at or above it, as in ``serving.review.cutoff_tradeoffs``. When even the best score passes
    too many, the cut-off is just above it (nobody passes), capped at 100.
    """
    s = np.sort(scores(proba))[::-1]
    if len(s) == 0:
        raise ValueError("the window has no leads: there is nothing to size a cut-off on")
    distinct = np.unique(s)[::-1]
    passed = np.searchsorted(-s, -distinct, side="right")  # leads scoring >= each distinct score
    per_week = weekly_mql_volume * passed / len(s)
    ok = distinct[per_week <= leads_per_week * (1 + 1e-12)]
    if len(ok) == 0:
        return min(100.0, round(float(distinct[0]) + 0.1, 1))
    return round(float(ok.min()), 1)


def propose_cutoffs(
    window: pd.DataFrame, *, weekly_mql_volume: float, capacity: float, shares: Mapping[str, float] = PROPOSAL_SHARES
) -> dict[str, float]:
    """Tier cut-offs that fill ``capacity`` leads a week with the highest-scoring leads.

    C is the lowest cut-off at which the leads passed per week do not exceed the capacity; B and A the
    same for 60% and 25% of it, so tier A holds the best quarter of the capacity, B the next 35% and C
    the last 40%. Where tied scores make two cut-offs equal, the higher tier's goes 0.1 above.
    """
    if not (math.isfinite(capacity) and capacity > 0):
        raise ValueError(f"capacity must be a number of leads per week above 0, got {capacity}")
    if not weekly_mql_volume > 0:
        raise ValueError("the weekly MQL volume is 0: no cut-off can be sized on it")
    proba = window["proba"].to_numpy(dtype=float)
    kw = {"weekly_mql_volume": weekly_mql_volume}
    c = cutoff_for_volume(proba, leads_per_week=capacity, **kw)
    b = max(cutoff_for_volume(proba, leads_per_week=capacity * shares["B"], **kw), round(c + 0.1, 1))
    a = max(cutoff_for_volume(proba, leads_per_week=capacity * shares["A"], **kw), round(b + 0.1, 1))
    if a > 100:
        raise ValueError(
            f"a capacity of {capacity:g} leads a week is too small to split into tiers A, B and C at "
            f"{weekly_mql_volume:,.0f} MQLs a week"
        )
    return validate_cutoffs({"A": a, "B": b, "C": c})


# ---------------------------------------------------------------------------------------------------
# this week's list


def mark_capacity(scored: pd.DataFrame, capacity: int) -> tuple[pd.DataFrame, dict]:
    """Mark the ``capacity`` best-ranked leads as this week's working list (column ``this_week``: yes/no).

    Returns the list and what it means: leads and expected SQLs (sum of score / 100) in the working
    list and in the remainder. A capacity of 0 marks nothing but still writes the column: an empty model
    group's share when every open lead is in the control group (the team's capacity is at least 1).
    """
    if capacity < 0:
        raise ValueError(f"capacity must be at least 0 leads, got {capacity}")
    out = scored.copy()
    top = (out["rank"] <= capacity).to_numpy()
    out.insert(out.columns.get_loc("tier") + 1, "this_week", np.where(top, "yes", "no"))
    p = out["score"].to_numpy(dtype=float) / 100
    return out, {
        "capacity": int(capacity),
        "leads": int(top.sum()),
        "expected_sqls": round(float(p[top].sum()), 2),
        "leads_remainder": int((~top).sum()),
        "expected_sqls_remainder": round(float(p[~top].sum()), 2),
    }


def _reason_for(direction: int, reasons: pd.Series) -> str:
    """The first of the lead's reasons pointing the way its tier moved (▲ up, ▼ down); never one pointing away."""
    mark = "▲" if direction > 0 else "▼"
    for r in reasons:
        if isinstance(r, str) and r.startswith(mark):
            return r
    return ""


def score_trend(scored: pd.DataFrame, previous: pd.DataFrame | None, *, points: float = TREND_POINTS) -> pd.DataFrame:
    """Each lead's score against the previous list: previous_score, previous_tier, trend and tier_change_reason.

    ``trend``: Improving when the score rose by ``points`` or more, Declining when it fell by as much,
    Steady otherwise; empty for a lead not on the previous list (or ranked there by the persona rule,
    whose score is not a probability). ``tier_change_reason``: when the tier moved, the lead's first
    current reason pointing the same way (▲ for up, ▼ for down; in the reasons' language), or, for a lead
    that barely moved, the near-cut-off sentence. The trend words and that sentence are English in every
    language (list.parquet is the machine-readable list): list.csv says them in the team's language
    (``trend_words``, from the vocabulary's [list.trends]). Only the previous list's ids and numbers are read,
    never its words.
    """
    say = vocabulary("en", "list.trends")
    out = scored.copy()
    cols = ["previous_score", "previous_tier", "trend", "tier_change_reason"]
    prev = pd.DataFrame(columns=["lead_id", "previous_score", "previous_tier"])
    if previous is not None and len(previous):
        keep = previous
        if "model_version" in keep:
            keep = keep[keep["model_version"].astype(str) != "persona-rule"]
        prev = pd.DataFrame(
            {
                "lead_id": keep["lead_id"].astype(str).to_numpy(),
                # a list re-saved by a spreadsheet may hold "45,3" or text: unreadable scores give no trend
                "previous_score": pd.to_numeric(
                    keep["score"].astype("str").str.replace(",", ".", regex=False), errors="coerce"
                ).to_numpy(dtype=float),
                "previous_tier": keep["tier"].astype(str).to_numpy(),
            }
        ).drop_duplicates("lead_id")
    joined = out[["lead_id"]].astype({"lead_id": str}).merge(prev, on="lead_id", how="left")
    before = joined["previous_score"].to_numpy(dtype=float)
    diff = out["score"].to_numpy(dtype=float) - before
    known = ~np.isnan(before)
    trend = np.select(
        [known & (diff >= points), known & (diff <= -points), known],
        [say["improving"], say["declining"], say["steady"]],
        "",
    )
    rank = {"A": 0, "B": 1, "C": 2, "D": 3}
    now_tier = out["tier"].astype(str).map(rank).to_numpy(dtype=float)
    old_tier = joined["previous_tier"].map(rank).to_numpy(dtype=float)
    moved = known & (now_tier != old_tier)
    reason_cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in out]
    now_score = out["score"].to_numpy(dtype=float)

    def explain(i: int) -> str:
        if not moved[i]:
            return ""
        if abs(diff[i]) < points:  # the lead barely changed: a cut-off line moved, or it sat next to one
            return say["near_cutoff"].format(before=before[i], now=now_score[i])
        return _reason_for(int(np.sign(old_tier[i] - now_tier[i])), out[reason_cols].iloc[i])

    why = [explain(i) for i in range(len(out))]
    at = out.columns.get_loc("this_week" if "this_week" in out else "tier") + 1
    values = {
        "previous_score": before,
        "previous_tier": joined["previous_tier"].fillna("").to_numpy(),
        "trend": trend,
        "tier_change_reason": why,
    }
    for i, c in enumerate(cols):
        out.insert(at + i, c, values[c])
    return out


def trend_counts(listed: pd.DataFrame) -> dict[str, int]:
    """How many listed leads are Improving, Steady, Declining, new (not on the previous list), and moved tier."""
    t = listed["trend"]
    say = vocabulary("en", "list.trends")
    counts = {k: int((t == say[k]).sum()) for k in TRENDS}
    counts["new"] = int((t == "").sum())
    counts["tier_moved"] = int(((listed["previous_tier"] != "") & (listed["previous_tier"] != listed["tier"])).sum())
    return counts


def trend_words(listed: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The list's trend cells and near-cut-off sentences (English, from ``score_trend``) in ``lang``, for list.csv.

    The sentence's numbers are re-rendered from the row's ``previous_score`` and ``score`` in ``lang``'s
    format; a tier_change_reason that is one of the lead's reasons is already in the reasons' language.
    """
    if lang == "en" or "trend" not in listed:
        return listed
    en, say = vocabulary("en", "list.trends"), vocabulary(lang, "list.trends")
    why = listed["tier_change_reason"].to_numpy(dtype=object).copy()
    before, now = listed["previous_score"].to_numpy(dtype=float), listed["score"].to_numpy(dtype=float)
    for i in np.flatnonzero((listed["tier_change_reason"] != "").to_numpy() & ~np.isnan(before)):
        if why[i] == en["near_cutoff"].format(before=before[i], now=now[i]):
            why[i] = say["near_cutoff"].format(before=number(before[i], lang), now=number(now[i], lang))
    trend = listed["trend"].replace({en[k]: say[k] for k in TRENDS})
    return listed.assign(
        trend=trend, tier_change_reason=pd.Series(why, index=listed.index, dtype=listed["tier_change_reason"].dtype)
    )


# ---------------------------------------------------------------------------------------------------
# the seed KPIs


def week_kpis(
    scored: pd.DataFrame, cutoffs: Mapping[str, float], *, minutes_per_lead: float = 15, cost_per_hour: float = 30.0
) -> dict:
    """The list's expected SQLs, cost per SQL at tier C's cut-off and SDR hours recovered.

    With the formulas of ``serving.review.cutoff_tradeoffs``, on the leads of this list (not per week:
    the list holds every open lead): expected SQLs = sum of score / 100; SDR hours = leads worked x
    minutes / 60; hours recovered = leads below the cut-off x minutes / 60 (against working every lead
    on the list); cost per SQL = SDR hours x cost of an hour / expected SQLs at or above the cut-off.
    """
    c = float(validate_cutoffs(dict(cutoffs))["C"])
    score = scored["score"].to_numpy(dtype=float)
    p = score / 100
    passed = score >= c
    expected_passed = float(p[passed].sum())
    hours = passed.sum() * minutes_per_lead / 60.0
    cost = hours * cost_per_hour / expected_passed if expected_passed > 0 else math.nan
    return {
        "open_leads": len(score),
        "expected_sqls": round(float(p.sum()), 2),
        "cutoff_c": c,
        "leads_at_or_above_c": int(passed.sum()),
        "expected_sqls_at_or_above_c": round(expected_passed, 2),
        "expected_sqls_below_c": round(float(p[~passed].sum()), 2),
        "sdr_hours_needed": round(float(hours), 1),
        "sdr_hours_recovered": round(float((~passed).sum() * minutes_per_lead / 60.0), 1),
        "cost_per_sql": round(cost, 2) if math.isfinite(cost) else None,
        "minutes_per_lead": minutes_per_lead,
        "cost_per_hour": cost_per_hour,
    }


def response_rate_by_tier(
    scored: pd.DataFrame, leads: pd.DataFrame, activities: pd.DataFrame | None, *, pattern: str = REPLY_PATTERN
) -> dict | None:
    """Share of the listed leads per tier with a prospect reply since their MQL moment, or None when the
    export logs no reply/response activity at all (nothing to measure: "not available").

    A reply is an activity whose type matches ``pattern`` (case-insensitive), at or after the lead's
    ``mql_at``. Per tier: leads, leads that replied, and the rate.
    """
    if activities is None or activities.empty:
        return None
    kinds = activities["activity_type"].dropna().astype(str)
    replies = activities[kinds.reindex(activities.index).fillna("").str.contains(pattern, flags=re.IGNORECASE)]
    if replies.empty:
        return None
    mql = leads.set_index("lead_id")["mql_at"]
    after = replies["occurred_at"].to_numpy() >= mql.reindex(replies["lead_id"]).to_numpy()
    replied = set(replies.loc[after, "lead_id"].astype(str))
    did = scored["lead_id"].astype(str).isin(replied)
    out = {}
    for tier, group in did.groupby(scored["tier"].to_numpy()):
        out[str(tier)] = {"leads": len(group), "replied": int(group.sum()), "rate": round(float(group.mean()), 4)}
    return out
