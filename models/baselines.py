"""Baselines every model must beat: the dataset's manual persona rule and a logistic regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from features.config import Persona


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


def fit_logistic(X: pd.DataFrame, y: np.ndarray, categorical: list[str], numeric: list[str], seed: int) -> Pipeline:
    """A plain, well-regularised logistic regression on the same feature table."""
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    FunctionTransformer(_signed_log1p),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
                ),
                categorical,
            ),
        ]
    )
    model = Pipeline([("pre", pre), ("lr", LogisticRegression(C=0.5, max_iter=2000, random_state=seed))])
    return model.fit(_as_object(X, categorical), y)


def predict_logistic(model: Pipeline, X: pd.DataFrame, categorical: list[str]) -> np.ndarray:
    return model.predict_proba(_as_object(X, categorical))[:, 1]


def _signed_log1p(a: np.ndarray) -> np.ndarray:
    return np.sign(a) * np.log1p(np.abs(a))


def _as_object(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = X.copy()
    for c in categorical:
        out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
    return out
