"""A regularised logistic regression that can ship: plain numbers on the booster's own float matrix.

It reads the matrix LeadScoreModel builds for LightGBM (``to_matrix``: category codes, NaN for missing or
unseen; numerics) and turns it into the usual design: one-hot of the category codes (codes seen fewer
than ``min_frequency`` times in training pooled in one slot, missing/unseen its own slot), numerics
median-imputed + a missing indicator + signed log1p + standardised. Everything is saved as JSON numbers
in scorer.json: no sklearn object, no pickle, so a served model needs only numpy to score it.

Each feature's contribution is exact (the sum of its one-hot or numeric pieces times their coefficients),
centred on its training mean, so that like TreeSHAP the contributions plus a constant base give the margin.
Fitting uses scikit-learn, imported only by ``fit_linear``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_FREQUENCY = 20  # a category code seen fewer times in training shares the "other" slot


def signed_log1p(a: np.ndarray) -> np.ndarray:
    return np.sign(a) * np.log1p(np.abs(a))


@dataclass
class LinearPart:
    """Logistic-regression margin on the model's float matrix (categorical columns first, then numerics).

    ``cat_coef[j][k]``: the coefficient of code ``k`` of categorical column ``j`` (pooled codes share one
    value); ``cat_missing[j]``: of missing/unseen. Numeric column ``j``: ``coef * (slog1p(x or median) -
    mean) / scale + missing_coef * isnan(x)``. ``center[j]``: column ``j``'s mean contribution in training,
    subtracted so contributions read as "compared with a typical lead"; ``base`` = intercept + sum(center).
    """

    n_categorical: int
    cat_coef: list[list[float]]
    cat_missing: list[float]
    num_median: list[float]
    num_mean: list[float]
    num_scale: list[float]
    num_coef: list[float]
    num_missing_coef: list[float]
    center: list[float]
    base: float
    C: float = 0.5

    def contributions(self, M: np.ndarray) -> np.ndarray:
        """Each feature's exact, centred contribution to the margin (rows x features)."""
        out = np.empty(M.shape, dtype=np.float64)
        for j in range(self.n_categorical):
            table = np.append(np.asarray(self.cat_coef[j], dtype=np.float64), self.cat_missing[j])
            codes = M[:, j]
            idx = np.where(np.isnan(codes), len(table) - 1, np.nan_to_num(codes, nan=0.0)).astype(np.int64)
            idx = np.where((idx < 0) | (idx >= len(table) - 1), len(table) - 1, idx)  # a code it never knew
            out[:, j] = table[idx]
        for i in range(len(self.num_coef)):
            j = self.n_categorical + i
            x = M[:, j]
            miss = ~np.isfinite(x)
            z = (signed_log1p(np.where(miss, self.num_median[i], x)) - self.num_mean[i]) / self.num_scale[i]
            out[:, j] = self.num_coef[i] * z + self.num_missing_coef[i] * miss
        return out - np.asarray(self.center, dtype=np.float64)

    def margin(self, M: np.ndarray) -> np.ndarray:
        """Log-odds: the base plus the sum of the contributions."""
        return self.base + self.contributions(M).sum(axis=1)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> LinearPart:
        return cls(**d)


def _design(M: np.ndarray, n_categorical: int, n_codes: list[int], kept: list[np.ndarray], stats: dict):
    """Sparse design matrix: per categorical column its kept codes, one 'other' and one 'missing' slot;
    per numeric column its standardised value and its missing indicator."""
    from scipy import sparse

    blocks = []
    for j in range(n_categorical):
        codes = M[:, j]
        slot_of = np.full(n_codes[j] + 1, len(kept[j]), dtype=np.int64)  # default: the pooled slot
        slot_of[kept[j]] = np.arange(len(kept[j]))
        slot_of[n_codes[j]] = len(kept[j]) + 1  # missing / unseen
        idx = np.where(np.isnan(codes), n_codes[j], np.nan_to_num(codes, nan=0.0)).astype(np.int64)
        idx = np.clip(idx, 0, n_codes[j])
        slots = slot_of[idx]
        shape = (len(M), len(kept[j]) + 2)
        blocks.append(sparse.csr_matrix((np.ones(len(M)), (np.arange(len(M)), slots)), shape=shape))
    X = M[:, n_categorical:]
    miss = ~np.isfinite(X)
    z = (signed_log1p(np.where(miss, stats["median"], X)) - stats["mean"]) / stats["scale"]
    blocks.append(sparse.csr_matrix(np.hstack([z, miss.astype(np.float64)])))
    return sparse.hstack(blocks, format="csr")


def fit_linear(
    M: np.ndarray,
    y: np.ndarray,
    *,
    n_categorical: int,
    n_codes: list[int],
    C: float = 0.5,
    seed: int = 0,
    min_frequency: int = MIN_FREQUENCY,
) -> LinearPart:
    """L2 logistic regression on the model's float matrix ``M`` (rows x features), labels ``y``.

    ``n_codes[j]``: how many category codes categorical column ``j`` can hold (its category list's length).
    """
    from sklearn.linear_model import LogisticRegression

    kept = []
    for j in range(n_categorical):
        codes = M[:, j][~np.isnan(M[:, j])].astype(np.int64)
        counts = np.bincount(codes, minlength=n_codes[j])[: n_codes[j]]
        kept.append(np.flatnonzero(counts >= min_frequency))
    X = M[:, n_categorical:]
    n_num = X.shape[1]
    with np.errstate(all="ignore"):
        finite = np.where(np.isfinite(X), X, np.nan)
        median = np.nanmedian(finite, axis=0) if len(X) else np.zeros(n_num)
        median = np.where(np.isfinite(median), median, 0.0)
        t = signed_log1p(np.where(np.isfinite(X), X, median))
        mean, scale = t.mean(axis=0), t.std(axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    stats = {"median": median, "mean": mean, "scale": scale}
    design = _design(M, n_categorical, n_codes, kept, stats)
    lr = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(design, y)
    coef = lr.coef_[0]
    cat_coef, cat_missing, pos = [], [], 0
    for j in range(n_categorical):
        k = len(kept[j])
        own = coef[pos : pos + k]
        per_code = np.full(n_codes[j], coef[pos + k])  # pooled
        per_code[kept[j]] = own
        cat_coef.append(per_code.tolist())
        cat_missing.append(float(coef[pos + k + 1]))
        pos += k + 2
    part = LinearPart(
        n_categorical=n_categorical,
        cat_coef=cat_coef,
        cat_missing=cat_missing,
        num_median=median.tolist(),
        num_mean=mean.tolist(),
        num_scale=scale.tolist(),
        num_coef=coef[pos : pos + n_num].tolist(),
        num_missing_coef=coef[pos + n_num : pos + 2 * n_num].tolist(),
        center=[0.0] * M.shape[1],
        base=float(lr.intercept_[0]),
        C=C,
    )
    part.center = part.contributions(M).mean(axis=0).tolist() if len(M) else part.center
    part.base = float(lr.intercept_[0]) + float(np.sum(part.center))
    return part
