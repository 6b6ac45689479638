"""Fitting the model: LightGBM early-stopped on the calibration window, the model search, Platt scaling.

models/train.py cuts the windows and evaluates; this module fits. ``fit_candidates`` runs the search of
models/candidates.py with LightGBM and logistic-regression fits on the training window, early-stopped and
tuned on the older half of the calibration window, compared on the newer half. ``fit_scorer`` (the default
LightGBM alone: the back-test, segment models) early-stops on the whole calibration window, as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypedDict, Unpack

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.baselines import sample_rows
from models.candidates import Search, split_calibration
from models.candidates import search as search_candidates
from models.linear import fit_linear
from models.scorer import LeadScoreModel, learn_categories, to_matrix

if TYPE_CHECKING:
    from models.train import TrainParams


class FitSettings(TypedDict):
    """What every fit in this module is given besides its windows: the model's columns (categoricals first),
    the monotone constraints (feature -> +1 or -1) and the training parameters."""

    categorical: list[str]
    numeric: list[str]
    monotone: dict[str, int]
    params: TrainParams


def auto_threads(rows: int) -> int:
    """Threads worth using for LightGBM on this many rows.

    Measured here: on 6k rows, two threads while another process held a core took 8.2 s against 0.25 s
    for one thread (OpenMP threads spin-waiting for a busy core). Small data gains nothing from more.
    """
    return max(1, min(os.cpu_count() or 1, rows // 50_000))


def lightgbm_params(
    params: TrainParams, names: list[str], monotone: dict[str, int], *, rows: int, overrides: dict | None = None
) -> dict:
    """LightGBM's parameters for ``params``: one definition for single-process and Dask training.

    ``overrides``: a candidate setting of the model search (models/candidates.py) on top of the defaults.
    """
    return {
        "objective": "binary",
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_data_in_leaf,
        "feature_fraction": params.feature_fraction,
        "bagging_fraction": params.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": params.lambda_l2,
        "cat_smooth": 20.0,
        "cat_l2": 10.0,
        "min_data_per_group": 50,
        "max_cat_to_onehot": 8,
        "monotone_constraints": [monotone.get(n, 0) for n in names],
        "monotone_constraints_method": "advanced",
        "seed": params.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "num_threads": params.num_threads or auto_threads(rows),
    } | (overrides or {})


def fit_scorer(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    *,
    categories: dict[str, list[str]] | None = None,
    overrides: dict | None = None,
    **fit: Unpack[FitSettings],
) -> tuple[LeadScoreModel, int]:
    """LightGBM with native categoricals, early stopping and Platt calibration on the calibration window.

    With ``params.refit`` the number of rounds found by early stopping is then used to refit on the
    training and calibration windows together: with drifting data the newest history matters most. The
    calibrator stays fitted on the first model's out-of-sample margins on the calibration window.
    """
    categorical, numeric = fit["categorical"], fit["numeric"]
    categories = categories or learn_categories(pd.concat([X_train, X_cal]), categorical)
    M_train = to_matrix(X_train, categorical, numeric, categories)
    M_cal = to_matrix(X_cal, categorical, numeric, categories)
    booster, _ = fit_booster(M_train, y_train, M_cal, y_cal, overrides=overrides, **fit)
    retrain = partial(_retrain, (M_train, y_train, M_cal, y_cal), {**fit, "overrides": overrides})
    booster, best, platt = calibrated_fit(booster, M_cal, y_cal, refit=fit["params"].refit, retrain=retrain)
    model = LeadScoreModel(categorical, numeric, categories, booster, platt, float(np.mean(y_train)))
    return model, best


PLATT_MIN_SLOPE = 1e-3  # the floor of Platt's slope: calibration may flatten the model's order, never reverse it


def platt_scaling(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of p = sigmoid(a * margin + b), with a > 0: calibration never reorders leads.

    A margin that ranks the calibration window backwards as a whole (on the UCI bank export the SQL rate
    jumps inside the window, and an unconstrained fit gave a negative slope, silently reversing the chosen
    model's order) keeps its order at the floor slope, with scores at the window's SQL rate; training notes it.
    """
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    if a >= PLATT_MIN_SLOPE:
        return a, b
    rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
    return PLATT_MIN_SLOPE, float(np.log(rate / (1 - rate)) - PLATT_MIN_SLOPE * np.mean(margin))


def _training_set(
    M: np.ndarray,
    y: np.ndarray,
    *,
    rows: int,
    overrides: dict | None = None,
    **fit: Unpack[FitSettings],
) -> tuple[dict, lgb.Dataset]:
    """LightGBM's parameters for ``rows`` training rows, and the dataset of ``M`` (categoricals first)."""
    names = fit["categorical"] + fit["numeric"]
    lgb_params = lightgbm_params(fit["params"], names, fit["monotone"], rows=rows, overrides=overrides)
    first = list(range(len(fit["categorical"])))
    return lgb_params, lgb.Dataset(M, label=y, feature_name=names, categorical_feature=first)


