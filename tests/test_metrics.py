"""Metrics against values computed by hand on tiny frames."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import bootstrap_auc, capture_at, evaluate, expected_calibration_error, fast_auc, lift_at


def test_capture_and_lift_on_a_distinct_ranking():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 1, 0])
    s = np.arange(10, 0, -1)  # rank order = row order
    assert capture_at(y, s, 0.2) == pytest.approx(1 / 3)  # top 2 rows hold 1 of 3 SQLs
    assert capture_at(y, s, 0.3) == pytest.approx(2 / 3)
    assert lift_at(y, s, 0.3) == pytest.approx((2 / 3) / 0.3)


def test_ties_at_the_boundary_are_shared_out():
    # 4 leads tie at the top; 2 of them are SQLs. The top 20% (2 leads) expects half of the tie's SQLs.
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    s = np.array([5, 5, 5, 5, 1, 1, 1, 1, 1, 1])
    assert capture_at(y, s, 0.2) == pytest.approx((2 * 2 / 4) / 3)
    # the result does not depend on the order the rows arrive in
    perm = np.random.default_rng(0).permutation(10)
    assert capture_at(y[perm], s[perm], 0.2) == pytest.approx(capture_at(y, s, 0.2))


def test_ece_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.55, 0.95, 0.95])
    # bins: [0,.1): p .05 y 0 -> .05 ; [.1,.2): .15 vs 0 -> .15 ; [.5,.6): .55 vs 1 -> .45 ; [.9,1]: .95 vs 1 x2 -> .05
    expected = (0.05 + 0.15 + 0.45 + 2 * 0.05) / 5
    assert expected_calibration_error(y, p) == pytest.approx(expected)


def test_evaluate_reports_brier_against_the_base_rate():
    y = np.array([0, 0, 0, 1])
    m = evaluate(y, np.array([0.1, 0.2, 0.3, 0.8]))
    assert m["roc_auc"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.04) / 4)
    assert m["brier_base_rate"] == pytest.approx(0.25 * 0.75)
    assert "ece" not in evaluate(y, np.array([0, 0, 1, 1]), probability=False)


def test_fast_auc_equals_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = rng.integers(0, 7, 500).astype(float)  # heavy ties
    assert fast_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_bootstrap_calls_a_clear_win_better_and_a_tie_no_clear_difference():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    good = y + rng.normal(0, 1, 2000)
    intervals, diffs = bootstrap_auc(y, {"model": good, "noise": rng.normal(0, 1, 2000), "same": good.copy()})
    assert diffs["noise"]["verdict"] == "better" and diffs["noise"]["low"] > 0.15
    assert diffs["same"] == {"diff": 0.0, "low": 0.0, "high": 0.0, "verdict": "no clear difference"}
    low, high = intervals["model"]
    assert low < fast_auc(y, good) < high
