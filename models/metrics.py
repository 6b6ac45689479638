"""Evaluation metrics on one window: ranking, lift and capture, calibration."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
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


def fast_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (ties count half), equal to sklearn's without its input checks."""
    ranks = rankdata(score)
    pos = y == 1
    n_pos, n_neg = pos.sum(), len(y) - pos.sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


BOOT_CHUNK_CELLS = 1_000_000  # resamples x rows held at once: bounds memory, keeps a chunk near the cache


def resample_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of ``n_boot`` resamples (int32, shape ``(n_boot, n)``).

    The draws are the classic ones, ``rng.integers(0, n, n)`` per resample in turn (drawn as one
    ``(n_boot, n)`` block, the same numbers), so the counts describe exactly the resamples a loop over
    indexed copies would see with the same generator.
    """
    idx = rng.integers(0, n, (n_boot, n))
    idx += np.arange(n_boot)[:, None] * n  # one bincount for the whole block: resample b's rows at b*n...
    return np.bincount(idx.ravel(), minlength=n_boot * n).astype(np.int32).reshape(n_boot, n)


class _SortedScores:
    """One scorer's scores sorted once, ready to give the AUC of any resample given as row counts."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        score = np.asarray(score, dtype=float)
        self.pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
        self.neg = neg[np.argsort(score[neg], kind="stable")]
        s_neg = score[self.neg]
        self.below = np.searchsorted(s_neg, score[self.pos], side="left")  # non-SQLs strictly below each SQL
        self.upto = np.searchsorted(s_neg, score[self.pos], side="right")  # ... and those tied with it

    def aucs(self, counts: np.ndarray) -> np.ndarray:
        """AUC of each row of ``counts``; NaN where a resample holds a single class.

        Mann-Whitney with weights: the sum over SQLs ``i`` of ``c_i`` times the weighted non-SQLs below
        ``s_i`` plus half those tied with it, divided by (weighted SQLs x weighted non-SQLs). The weighted
        non-SQLs below a score are a cumulative sum of the counts in score order, read at the positions
        found once by binary search. Integer sums until the final division (exact for n below 2**31).
        """
        cum = np.zeros((len(counts), len(self.neg) + 1), dtype=np.int64)
        np.cumsum(np.take(counts, self.neg, axis=1), axis=1, out=cum[:, 1:])
        c_pos = np.take(counts, self.pos, axis=1).astype(np.int64)
        twice_u = np.einsum("ij,ij->i", c_pos, np.take(cum, self.below, axis=1) + np.take(cum, self.upto, axis=1))
        n_pos, n_neg = c_pos.sum(axis=1), cum[:, -1]
        both = (n_pos > 0) & (n_neg > 0)
        return np.where(both, twice_u / np.maximum(2.0 * n_pos * n_neg, 1.0), np.nan)


def weighted_aucs(y: np.ndarray, score: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC-AUC (ties count half) of each resample given as row counts (one row of ``counts`` each).

    Equal to ``fast_auc`` on the resampled copies (rows repeated as often as drawn), from one sort.
    """
    return _SortedScores(np.asarray(y), score).aucs(np.atleast_2d(counts))


def bootstrap_auc(
    y: np.ndarray, scores: dict[str, np.ndarray], *, reference: str = "model", n_boot: int = 300, seed: int = 0
) -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, float]]]:
    """95% bootstrap intervals of each scorer's AUC and of ``reference`` minus each other scorer.

    Paired: every resample scores the same rows with every scorer, so the difference's interval is
    much tighter than the two separate intervals suggest. Resamples with a single class are skipped.
    Each resample is drawn as row counts and every scorer's AUC computed from its scores sorted once
    (``_SortedScores``): the same figures as sorting each resampled copy, at a fraction of the cost.
    """
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    sorted_scores = {name: _SortedScores(y, s) for name, s in scores.items()}
    draws: dict[str, list[np.ndarray]] = {name: [] for name in scores}
    step = max(1, BOOT_CHUNK_CELLS // max(len(y), 1))
    for start in range(0, n_boot, step):
        counts = resample_counts(len(y), min(step, n_boot - start), rng)
        for name, prepared in sorted_scores.items():
            draws[name].append(prepared.aucs(counts))
    arr = {name: np.concatenate(v) for name, v in draws.items()}
    if arr:
        keep = ~np.isnan(next(iter(arr.values())))  # a single-class resample is one for every scorer
        arr = {name: a[keep] for name, a in arr.items()}
    intervals = {name: (float(np.quantile(a, 0.025)), float(np.quantile(a, 0.975))) for name, a in arr.items()}
    diffs = {}
    for name in scores:
        if name == reference:
            continue
        d = arr[reference] - arr[name]
        low, high = float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))
        verdict = "better" if low > 0 else "worse" if high < 0 else "no clear difference"
        point = roc_auc_score(y, scores[reference]) - roc_auc_score(y, scores[name])
        diffs[name] = {"diff": float(point), "low": low, "high": high, "verdict": verdict}
    return intervals, diffs


def compare_scorers(
    y: np.ndarray, scores: dict[str, np.ndarray], *, seed: int, persona: str = "persona_rule"
) -> tuple[dict[str, dict[str, float]], dict[str, dict]]:
    """Every scorer's metrics on one window, with 95% bootstrap AUC intervals, and "model" minus each other.

    The persona rule's score is the share of its conditions met: it gets no calibration metrics, and its
    pass rate, the SQL rate of the leads it passes and the share of SQLs they hold are added.
    """
    y = np.asarray(y, dtype=int)
    metrics = {name: evaluate(y, s, probability=name != persona) for name, s in scores.items()}
    intervals, comparisons = bootstrap_auc(y, scores, seed=seed)
    for name, (low, high) in intervals.items():
        metrics[name]["roc_auc_ci_low"], metrics[name]["roc_auc_ci_high"] = low, high
    if persona in scores:
        passed = np.asarray(scores[persona]) == 1.0
        metrics[persona]["pass_rate"] = float(passed.mean())
        metrics[persona]["sql_rate_passed"] = float(y[passed].mean()) if passed.any() else 0.0
        metrics[persona]["capture_passed"] = float(y[passed].sum() / max(y.sum(), 1))
    return metrics, comparisons
