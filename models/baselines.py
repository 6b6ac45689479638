"""Baselines every model must beat: the dataset's manual persona rule and a logistic regression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.config import Persona
from models.linear import LinearPart, fit_linear
from models.scorer import learn_categories, to_matrix


def persona_score(features: pd.DataFrame, persona: Persona) -> np.ndarray:
    """Share of the persona's conditions each lead meets (1.0 = passes the manual filter).

    The share, not just pass/fail, gives the rule a ranking so its AUC and lift are comparable.
    """
    met = np.zeros(len(features))
    for cond in persona.conditions:
        if cond.feature not in features.columns:
            raise KeyError(f"persona condition on '{cond.feature}', which is not a feature column")
        col = features[cond.feature]
        ok = pd.Series(True, index=features.index)
        if cond.isin is not None:
            ok &= col.astype("str").isin(cond.isin) & col.notna()
        if cond.min is not None:
            ok &= pd.to_numeric(col, errors="coerce") >= cond.min
        if cond.max is not None:
            ok &= pd.to_numeric(col, errors="coerce") <= cond.max
        met += ok.to_numpy(dtype=float)
    return met / len(persona.conditions)


def sample_rows(y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Positions of at most ``max_rows`` rows, drawn at random from each class in proportion, in order.

    The logistic baseline's coefficients (about a hundred) settle long before hundreds of thousands of
    rows: fitting it on a sample of the same training window keeps it a fair baseline at a fraction of
    the cost. Drawn per class so the sample's SQL rate is the window's; all rows when there are few.
    """
    y = np.asarray(y)
    if len(y) <= max_rows:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        keep.append(rng.choice(rows, round(len(rows) * max_rows / len(y)), replace=False))
    return np.sort(np.concatenate(keep))


@dataclass
class LogisticBaseline:
    """The logistic-regression baseline: the same plain-number model a LeadScoreModel can ship
    (models/linear.py) on the same float matrix, with its own category codes."""

    categorical: list[str]
    numeric: list[str]
    categories: dict[str, list[str]]
    part: LinearPart

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        margin = self.part.margin(to_matrix(X, self.categorical, self.numeric, self.categories))
        return 1.0 / (1.0 + np.exp(-margin))


def fit_logistic(
    X: pd.DataFrame, y: np.ndarray, categorical: list[str], numeric: list[str], seed: int, *, C: float = 0.5
) -> LogisticBaseline:
    """A plain, well-regularised logistic regression on the same feature table: one-hot categories
    (codes seen fewer than 20 times pooled, missing its own slot), numerics median-imputed with a missing
    indicator, signed log1p and standardised; L2 with ``C``."""
    categories = learn_categories(X, categorical)
    M = to_matrix(X, categorical, numeric, categories)
    n_codes = [len(categories[c]) for c in categorical]
    part = fit_linear(M, np.asarray(y), n_categorical=len(categorical), n_codes=n_codes, C=C, seed=seed)
    return LogisticBaseline(categorical, numeric, categories, part)


def predict_logistic(model: LogisticBaseline, X: pd.DataFrame, categorical: list[str] | None = None) -> np.ndarray:
    """The baseline's probabilities (``categorical`` is kept for the old signature; the model knows its own)."""
    return model.predict_proba(X)
