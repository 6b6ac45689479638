"""Evaluation metrics on one window: ranking, lift and capture, calibration."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

TOP_FRACTIONS = (0.1, 0.2, 0.3)


def capture_at(y: np.ndarray, score: np.ndarray, fraction: float) -> float:
    """Expected share of all positives found in the top ``fraction`` of leads by score.

    Ties at the boundary are shared out in proportion, so a rule that gives many leads the same score
    is not flattered (or punished) by the order rows happen to be in.
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    total = y.sum()
    if total == 0 or len(y) == 0:
        return float("nan")
    k = fraction * len(y)
    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    threshold = s_sorted[min(int(np.ceil(k)) - 1, len(y) - 1)] if k >= 1 else s_sorted[0]
    above = score > threshold
    tied = score == threshold
    n_above = above.sum()
    take_from_tie = min(max(k - n_above, 0.0), tied.sum())
    tie_rate = y[tied].mean() if tied.any() else 0.0
    return float((y[above].sum() + take_from_tie * tie_rate) / total)


def lift_at(y: np.ndarray, score: np.ndarray, fraction: float) -> float:
    """SQL rate in the top ``fraction`` divided by the overall SQL rate."""
    return capture_at(y, score, fraction) / fraction


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |predicted - observed| over equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    prob = np.asarray(prob, dtype=float)
    idx = np.minimum((prob * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            err += m.sum() * abs(prob[m].mean() - y[m].mean())
    return float(err / len(y))


def evaluate(y: np.ndarray, score: np.ndarray, *, probability: bool = True) -> dict[str, float]:
    """Metrics of one scorer on one window. Calibration metrics only where the score is a probability."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    out: dict[str, float] = {
        "n": float(len(y)),
        "sql_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
    }
    for f in TOP_FRACTIONS:
        pct = int(round(f * 100))
        out[f"capture_top{pct}"] = capture_at(y, score, f)
        out[f"lift_top{pct}"] = lift_at(y, score, f)
    if probability:
        base = y.mean()
        out["brier"] = float(np.mean((score - y) ** 2))
        out["brier_base_rate"] = float(base * (1 - base))
        out["ece"] = expected_calibration_error(y, score)
    return out
