"""The trained scorer: category mapping, LightGBM booster, optional linear part and Platt calibrator.

It owns the preprocessing so that LightGBM never sees pandas string or category columns (which break
a model logged with MLflow's LightGBM flavour): categories become fixed integer codes learned at fit
time, unseen or missing values become missing. It is saved as plain files (JSON + LightGBM's text
model), never pickled. This module imports only numpy, pandas and lightgbm, so a served model needs
nothing else; a compiled predictor saved with the model (models/compiled.py, the optional ``fast`` extra)
is used for scores where it loads, and the booster everywhere else.

The margin is ``w * tree_margin + (1 - w) * linear_margin``: ``w = 1`` (no linear part, as in every model
saved before the linear part existed) is the booster alone; ``w = 0`` the logistic regression
(models/linear.py) alone; in between a blend. Training chooses ``w`` on the newer half of the calibration
window (models/candidates.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.compiled import load_compiled, reload_compiled
from models.contrib import TreeContributions
from models.linear import LinearPart

if TYPE_CHECKING:
    from features.config import DatasetConfig

SPEC_FILE = "scorer.json"
BOOSTER_FILE = "booster.txt"
MAX_CATEGORIES = 500


class FeatureMismatchError(ValueError):
    """A feature table that lacks columns the model was trained on."""


def rank_categories(counts: pd.Series) -> list[str]:
    """Values by count, most frequent first, equal counts in alphabetical order (at most MAX_CATEGORIES).

    The tie order is fixed so that the codes do not depend on row order or partitioning: a Dask value
    count (models/distributed.py) gives the same list as one process.
    """
    counts = counts.set_axis(counts.index.astype(str)).sort_index()
    return counts.sort_values(ascending=False, kind="stable").index[:MAX_CATEGORIES].tolist()


def learn_categories(X: pd.DataFrame, categorical: list[str]) -> dict[str, list[str]]:
    """Categories seen in training, most frequent first (at most MAX_CATEGORIES per column)."""
    return {c: rank_categories(X[c].dropna().astype("str").value_counts()) for c in categorical}


def as_text(values: pd.Series) -> pd.Series:
    """Category values as text, missing kept missing: how categories and segments are matched."""
    return values.astype("str").where(values.notna())


def _category_codes(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Each value's position in ``categories`` as a float, NaN where unseen or missing."""
    arrow = getattr(values.array, "__arrow_array__", None) if isinstance(values.dtype, pd.StringDtype) else None
    if arrow is not None and len(values):  # Arrow text: one hash lookup per value in C
        found = pc.index_in(arrow(), value_set=pa.array(categories, type=pa.string()))
        return found.to_numpy(zero_copy_only=False).astype(np.float64)  # null (unseen, missing) -> NaN
    codes = pd.Index(categories, dtype="str").get_indexer(as_text(values))  # pd.Categorical warns on unseen
    return np.where(codes < 0, np.nan, codes)


def to_matrix(
    X: pd.DataFrame, categorical: list[str], numeric: list[str], categories: dict[str, list[str]]
) -> np.ndarray:
    """Float matrix in feature order; categories as their codes, unseen and missing as NaN."""
    missing = [c for c in categorical + numeric if c not in X.columns]
    if missing:
        raise FeatureMismatchError(
            f"the feature table lacks column(s) the model was trained on: {missing}; score with the dataset "
            "config the model was trained with (the default when --config is not given)"
        )
    M = np.empty((len(X), len(categorical) + len(numeric)), dtype=np.float64)
    for j, c in enumerate(categorical):
        M[:, j] = _category_codes(X[c], categories[c])
    for j, c in enumerate(numeric, start=len(categorical)):
        M[:, j] = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=np.float64)
    return M


