"""Marketing's threshold review: the figures, as pure functions of the validation window (``window``).

A lead *passes* a cut-off ``c`` when its score, rounded to one decimal as on the SDR list
(``serving.score``), is at least ``c``; so "tier B and above" here is exactly what the list calls
tier A or B. Figures that divide by nothing (the SQL rate of no leads, the cost per SQL when no SQL is
expected, the share of SQLs captured in a window without SQLs) are NaN, shown as "—" on the page.
An empty window is refused with a ValueError: no figure means anything on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from models.cutoffs import TIERS
from serving.review.window import check_window, scores

TRADEOFF_COLUMNS = (
    "cutoff",
    "leads_passed",
    "sqls_passed",
    "share_passed",
    "leads_per_week",
    "sqls_per_week",
    "sql_rate_passed",
    "share_captured",
    "sdr_hours_per_week",
    "sdr_hours_saved_per_week",
    "cost_per_sql",
)
# how each trade-off figure is written on the page; the page's script has the same table
FIGURE_FORMATS = {
    "share_passed": "pct",
    "leads_per_week": "int",
    "sqls_per_week": "num1",
    "sql_rate_passed": "pct",
    "share_captured": "pct",
    "sdr_hours_per_week": "num1",
    "sdr_hours_saved_per_week": "num1",
    "cost_per_sql": "money",
}
# element ids of the cut-off control's figures: "fig-<slug>"; reference table cells: "ref-<rule>-<slug>"
FIGURE_SLUGS = {
    "share_passed": "share-passed",
    "leads_per_week": "leads-week",
    "sqls_per_week": "sqls-week",
    "sql_rate_passed": "sql-rate",
    "share_captured": "share-captured",
    "sdr_hours_per_week": "hours-week",
    "sdr_hours_saved_per_week": "hours-saved",
    "cost_per_sql": "cost-per-sql",
}
REFERENCE_RULES = ("A", "B", "C", "persona_rule", "all")
RULE_SLUGS = {"A": "a", "B": "b", "C": "c", "persona_rule": "persona", "all": "all"}


def score_bands(window: pd.DataFrame, n_bands: int = 10) -> pd.DataFrame:
    """Leads, SQLs, conversion and lift per score band (band 1 = best scores), plus the persona rule.

    Bands split the window ranked by score into ``n_bands`` groups of equal size (sizes differ by at
    most one; ties at a boundary are split by row order); with fewer leads than bands, one lead per band.
    ``top_from``/``top_to``: the band's place in the ranking as shares of the window. ``lift``: the band's
    conversion divided by the window's (NaN in a window without SQLs). The last row, ``group ==
    "persona_rule"``, holds the same figures for the leads the persona rule passes (conversion NaN when
    it passes none).
    """
    if n_bands < 1:
        raise ValueError(f"n_bands must be at least 1, got {n_bands}")
    p, y, persona = check_window(window)
    n = len(p)
    overall = y.mean()
    score = scores(p)
    order = np.argsort(-p, kind="stable")
    k = min(n_bands, n)
    band_of_rank = np.arange(n) * k // n
    rows, done = [], 0
    for b in range(k):
        idx = order[band_of_rank == b]
        sqls = int(y[idx].sum())
        conversion = sqls / len(idx)
        rows.append(
            {
                "group": "model",
                "band": b + 1,
                "top_from": done / n,
                "top_to": (done + len(idx)) / n,
                "score_min": float(score[idx].min()),
                "score_max": float(score[idx].max()),
                "leads": len(idx),
                "sqls": sqls,
                "conversion": conversion,
                "lift": conversion / overall if overall > 0 else math.nan,
            }
        )
        done += len(idx)
    passed = int(persona.sum())
    sqls = int(y[persona].sum())
    conversion = sqls / passed if passed else math.nan
    rows.append(
        {
            "group": "persona_rule",
            "band": pd.NA,
            "top_from": math.nan,
            "top_to": math.nan,
            "score_min": float(score[persona].min()) if passed else math.nan,
            "score_max": float(score[persona].max()) if passed else math.nan,
            "leads": passed,
            "sqls": sqls,
            "conversion": conversion,
            "lift": conversion / overall if overall > 0 else math.nan,
        }
    )
    return pd.DataFrame(rows).astype({"band": "Int64"})


def cumulative_gains(window: pd.DataFrame) -> pd.DataFrame:
    """Share of leads worked (best score first) against the share of all SQLs captured.

    ``group == "model"`` rows run from (0, 0) to (1, 1) with one point after each distinct score
    (``min_score``, 0-100: the lowest score worked so far), so every point is a reachable cut-off and
    leads with equal scores are never split. The last row, ``group == "persona_rule"``, is the persona
    rule's point: the share of leads it passes and the share of SQLs among them. Shares of SQLs are
    NaN in a window without SQLs.
    """
    p, y, persona = check_window(window)
    n, total = len(p), int(y.sum())
    order = np.argsort(-p, kind="stable")
    ps, cum = p[order], np.cumsum(y[order])
    worked = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True]) + 1
    captured = cum[worked - 1] / total if total else np.full(len(worked), math.nan)
    model = pd.DataFrame(
        {
            "group": "model",
            "share_worked": np.r_[0.0, worked / n],
            "share_captured": np.r_[0.0 if total else math.nan, captured],
            "min_score": np.r_[math.nan, scores(ps[worked - 1])],
        }
    )
    rule = pd.DataFrame(
        {
            "group": ["persona_rule"],
            "share_worked": [persona.sum() / n],
            "share_captured": [y[persona].sum() / total if total else math.nan],
            "min_score": [math.nan],
        }
    )
    return pd.concat([model, rule], ignore_index=True)


def calibration_table(window: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed SQL rate, per equal-width probability bin.

    The bins are those of ``models.metrics.expected_calibration_error`` (``[0, 0.1)``, ... ``[0.9, 1]``
    for 10 bins); every bin is listed, an empty one with 0 leads and NaN rates. The last row, ``group ==
    "persona_rule"``, holds the leads the persona rule passes: whether the model is calibrated on them
    too (NaN rates when it passes none).
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    p, y, persona = check_window(window)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        rows.append(_calibration_row("model", b / bins, (b + 1) / bins, p[m], y[m]))
    rows.append(_calibration_row("persona_rule", math.nan, math.nan, p[persona], y[persona]))
    return pd.DataFrame(rows)


def _calibration_row(group: str, low: float, high: float, p: np.ndarray, y: np.ndarray) -> dict:
    return {
        "group": group,
        "bin_low": low,
        "bin_high": high,
        "leads": len(p),
        "mean_predicted": float(p.mean()) if len(p) else math.nan,
        "observed_rate": float(y.mean()) if len(p) else math.nan,
    }


def check_inputs(weekly_mql_volume: float, minutes_per_lead: float, cost_per_hour: float) -> None:
    """A ValueError unless the weekly volume, minutes per lead and cost of an hour are finite and at least 0."""
    for name, v in {
        "weekly_mql_volume": weekly_mql_volume,
        "minutes_per_lead": minutes_per_lead,
        "cost_per_hour": cost_per_hour,
    }.items():
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number of at least 0, got {v}")


def _tradeoff(
    passed: np.ndarray,
    y: np.ndarray,
    *,
    cutoff: float,
    weekly_mql_volume: float,
    minutes_per_lead: float,
    cost_per_hour: float,
) -> dict[str, float]:
    n, total = len(y), int(y.sum())
    n_passed, sqls = int(passed.sum()), int(y[passed].sum())
    leads_per_week = weekly_mql_volume * n_passed / n
    # = weekly volume x share passed x SQL rate of the passed leads, and 0 (not NaN) when none pass
    sqls_per_week = weekly_mql_volume * sqls / n
    # the page's script recomputes the next three lines with these exact operations, in this order
    hours = leads_per_week * minutes_per_lead / 60.0
    saved = (weekly_mql_volume - leads_per_week) * minutes_per_lead / 60.0
    cost = hours * cost_per_hour / sqls_per_week if sqls_per_week > 0 else math.nan
    return {
        "cutoff": float(cutoff),
        "leads_passed": n_passed,
        "sqls_passed": sqls,
        "share_passed": n_passed / n,
        "leads_per_week": float(leads_per_week),
        "sqls_per_week": float(sqls_per_week),
        "sql_rate_passed": sqls / n_passed if n_passed else math.nan,
        "share_captured": sqls / total if total else math.nan,
        "sdr_hours_per_week": float(hours),
        "sdr_hours_saved_per_week": float(saved),
        "cost_per_sql": float(cost),
    }


def cutoff_tradeoffs(
    window: pd.DataFrame,
    *,
    weekly_mql_volume: float,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
    cutoffs: Iterable[float] = range(0, 101),
) -> pd.DataFrame:
    """What each cut-off on the 0-100 score means per week, one row per cut-off.

    A lead passes when its score (one decimal, as on the SDR list) is at least the cut-off. Per row:
    ``leads_passed``/``sqls_passed`` (counts in the window), ``share_passed``, ``leads_per_week`` (weekly
    volume x share passed), ``sqls_per_week`` (weekly volume x share passed x SQL rate of the passed
    leads; 0 when none pass), ``sql_rate_passed`` (NaN when none pass), ``share_captured`` (of all SQLs
    in the window; NaN without SQLs), ``sdr_hours_per_week`` (leads per week x minutes / 60),
    ``sdr_hours_saved_per_week`` (hours freed against working every MQL) and ``cost_per_sql`` (SDR hours
    x cost of an hour / SQLs per week; NaN when no SQL is expected).
    """
    check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    p, y, _ = check_window(window)
    score = scores(p)
    rows = [
        _tradeoff(
            score >= c,
            y,
            cutoff=c,
            weekly_mql_volume=weekly_mql_volume,
            minutes_per_lead=minutes_per_lead,
            cost_per_hour=cost_per_hour,
        )
        for c in cutoffs
    ]
    return pd.DataFrame(rows, columns=list(TRADEOFF_COLUMNS))


def reference_tradeoffs(
    window: pd.DataFrame,
    tier_cutoffs: Mapping[str, float],
    *,
    weekly_mql_volume: float,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
) -> pd.DataFrame:
    """The ``cutoff_tradeoffs`` figures at the current tiers, the persona rule and working every MQL.

    Index ``rule``: "A" (tier A only), "B" (tiers A and B), "C" (tiers A to C): the leads at or above that
    tier's cut-off; "persona_rule": the leads the persona rule passes (``cutoff`` NaN); "all": every MQL.
    """
    check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    p, y, persona = check_window(window)
    missing = [t for t in TIERS if t not in tier_cutoffs]
    if missing:
        raise ValueError(f"tier cut-offs need A, B and C; missing {missing}")
    score = scores(p)
    kw = {"weekly_mql_volume": weekly_mql_volume, "minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}
    rows = {t: _tradeoff(score >= float(tier_cutoffs[t]), y, cutoff=float(tier_cutoffs[t]), **kw) for t in TIERS}
    rows["persona_rule"] = _tradeoff(persona, y, cutoff=math.nan, **kw)
    rows["all"] = _tradeoff(np.ones(len(y), dtype=bool), y, cutoff=0.0, **kw)
    out = pd.DataFrame.from_dict(rows, orient="index")[list(TRADEOFF_COLUMNS)]
    out.index.name = "rule"
    return out