def fit_booster(
    M_train: np.ndarray,
    y_train: np.ndarray,
    M_cal: np.ndarray,
    y_cal: np.ndarray,
    *,
    overrides: dict | None = None,
    **fit: Unpack[FitSettings],
) -> tuple[lgb.Booster, int]:
    """LightGBM early-stopped on the calibration window: (booster, best round)."""
    params = fit["params"]
    lgb_params, train_set = _training_set(M_train, y_train, rows=len(M_train), overrides=overrides, **fit)
    cal_set = lgb.Dataset(M_cal, label=y_cal, reference=train_set)
    booster = lgb.train(
        lgb_params,
        train_set,
        num_boost_round=params.max_rounds,
        valid_sets=[cal_set],
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    booster.free_dataset()
    return booster, int(booster.best_iteration or booster.current_iteration())


def _retrain(windows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], fit: dict, rounds: int) -> lgb.Booster:
    """``rounds`` rounds on the training and calibration windows (``M_train, y_train, M_cal, y_cal``) together;
    ``fit`` holds ``_training_set``'s settings."""
    M_train, y_train, M_cal, y_cal = windows
    both = np.vstack([M_train, M_cal]), np.concatenate([y_train, y_cal])
    lgb_params, data = _training_set(*both, rows=len(M_train), **fit)
    return lgb.train(lgb_params, data, num_boost_round=rounds)


def cut_or_retrain(
    booster: lgb.Booster, best: int, *, refit: bool, retrain: Callable[[int], lgb.Booster]
) -> lgb.Booster:
    """The booster cut at its best round; with ``refit``, ``retrain(best)``: that many rounds on the training
    and calibration windows together (with drifting data the newest history matters most)."""
    if not refit:
        return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return retrain(best)


def calibrated_fit(
    booster: lgb.Booster, M_cal: np.ndarray, y_cal: np.ndarray, *, refit: bool, retrain: Callable[[int], lgb.Booster]
) -> tuple[lgb.Booster, int, tuple[float, float]]:
    """An early-stopped booster made into what ships, for single-process and Dask training alike: (booster,
    best round, Platt calibration).

    Platt is fitted on the booster's calibration-window margins at its best round; the booster is then cut
    there or, with ``refit``, retrained (``cut_or_retrain``). The calibrator stays fitted on the first
    booster's out-of-sample margins.
    """
    best = int(booster.best_iteration or booster.current_iteration())
    platt = platt_scaling(booster.predict(M_cal, raw_score=True, num_iteration=best), y_cal)
    return cut_or_retrain(booster, best, refit=refit, retrain=retrain), best, platt


def finish_booster(
    booster: lgb.Booster,
    best: int,
    windows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    overrides: dict | None = None,
    **fit: Unpack[FitSettings],
) -> lgb.Booster:
    """The booster cut at its best round, or with ``params.refit`` refitted that many rounds (``cut_or_retrain``)
    on the ``windows`` (``M_train, y_train, M_cal, y_cal``)."""
    retrain = partial(_retrain, windows, {**fit, "overrides": overrides})
    return cut_or_retrain(booster, best, refit=fit["params"].refit, retrain=retrain)


def fit_candidates(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    *,
    mql_cal: pd.Series | None = None,
    **fit: Unpack[FitSettings],
) -> tuple[LeadScoreModel, int, Search]:
    """The model search (models/candidates.py): LightGBM settings, the logistic regression and blends fitted
    on the training window, chosen on half the calibration window, then Platt-calibrated on all of it.

    The calibration window is cut by ``mql_cal`` (its MQL times; None: at random, stratified, with
    ``params.seed``): every LightGBM candidate is early-stopped on the older half and the logistic
    regression's C is chosen there; the candidates and blend weights are compared on the newer half. The
    logistic regression is fitted on at most ``params.logistic_max_rows`` training rows (a sample that
    keeps the SQL rate). A blend's or the logistic model's booster is the best LightGBM candidate's. With
    ``params.refit`` only the booster is refitted on the training and whole calibration windows; the
    logistic part and the blend weight stay as chosen.
    """
    categorical, numeric, params = fit["categorical"], fit["numeric"], fit["params"]
    categories = learn_categories(pd.concat([X_train, X_cal]), categorical)
    M_train = to_matrix(X_train, categorical, numeric, categories)
    M_cal = to_matrix(X_cal, categorical, numeric, categories)
    rows = sample_rows(y_train, params.logistic_max_rows, params.seed)
    n_codes = [len(categories[c]) for c in categorical]
    halves = split_calibration(y_cal, mql_cal, seed=params.seed)
    M_tune, y_tune = M_cal[halves.tune], y_cal[halves.tune]

    def tree(overrides: dict):
        booster, best = fit_booster(M_train, y_train, M_tune, y_tune, overrides=overrides, **fit)
        return booster, best, booster.predict(M_cal, raw_score=True, num_iteration=best)

    def linear(C: float):
        part = fit_linear(
            M_train[rows], y_train[rows], n_categorical=len(categorical), n_codes=n_codes, C=C, seed=params.seed
        )
        return part, part.margin(M_cal)

    found = search_candidates(
        y_cal, fit_tree=tree, fit_linear=linear, budget_s=params.search_budget_seconds, halves=halves
    )
    best_tree = found.best_tree
    windows = (M_train, y_train, M_cal, y_cal)
    t = time.perf_counter()
    booster = finish_booster(best_tree.fitted, best_tree.best_iteration, windows, overrides=best_tree.settings, **fit)
    platt = platt_scaling(found.chosen.cal_margin, y_cal)  # the whole window: both halves
    found.final_fit = {
        "candidate": best_tree.name,
        "settings": best_tree.settings,
        # lgb.train keeps only the best round's trees; early stopping ran its patience past it, up to max_rounds
        "rounds_trained": min(best_tree.best_iteration + params.early_stopping_rounds, params.max_rounds),
        "best_iteration": best_tree.best_iteration,
        "seconds": best_tree.seconds + time.perf_counter() - t,
    }
    w = found.tree_weight
    model = LeadScoreModel(
        categorical,
        numeric,
        categories,
        booster,
        platt,
        float(np.mean(y_train)),
        linear=None if w >= 1 else found.best_linear.fitted,
        tree_weight=w,
    )
    return model, best_tree.best_iteration, found
