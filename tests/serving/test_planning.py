"""Capacity, cut-off proposals, score trends and the seed KPIs against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from models.tracking.records import HISTORY_CHARS, _decision_tags, _history
from serving.planning import (
    cutoff_for_volume,
    mark_capacity,
    propose_cutoffs,
    response_rate_by_tier,
    score_trend,
    trend_counts,
    week_kpis,
)
from serving.review import cutoff_tradeoffs, volume_for


def window(proba) -> pd.DataFrame:
    return pd.DataFrame({"proba": proba, "label": [i % 2 for i in range(len(proba))], "persona_pass": False})


TEN = [0.95, 0.80, 0.72, 0.60, 0.45, 0.33, 0.25, 0.12, 0.05, 0.01]


# ---------------------------------------------------------------------------------------------------
# proposals for a capacity


@pytest.mark.parametrize(
    ("leads_per_week", "cutoff"),
    [(10, 45.0), (9.9, 60.0), (6, 72.0), (2, 95.0), (1.9, 95.1), (20, 1.0), (1000, 1.0)],
)
def test_cutoff_for_volume_passes_at_most_the_volume(leads_per_week, cutoff):
    # 10 leads at 20 MQLs a week: each lead stands for 2 leads a week
    assert cutoff_for_volume(np.array(TEN), weekly_mql_volume=20, leads_per_week=leads_per_week) == cutoff


def test_a_capacity_is_split_a_quarter_a_third_and_the_rest():
    # capacity 10 a week = 5 leads of the window; 60% = 6 a week = 3 leads; 25% = 2.5 a week = 1 lead
    proposed = propose_cutoffs(window(TEN), weekly_mql_volume=20, capacity=10)
    assert proposed == {"A": 95.0, "B": 72.0, "C": 45.0}
    table = cutoff_tradeoffs(window(TEN), weekly_mql_volume=20, cutoffs=proposed.values()).set_index("cutoff")
    assert table["leads_per_week"].tolist() == [2.0, 6.0, 10.0]


def test_tied_scores_keep_the_cutoffs_decreasing():
    proposed = propose_cutoffs(window([0.5] * 10), weekly_mql_volume=10, capacity=100)
    assert proposed == {"A": 50.2, "B": 50.1, "C": 50.0}


@pytest.mark.parametrize(("volume", "capacity"), [(20, 0), (0, 10), (1e9, 1)])
def test_impossible_proposals_are_refused(volume, capacity):
    with pytest.raises(ValueError):
        propose_cutoffs(window([0.999, 0.998, 0.5]), weekly_mql_volume=volume, capacity=capacity)


def test_the_weekly_volume_is_measured_set_or_the_window():
    w = window([0.5, 0.4, 0.3])
    assert volume_for(w, setting=None) == (3.0, "window")
    assert volume_for(w, setting=120) == (120.0, "setting")
    w["mql_at"] = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])
    assert volume_for(w, setting=None) == (1.5, "measured")


# ---------------------------------------------------------------------------------------------------
# this week's list


def listed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4],
            "lead_id": ["L1", "L2", "L3", "L4"],
            "score": [80.0, 50.0, 20.0, 10.0],
            "tier": ["A", "B", "C", "D"],
            "reason_1": ["▼ free email", "▲ demo", "▲ pricing", "▼ student"],
            "reason_2": ["▲ demo request", "", "▼ no activity", ""],
            "reason_3": ["", "", "", ""],
            "model_version": "2",
        }
    )


def test_the_capacity_marks_the_best_leads_and_splits_the_expected_sqls():
    out, facts = mark_capacity(listed(), 2)
    assert out["this_week"].tolist() == ["yes", "yes", "no", "no"]
    assert out.columns.tolist().index("this_week") == out.columns.tolist().index("tier") + 1
    assert facts == {
        "capacity": 2,
        "leads": 2,
        "expected_sqls": 1.3,
        "leads_remainder": 2,
        "expected_sqls_remainder": 0.3,
    }


def test_trend_previous_score_and_the_reason_for_a_tier_move():
    previous = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L9"],
            "score": [70.0, 54.9, 40.0, 90.0],
            "tier": ["B", "B", "B", "A"],
            "model_version": ["1", "1", "1", "1"],
        }
    )
    out = score_trend(listed(), previous, points=5)
    assert out["previous_score"].tolist()[:3] == [70.0, 54.9, 40.0] and math.isnan(out["previous_score"].iloc[3])
    assert out["trend"].tolist() == ["Improving", "Steady", "Declining", ""]
    assert out["previous_tier"].tolist() == ["B", "B", "B", ""]
    # up a tier: its first reason pointing up; down a tier: its first pointing down; no move: nothing
    assert out["tier_change_reason"].tolist() == ["▲ demo request", "", "▼ no activity", ""]
    assert trend_counts(out) == {"improving": 1, "steady": 1, "declining": 1, "new": 1, "tier_moved": 2}


def test_a_previous_persona_rule_list_gives_no_trend():
    previous = pd.DataFrame({"lead_id": ["L1"], "score": [25.0], "tier": ["C"], "model_version": ["persona-rule"]})
    out = score_trend(listed(), previous)
    assert out["trend"].tolist() == ["", "", "", ""]


def test_week_kpis_with_the_pages_formulas():
    k = week_kpis(listed(), {"A": 60, "B": 40, "C": 15}, minutes_per_lead=15, cost_per_hour=30)
    # 3 leads at or above 15 expect 0.8 + 0.5 + 0.2 SQLs; 3 x 15 min = 0.75 h; 0.75 h x 30 / 1.5 SQLs = 15
    assert k["expected_sqls"] == 1.6 and k["expected_sqls_at_or_above_c"] == 1.5
    assert k["expected_sqls_below_c"] == 0.1 and k["leads_at_or_above_c"] == 3
    assert k["sdr_hours_needed"] == 0.8 and k["sdr_hours_recovered"] == 0.2  # 0.75 and 0.25, one decimal
    assert k["cost_per_sql"] == 15.0


def test_week_kpis_without_an_expected_sql_have_no_cost():
    k = week_kpis(listed().assign(score=0.0), {"A": 60, "B": 40, "C": 15})
    assert k["cost_per_sql"] is None and k["sdr_hours_recovered"] == 1.0


def test_response_rate_by_tier_counts_replies_after_the_mql_only():
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "mql_at": pd.to_datetime(["2024-03-01"] * 4)})
    acts = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "occurred_at": pd.to_datetime(["2024-03-02", "2024-02-20", "2024-03-05"]),
            "activity_type": ["Email Reply", "email_reply", "Respuesta"],
        }
    )
    got = response_rate_by_tier(listed(), leads, acts)
    assert got == {
        "A": {"leads": 1, "replied": 1, "rate": 1.0},
        "B": {"leads": 1, "replied": 0, "rate": 0.0},  # replied before its MQL moment
        "C": {"leads": 1, "replied": 1, "rate": 1.0},
        "D": {"leads": 1, "replied": 0, "rate": 0.0},
    }
    no_replies = acts.assign(activity_type="page_view")
    assert response_rate_by_tier(listed(), leads, no_replies) is None
    assert response_rate_by_tier(listed(), leads, None) is None


# ---------------------------------------------------------------------------------------------------
# the history tag


def test_the_history_appends_and_stays_small():
    first = {"cutoffs": {"A": 50, "B": 30, "C": 10}, "by": "default", "at": "t0", "note": "default"}
    tags = _decision_tags(first, [])
    assert _history(tags) == [first]
    second = {"cutoffs": {"A": 40, "B": 20, "C": 5}, "by": "Ana", "at": "t1", "note": "x" * 300}
    tags = _decision_tags(second, _history(tags))
    assert _history(tags) == [first, second] and json.loads(tags["tier_cutoffs"]) == second["cutoffs"]
    for i in range(40):
        tags = _decision_tags({**second, "at": f"t{i + 2}"}, _history(tags))
    assert len(tags["tier_cutoffs_history"]) <= HISTORY_CHARS and _history(tags)[-1]["at"] == "t41"


def test_a_version_registered_before_the_history_starts_it_with_its_current_cutoffs():
    tags = {"tier_cutoffs": '{"A": 50, "B": 30, "C": 10}', "tier_cutoffs_set_by": "leadscore (default)"}
    assert _history(tags)[0]["cutoffs"] == {"A": 50, "B": 30, "C": 10}


def test_the_page_shows_the_week_kpis_and_says_where_the_volume_comes_from():
    from serving.review import render_report

    k = week_kpis(listed(), {"A": 60, "B": 40, "C": 15})
    kw = {
        "tier_cutoffs": {"A": 60, "B": 40, "C": 15},
        "metrics": {"model": {"roc_auc": 0.7}},
        "importance": pd.DataFrame({"feature": ["industry"], "gain": [1.0]}),
    }
    page = render_report(window(TEN), weekly_mql_volume=10, volume_source="window", this_week=k, **kw)
    section = page[page.index("id='this-week'") :]
    assert "€15.00" in section and "not available" in section and ">1.6<" in section
    assert "no dates, so figures are per this many MQLs" in page
    k["response_by_tier"] = {"A": {"leads": 4, "replied": 1, "rate": 0.25}}
    es = render_report(window(TEN), weekly_mql_volume=10, volume_source="setting", this_week=k, lang="es", **kw)
    assert "nivel A: 25,0\u00a0% de 4" in es and "15,00\u00a0€" in es and "(de la configuración)" in es


def test_a_tier_move_without_a_real_score_change_is_not_explained_by_a_feature():
    # same score, new tier: the cut-offs moved; the reason must not borrow a feature pointing the other way
    previous = pd.DataFrame({"lead_id": ["L2"], "score": [52.0], "tier": ["A"], "model_version": ["1"]})
    out = score_trend(listed(), previous, points=5)
    assert out.loc[out["lead_id"] == "L2", "tier_change_reason"].item() == (
        "score 52.0 → 50.0: close to a tier cut-off, or the cut-offs changed"
    )


def test_a_previous_list_with_unreadable_scores_gives_no_trend_rather_than_an_error():
    previous = pd.DataFrame({"lead_id": ["L1", "L3"], "score": ["high", "45,5"], "tier": ["A", "B"]})
    out = score_trend(listed(), previous, points=5)
    assert out["trend"].tolist()[0] == "" and out.loc[out["lead_id"] == "L3", "previous_score"].item() == 45.5
