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


def _bootstrap_by_copies(y, scores, *, reference="model", n_boot=300, seed=0):
    """The original bootstrap: index each resample's copy and rank it, one scorer at a time."""
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in scores}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        for name, s in scores.items():
            draws[name].append(fast_auc(y[idx], np.asarray(s)[idx]))
    return {name: np.array(v) for name, v in draws.items()}


@pytest.mark.parametrize("n, levels", [(7, 3), (60, 4), (400, 0), (1500, 12)])
def test_weighted_aucs_equal_fast_auc_on_the_resampled_copies(n, levels):
    from models.metrics import resample_counts, weighted_aucs

    rng = np.random.default_rng(n)
    y = (rng.random(n) < 0.3).astype(int)
    # levels > 0: heavy ties (within and across classes); 0: continuous scores
    s = rng.integers(0, levels, n).astype(float) if levels else rng.normal(size=n) + y
    counts = resample_counts(n, 40, np.random.default_rng(1))
    got = weighted_aucs(y, s, counts)
    rng = np.random.default_rng(1)
    for b in range(40):
        idx = rng.integers(0, n, n)
        assert np.array_equal(np.bincount(idx, minlength=n), counts[b])
        if y[idx].min() == y[idx].max():
            assert np.isnan(got[b])
        else:
            assert abs(got[b] - fast_auc(y[idx], s[idx])) < 1e-12


def test_bootstrap_equals_the_rank_per_resample_reference_intervals_and_paired_differences(monkeypatch):
    import models.metrics as metrics

    rng = np.random.default_rng(5)
    y = (rng.random(900) < 0.2).astype(int)
    scores = {
        "model": y + rng.normal(0, 1, 900),
        "rule": rng.integers(0, 4, 900) / 3 + 0.3 * y,  # ties, as the persona rule's shares have
        "other": y + rng.normal(0, 1.3, 900),
    }
    ref = _bootstrap_by_copies(y, scores, seed=11)
    monkeypatch.setattr(metrics, "BOOT_CHUNK_CELLS", 900 * 7)  # several chunks, a short last one
    intervals, diffs = metrics.bootstrap_auc(y, scores, seed=11)
    for name, a in ref.items():
        assert np.allclose(intervals[name], (np.quantile(a, 0.025), np.quantile(a, 0.975)), rtol=0, atol=1e-12)
    for name in ("rule", "other"):
        d = ref["model"] - ref[name]
        assert abs(diffs[name]["low"] - np.quantile(d, 0.025)) < 1e-12
        assert abs(diffs[name]["high"] - np.quantile(d, 0.975)) < 1e-12


def test_bootstrap_skips_single_class_resamples_like_the_reference():
    import models.metrics as metrics

    y = np.array([1, 0, 0, 0, 0, 0])  # one SQL in six rows: about a third of resamples miss it
    scores = {"model": np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.5]), "flat": np.zeros(6)}
    ref = _bootstrap_by_copies(y, scores, n_boot=200, seed=3)
    assert 100 < len(ref["model"]) < 200
    intervals, diffs = metrics.bootstrap_auc(y, scores, n_boot=200, seed=3)
    assert intervals["model"] == (np.quantile(ref["model"], 0.025), np.quantile(ref["model"], 0.975))
    assert intervals["flat"] == (0.5, 0.5)
    assert diffs["flat"]["low"] == np.quantile(ref["model"] - 0.5, 0.025)