@dataclass
class LeadScoreModel:
    """Scores a feature table: calibrated probability of MQL-to-SQL conversion."""

    categorical: list[str]
    numeric: list[str]
    categories: dict[str, list[str]]
    booster: lgb.Booster
    calibration: tuple[float, float]  # Platt: p = sigmoid(a * margin + b)
    base_rate: float
    extra: dict = field(default_factory=dict)  # dataset config and training facts, saved with the model
    # optional per-segment models: leads whose `segment_by` value maps to a segment are scored by its model,
    # every other lead (no segment, missing or unseen value) by this one. Children share this model's
    # features and category codes, so contributions and reasons read the same everywhere.
    segment_by: str | None = None
    segment_values: dict[str, str] = field(default_factory=dict)  # feature value -> segment name
    segments: dict[str, LeadScoreModel] = field(default_factory=dict)
    # compiled raw-margin predictor (models/compiled.py) when one was saved and loads here; else the booster
    compiled: object | None = field(default=None, repr=False, compare=False)
    predictor_note: str = field(default="no compiled predictor saved with the model", compare=False)
    # the regularised logistic regression on the same matrix, and the tree part's weight in the margin
    linear: LinearPart | None = None
    tree_weight: float = 1.0

    def __getstate__(self) -> dict:
        """The state to pickle (Dask sends the model to its workers): the compiled predictor's saved files, not
        the predictor, whose machine code lives in this process only."""
        state = self.__dict__.copy()
        state.pop("contribution_tables", None)  # rebuilt where needed: cheaper than sending
        if self.compiled is not None:
            state["compiled"] = self.compiled.saved
        return state

    def __setstate__(self, state: dict) -> None:
        """Load the compiled predictor again from its saved files, or fall back to the booster and say why."""
        saved = state.get("compiled")
        if saved is not None:
            compiled, note = reload_compiled(saved, BOOSTER_FILE)
            state = {**state, "compiled": compiled, "predictor_note": note}
        self.__dict__.update(state)

    @property
    def kind(self) -> str:
        """``lightgbm``, ``logistic`` or ``blend``: which part(s) make the margin."""
        if self.linear is None or self.tree_weight >= 1:
            return "lightgbm"
        return "logistic" if self.tree_weight <= 0 else "blend"

    @property
    def predictor(self) -> str:
        """``compiled`` when every score comes from compiled code, ``lightgbm`` otherwise."""
        everyone = [self, *self.segments.values()]
        return "compiled" if all(m.compiled is not None for m in everyone) else "lightgbm"

    @property
    def predictor_reason(self) -> str:
        """Why the predictor is what it is (the first model that fell back to the booster names its reason)."""
        fallen = [m.predictor_note for m in (self, *self.segments.values()) if m.compiled is None]
        return fallen[0] if fallen else "compiled"

    @cached_property
    def dataset_config(self) -> DatasetConfig | None:
        """The dataset config the model was trained with (``extra["dataset_config"]``, validated once), or None
        for a model saved without one."""
        raw = self.extra.get("dataset_config")
        if raw is None:
            return None
        # here, not at the top: a served model (mlflow models serve) ships models/ only and never asks for it
        from features.config import DatasetConfig

        return DatasetConfig.model_validate(raw)

    @property
    def features(self) -> list[str]:
        return self.categorical + self.numeric

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        return to_matrix(X, self.categorical, self.numeric, self.categories)

    def segment_of(self, X: pd.DataFrame) -> pd.Series:
        """Each lead's segment name, or None where the global model scores it."""
        if not self.segments or self.segment_by not in X.columns:
            return pd.Series(None, index=X.index, dtype=object)
        names = as_text(X[self.segment_by]).map(self.segment_values)
        kept = names.isin(list(self.segments)).to_numpy()
        return pd.Series(np.where(kept, names.to_numpy(dtype=object), None), index=X.index, dtype=object)

    def _routed(self, X: pd.DataFrame, own, child_fn) -> np.ndarray:
        """``own`` (this model's result for every row), with each segment's rows replaced by its model's."""
        if not self.segments:
            return own
        seg = self.segment_of(X).to_numpy()
        for name, child in self.segments.items():
            rows = seg == name
            if rows.any():
                own[rows] = child_fn(child, X[rows])
        return own

    def _tree_margin(self, M: np.ndarray) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.predict(M)
        return self.booster.predict(M, raw_score=True)

    def _own_margin(self, X: pd.DataFrame) -> np.ndarray:
        M = self.matrix(X)
        kind, w = self.kind, self.tree_weight
        if kind == "lightgbm":  # exactly the booster's margin, as before the linear part existed
            return self._tree_margin(M)
        if kind == "logistic":
            return self.linear.margin(M)
        return w * self._tree_margin(M) + (1 - w) * self.linear.margin(M)

    @cached_property
    def contribution_tables(self) -> TreeContributions | None:
        """The booster's TreeSHAP tabulated per leaf (models/contrib.py), built once; None where it does not apply."""
        return TreeContributions.of(self.booster)

    def _tree_contributions(self, M: np.ndarray) -> np.ndarray:
        """The booster's exact TreeSHAP values (``pred_contrib``): from the tables, or from LightGBM where the
        tables do not apply."""
        tables = self.contribution_tables
        return self.booster.predict(M, pred_contrib=True) if tables is None else tables.predict(M)

    def _own_contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature contributions and, last, the base (TreeSHAP's expected value, the linear base)."""
        M = self.matrix(X)
        kind, w = self.kind, self.tree_weight
        if kind == "lightgbm":
            return self._tree_contributions(M)
        linear = np.column_stack([self.linear.contributions(M), np.full(len(M), self.linear.base)])
        if kind == "logistic":
            return linear
        return w * self._tree_contributions(M) + (1 - w) * linear

    def _own_proba(self, X: pd.DataFrame) -> np.ndarray:
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * self._own_margin(X) + b)))

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        return self._routed(X, self._own_margin(X), lambda m, part: m._own_margin(part))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._routed(X, self._own_proba(X), lambda m, part: m._own_proba(part))

    def global_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The global model's probabilities, ignoring segments (to compare the two)."""
        return self._own_proba(X)

    def contributions(self, X: pd.DataFrame, *, with_base: bool = False) -> pd.DataFrame:
        """Per-lead contributions to the raw margin (of the model that scores the lead).

        TreeSHAP for the booster, the exact centred linear terms for the logistic part (one-hot pieces
        summed back to their feature), weighted as in the margin. ``with_base`` adds a last column
        ``(base)``: the contributions plus it are the margin.
        """
        contrib = self._routed(X, self._own_contributions(X), lambda m, part: m._own_contributions(part))
        columns = self.features + ["(base)"]
        out = pd.DataFrame(contrib, columns=columns, index=X.index)
        return out if with_base else out.drop(columns="(base)")

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / BOOSTER_FILE))
        spec = {
            "categorical": self.categorical,
            "numeric": self.numeric,
            "categories": self.categories,
            "calibration": list(self.calibration),
            "base_rate": self.base_rate,
            "extra": self.extra,
            "segment_by": self.segment_by,
            "segment_values": self.segment_values,
            # folders are numbered: segment names are the config's words, not file names
            "segments": {name: f"segments/{i}" for i, name in enumerate(self.segments)},
        }
        if self.linear is not None:  # absent in a LightGBM-only model: its scorer.json stays as before
            spec["linear"] = self.linear.to_dict()
            spec["tree_weight"] = self.tree_weight
        for name, child in self.segments.items():
            child.save(directory / spec["segments"][name])
        (directory / SPEC_FILE).write_text(json.dumps(spec, indent=1, default=str), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> LeadScoreModel:
        directory = Path(directory)
        spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
        booster = lgb.Booster(model_file=str(directory / BOOSTER_FILE))
        compiled, note = load_compiled(directory, BOOSTER_FILE)
        return cls(
            spec["categorical"],
            spec["numeric"],
            spec["categories"],
            booster,
            tuple(spec["calibration"]),
            spec["base_rate"],
            spec.get("extra", {}),
            spec.get("segment_by"),
            spec.get("segment_values", {}),
            {name: cls.load(directory / sub) for name, sub in spec.get("segments", {}).items()},
            compiled,
            note,
            LinearPart.from_dict(spec["linear"]) if spec.get("linear") else None,
            float(spec.get("tree_weight", 1.0)),
        )
