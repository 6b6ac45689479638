"""The validation window every figure of the threshold review reads, and the weekly MQL volume.

A window is a frame with one row per validation lead and the columns ``proba`` (the model's calibrated SQL
probability, 0-1), ``label`` (1 if the lead became an SQL within the horizon), ``persona_pass`` (True where
the manual persona rule passes the lead) and, optionally, ``mql_at`` (the MQL moment).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import Persona
from models.baselines import persona_score
from models.train import TrainingResult

WEEK = pd.Timedelta(days=7)


def window_frame(
    proba: np.ndarray, labels: np.ndarray, features: pd.DataFrame, persona: Persona, *, mql_at: pd.Series | None = None
) -> pd.DataFrame:
    """The window of the leads in ``features`` (their scores ``proba`` and outcomes ``labels``, same order).

    ``persona``: the dataset config's persona rule. ``mql_at``: MQL moments indexed by lead_id (e.g.
    ``labels.set_index("lead_id")["mql_at"]``), kept so the page can print the window's dates and
    ``weekly_volume`` can measure the MQL volume.
    """
    window = pd.DataFrame(
        {
            "proba": np.asarray(proba, dtype=float),
            "label": np.asarray(labels, dtype=int),
            "persona_pass": persona_score(features, persona) == 1.0,
        },
        index=features.index,
    )
    if mql_at is not None:
        window["mql_at"] = mql_at.reindex(features.index).to_numpy()
    return window


def review_window(result: TrainingResult, persona: Persona, *, mql_at: pd.Series | None = None) -> pd.DataFrame:
    """The validation window of a training run as the frame every figure of the review reads.

    ``persona`` and ``mql_at``: as in ``window_frame``.
    """
    return window_frame(result.holdout_proba, result.holdout_labels, result.holdout_features, persona, mql_at=mql_at)


def check_window(window: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's (proba, label, persona_pass) arrays, or a ValueError naming the column and the values at fault."""
    missing = [c for c in ("proba", "label", "persona_pass") if c not in window.columns]
    if missing:
        raise ValueError(f"the window needs the columns proba, label and persona_pass; missing {missing}")
    if len(window) == 0:
        raise ValueError("the window has no leads: there is nothing to measure")
    p = window["proba"].to_numpy(dtype=float)
    bad = window["proba"][~((p >= 0) & (p <= 1))]
    if len(bad):
        raise ValueError(f"column proba must lie within 0-1; offending values: {bad.head(3).tolist()}")
    y = window["label"].to_numpy()
    bad = window["label"][~np.isin(y, (0, 1))]
    if len(bad):
        raise ValueError(f"column label must be 0 or 1; offending values: {bad.head(3).tolist()}")
    return p, y.astype(int), window["persona_pass"].to_numpy(dtype=bool)


def scores(proba: np.ndarray) -> np.ndarray:
    """The 0-100 score as printed on the SDR list (one decimal), which cut-offs are compared with."""
    return np.round(np.asarray(proba, dtype=float) * 100, 1)


def weekly_volume(mql_at: pd.Series) -> float:
    """MQLs per week over the span of ``mql_at`` (first to last MQL).

    A span shorter than a week counts as one week, so a window of a single day (or a single lead) is
    never extrapolated to seven times its volume. Missing timestamps are ignored; no MQL gives 0.
    """
    t = pd.to_datetime(pd.Series(mql_at)).dropna()
    if t.empty:
        return 0.0
    span = max(t.max() - t.min(), WEEK)
    return float(len(t) / (span / WEEK))
