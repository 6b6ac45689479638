"""The training window's profile, kept in the model, that drift checks compare scored batches with.

``reference_profile`` summarises the training window once, at training time, as plain JSON kept in the
model (``model.extra["drift_reference"]``); serving/drift.py bins each scored batch the same way (the
binning functions here) and computes the PSI. Pure numpy and pandas, no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scorer import as_text

N_BINS = 10  # quantile bins of a numeric feature and of the score
CATEGORY_BINS = 10  # most frequent categories with a bin of their own; the rest share one
MAX_SEEN = 500  # categories remembered to tell unseen ones (the scorer keeps as many)
REFERENCE_VERSION = 1


def numeric_edges(values: np.ndarray, n_bins: int = N_BINS) -> list[float]:
    """Interior cut points: the unique deciles of the non-missing values.

    The k-th decile is the smallest value with at least k/10 of the values at or below it (the inverse
    CDF), so every edge is a value of the window and a right-closed bin ends on it: a count that is 0 for
    85% of leads gets the bins "<= 0", "(0, 1]", ... rather than edges between the integers.
    """
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return []
    cuts = np.quantile(values, np.arange(1, n_bins) / n_bins, method="inverted_cdf")
    return [float(c) for c in np.unique(cuts)]


def numeric_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts per bin: (-inf, e0], (e0, e1], ..., (e_last, inf), then missing."""
    values = np.asarray(values, dtype=float)
    miss = np.isnan(values)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values[~miss], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    return np.append(counts, miss.sum())


def categorical_counts(values: pd.Series, bins: list[str], seen: set[str]) -> np.ndarray:
    """Counts per bin: each named category, the other known ones, missing, unseen."""
    text = as_text(values)
    known = text.isin(seen)
    per = text[text.isin(bins)].value_counts()
    counts = [float(per.get(b, 0)) for b in bins]
    other = float((known & ~text.isin(bins)).sum())
    missing = float(text.isna().sum())
    unseen = float((text.notna() & ~known).sum())
    return np.array([*counts, other, missing, unseen])


def bin_shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts)


def _rounded(x: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in x]


def reference_profile(
    X: pd.DataFrame,
    scores: np.ndarray,
    *,
    categorical: list[str],
    numeric: list[str],
    features_by_gain: list[str],
    window: str = "training",
    score_window: str = "holdout",
) -> dict:
    """The training window's profile (JSON-able) to compare scored batches with; see the module docstring.

    ``X`` is the training window's feature table, ``scores`` the calibrated probabilities of the holdout
    window, ``features_by_gain`` every feature, most important first.
    """
    numeric_ref = {}
    for c in numeric:
        values = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        edges = numeric_edges(values)
        shares = bin_shares(numeric_counts(values, edges))
        numeric_ref[c] = {"edges": edges, "shares": _rounded(shares[:-1]), "missing": round(float(shares[-1]), 6)}
    categorical_ref = {}
    for c in categorical:
        text = as_text(X[c])
        freq = text.value_counts()
        bins = [str(v) for v in freq.index[:CATEGORY_BINS]]
        seen = [str(v) for v in freq.index[:MAX_SEEN]]
        shares = bin_shares(categorical_counts(X[c], bins, set(seen)))
        categorical_ref[c] = {
            "bins": bins,
            "shares": _rounded(shares[: len(bins)]),
            "other": round(float(shares[len(bins)]), 6),
            "missing": round(float(shares[len(bins) + 1]), 6),
            "seen": seen,
        }
    scores = np.asarray(scores, dtype=float)
    score_edges = numeric_edges(scores)
    score_shares = bin_shares(numeric_counts(scores, score_edges))
    return {
        "version": REFERENCE_VERSION,
        "window": window,
        "rows": len(X),
        "score_window": score_window,
        "score_rows": int(len(scores)),
        "numeric": numeric_ref,
        "categorical": categorical_ref,
        "score": {"edges": score_edges, "shares": _rounded(score_shares[:-1])},
        "features_by_gain": list(features_by_gain),
    }
