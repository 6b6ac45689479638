"""Which model ships: candidates fitted on the training window and chosen on the calibration window.

The calibration window is cut in two halves (``split_calibration``): by MQL time when the export has
timestamps, else at random (stratified, fixed seed). The older half tunes: every LightGBM candidate is
early-stopped on it and the logistic regression's C is chosen there. The newer half compares: the
candidates are chosen on it, blend weights included, so no candidate is judged on the rows that tuned it
(early stopping on the same rows used to favour LightGBM). The chosen model is then Platt-calibrated on
the whole window (models/fitting.py).

The candidates, in a fixed order: LightGBM with the settings' defaults, the regularised logistic
regression (both always fitted), then LightGBM with more (and less) regularisation, only while the
time budget lasts, then blends of the best LightGBM and the logistic regression. The measure is the
AUC on the comparing half; among LightGBM settings within ``TIE`` of the best, the least flexible wins;
a blend ships only if it beats both of its parts. The holdout is never read here: it only reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.metrics import fast_auc

TIE = 0.002  # calibration-window AUCs this close are a tie: the less flexible setting wins
BLEND_WEIGHTS = (0.25, 0.5, 0.75)  # the tree part's weight in a blend's margin
LOGISTIC_C = (0.5, 0.1, 2.0)  # inverse L2 strength, the baseline's 0.5 first

# LightGBM settings tried after the default, fixed and ordered (most likely to help first). ``flex`` ranks
# how flexible a setting is (the default is 2): on a tie the lowest wins. Values are overrides of the
# default parameters (models/train.py lightgbm_params).
LIGHTGBM_SETTINGS: list[tuple[str, int, dict]] = [
    ("lightgbm_default", 2, {}),
    (
        "lightgbm_regularised",
        1,
        {
            "num_leaves": 7,
            "min_data_in_leaf": 100,
            "cat_smooth": 50.0,
            "cat_l2": 30.0,
            "min_data_per_group": 200,
            "max_cat_threshold": 16,
        },
    ),
    (
        "lightgbm_stumps",
        0,
        {
            "num_leaves": 3,
            "min_data_in_leaf": 200,
            "cat_smooth": 100.0,
            "cat_l2": 50.0,
            "min_data_per_group": 400,
            "max_cat_threshold": 8,
            "learning_rate": 0.03,
        },
    ),
    ("lightgbm_slow", 2, {"learning_rate": 0.02, "cat_smooth": 40.0, "min_data_per_group": 100}),
    ("lightgbm_flexible", 3, {"num_leaves": 31, "min_data_in_leaf": 20, "cat_smooth": 10.0, "min_data_per_group": 30}),
]


@dataclass
class Candidate:
    """One fitted candidate: its margin on the whole calibration window and what made it.

    ``calibration_auc`` is measured on the comparing half of the window only (the one that chooses);
    ``tuning_auc``, for the logistic regression, on the tuning half (the one that chose its C).
    """

    name: str
    kind: str  # lightgbm, logistic, blend
    settings: dict
    cal_margin: np.ndarray
    calibration_auc: float
    seconds: float
    flex: int = 0
    best_iteration: int | None = None
    fitted: object = field(default=None, repr=False)  # the booster or LinearPart
    tuning_auc: float | None = None

    def record(self) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "settings": self.settings,
            "calibration_auc": round(self.calibration_auc, 4),
            "seconds": round(self.seconds, 2),
        }
        out |= {"tuning_auc": round(self.tuning_auc, 4)} if self.tuning_auc is not None else {}
        return out | ({"best_iteration": self.best_iteration} if self.best_iteration is not None else {})


@dataclass
class Halves:
    """The calibration window's two halves: ``tune`` rows early-stop LightGBM and choose C, ``compare`` rows
    choose among the candidates. ``how``: "time" (older / newer by MQL), "random" (stratified, fixed seed)
    or "whole" (too few SQLs or non-SQLs to halve: both are the whole window, as before the halves)."""

    tune: np.ndarray  # boolean masks over the calibration rows
    compare: np.ndarray
    how: str

    def describe(self) -> str:
        if self.how == "whole":
            return "the whole calibration window (too few SQLs or non-SQLs to halve it)"
        tuned = "LightGBM early-stopped and the logistic regression's C chosen on the "
        if self.how == "time":
            return f"the newer half of the calibration window ({tuned}older half)"
        return f"a random half of the calibration window ({tuned}other half)"


def _both_classes(y: np.ndarray, rows: np.ndarray) -> bool:
    return 0 < int(y[rows].sum()) < int(rows.sum())


def split_calibration(y: np.ndarray, mql: pd.Series | None = None, *, seed: int = 42) -> Halves:
    """Cut the calibration window (labels ``y``) in two: by MQL time (``mql``, older half tunes, newer half
    compares) or, without timestamps or when a time half lacks SQLs or non-SQLs, at random keeping the SQL
    rate in each half; with too few of a class for that, the whole window does both."""
    if mql is not None and len(y):
        newer = (pd.Series(mql).reset_index(drop=True) >= pd.Series(mql).quantile(0.5)).to_numpy()
        if _both_classes(y, newer) and _both_classes(y, ~newer):
            return Halves(~newer, newer, "time")
    rng = np.random.default_rng(seed)
    compare = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        compare[idx[len(idx) // 2 :]] = True
    if _both_classes(y, compare) and _both_classes(y, ~compare):
        return Halves(~compare, compare, "random")
    whole = np.ones(len(y), dtype=bool)
    return Halves(whole, whole, "whole")


@dataclass
class Search:
    """Every candidate tried, the chosen one, and what the search cost."""

    candidates: list[Candidate]
    chosen: Candidate
    best_tree: Candidate
    best_linear: Candidate
    seconds: float
    skipped: list[str]
    budget_s: float
    halves: Halves | None = None
    # the fit that ships (models/fitting.py fills it): the best LightGBM candidate's name, settings, rounds
    # trained and ``seconds`` (its own fit and calibration-window margin, cutting it, Platt scaling); the rest
    # of ``seconds`` above is the search around it
    final_fit: dict = field(default_factory=dict)

    @property
    def tree_weight(self) -> float:
        if self.chosen.kind == "blend":
            return float(self.chosen.settings["tree_weight"])
        return 1.0 if self.chosen.kind == "lightgbm" else 0.0

    def summary(self) -> dict:
        return {
            "chosen": self.chosen.name,
            "kind": self.chosen.kind,
            "calibration_auc": round(self.chosen.calibration_auc, 4),
            "tried": len(self.candidates),
            "skipped": self.skipped,
            "seconds": round(self.seconds, 1),
            "budget_s": self.budget_s,
        } | (
            {
                "compared_on": self.halves.describe(),
                "halves": self.halves.how,
                "tune_rows": int(self.halves.tune.sum()),
                "compare_rows": int(self.halves.compare.sum()),
            }
            if self.halves is not None
            else {}
        )


def _pick_tree(trees: list[Candidate]) -> Candidate:
    best = max(c.calibration_auc for c in trees)
    close = [c for c in trees if c.calibration_auc >= best - TIE]
    return min(close, key=lambda c: (c.flex, -c.calibration_auc))  # stable: the earlier on equal flex and AUC


def search(
    y_cal: np.ndarray,
    *,
    fit_tree: Callable[[dict], tuple[object, int, np.ndarray]],
    fit_linear: Callable[[float], tuple[object, np.ndarray]],
    budget_s: float,
    settings: list[tuple[str, int, dict]] | None = None,
    halves: Halves | None = None,
) -> Search:
    """Fit the candidates in order and choose one on the comparing half of the calibration window.

    ``y_cal``: the whole window's labels; ``halves``: its tuning and comparing rows (``split_calibration``;
    None: a stratified random cut). ``fit_tree(overrides) -> (booster, best_iteration, margin)`` fits on the
    training window, early-stopped on the tuning half; ``fit_linear(C) -> (LinearPart, margin)`` fits on
    the training window; both margins cover the whole calibration window (Platt scaling reads it). The C
    kept is the best on the tuning half; LightGBM settings, the logistic regression and the blends' weights
    are compared on the comparing half. The default LightGBM and the logistic regression (its first C) are
    always fitted; every other candidate starts only if the time spent so far plus the default LightGBM's
    own time stays within ``budget_s``, so the budget is overrun by at most one fit.
    """
    settings = settings if settings is not None else LIGHTGBM_SETTINGS
    halves = halves if halves is not None else split_calibration(y_cal)
    y_cmp, y_tune = y_cal[halves.compare], y_cal[halves.tune]
    t0 = time.perf_counter()
    done: list[Candidate] = []
    skipped: list[str] = []

    def compared(margin: np.ndarray) -> float:
        return fast_auc(y_cmp, margin[halves.compare])

    def tree(name: str, flex: int, overrides: dict) -> Candidate:
        t = time.perf_counter()
        booster, best, margin = fit_tree(overrides)
        auc = compared(margin)
        return Candidate(name, "lightgbm", overrides, margin, auc, time.perf_counter() - t, flex, best, booster)

    def linear(C: float) -> Candidate:
        t = time.perf_counter()
        part, margin = fit_linear(C)
        return Candidate(
            f"logistic_C{C:g}",
            "logistic",
            {"C": C},
            margin,
            compared(margin),
            time.perf_counter() - t,
            fitted=part,
            tuning_auc=fast_auc(y_tune, margin[halves.tune]),
        )

    first = tree(*settings[0])
    done.append(first)
    done.append(linear(LOGISTIC_C[0]))
    step = first.seconds

    def affordable() -> bool:
        return time.perf_counter() - t0 + step <= budget_s

    for C in LOGISTIC_C[1:]:
        if affordable():
            done.append(linear(C))
        else:
            skipped.append(f"logistic_C{C:g}")
    for name, flex, overrides in settings[1:]:
        if affordable():
            done.append(tree(name, flex, overrides))
        else:
            skipped.append(name)
    trees = [c for c in done if c.kind == "lightgbm"]
    best_tree = _pick_tree(trees)
    # C is tuned like LightGBM's rounds, on the tuning half: the comparing half judges every candidate unseen
    best_linear = max((c for c in done if c.kind == "logistic"), key=lambda c: c.tuning_auc)
    for w in BLEND_WEIGHTS:  # no fit: a weighted sum of two margins already computed
        margin = w * best_tree.cal_margin + (1 - w) * best_linear.cal_margin
        done.append(
            Candidate(
                f"blend_{w:g}",
                "blend",
                {"tree_weight": w, "tree": best_tree.name, "logistic": best_linear.name},
                margin,
                compared(margin),
                0.0,
            )
        )
    single = max((best_tree, best_linear), key=lambda c: c.calibration_auc)  # a tie keeps LightGBM
    blends = [c for c in done if c.kind == "blend"]
    best_blend = max(blends, key=lambda c: c.calibration_auc)
    chosen = best_blend if best_blend.calibration_auc > single.calibration_auc else single
    return Search(done, chosen, best_tree, best_linear, time.perf_counter() - t0, skipped, budget_s, halves)


def candidate_holdout(search: Search, Mh: np.ndarray, yh: np.ndarray) -> tuple[list[dict], np.ndarray]:
    """Each candidate's record with its holdout AUC (reported only, never used to choose), and the
    logistic candidate's holdout margin (the logistic-regression baseline)."""
    margins = {}
    for c in search.candidates:
        if c.kind == "lightgbm":
            margins[c.name] = c.fitted.predict(Mh, raw_score=True, num_iteration=c.best_iteration)
        elif c.kind == "logistic":
            margins[c.name] = c.fitted.margin(Mh)
    for c in search.candidates:
        if c.kind == "blend":
            w = c.settings["tree_weight"]
            margins[c.name] = w * margins[c.settings["tree"]] + (1 - w) * margins[c.settings["logistic"]]
    records = [
        c.record() | {"holdout_auc": round(fast_auc(yh, margins[c.name]), 4), "chosen": c is search.chosen}
        for c in search.candidates
    ]
    return records, margins[search.best_linear.name]
