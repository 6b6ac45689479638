"""The impact series' metrics: one week's figures, and the pooled lift, as MLflow metric names and numbers."""

from __future__ import annotations

from models.tracking.impact import lift_metrics, week_metrics
from tests.serving.test_impact_page import LIFT, WEEK


def test_a_realised_week_becomes_counts_and_rates_only():
    assert week_metrics(WEEK) == {
        "impact/leads": 400.0,
        "impact/realised_sqls": 33.0,
        "impact/expected_sqls": 30.25,
        "impact/score_sum": 80.0,
        "impact/worked_rate": 0.2656,
        "impact/rest_rate": 0.043,
        "impact/control_worked_rate": 0.125,
        "impact/cost_per_sql": 31.58,
    }


def test_the_pooled_lift_and_its_interval_and_nothing_without_a_control_group():
    assert lift_metrics(LIFT) == {
        "impact_lift/lift": 0.1406,
        "impact_lift/lift_low": -0.05,
        "impact_lift/lift_high": 0.3312,
        "impact_lift/sqls_gained_per_week": 9.0,
        "impact_lift/weeks_needed": 3.0,
    }
    assert lift_metrics(None) == {}
