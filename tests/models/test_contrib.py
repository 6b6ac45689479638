"""Tabulated TreeSHAP (models/contrib.py) equals LightGBM's pred_contrib, and the reasons read the same."""

from __future__ import annotations

from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.build import build_features, feature_columns
from models import contrib
from models.contrib import TreeContributions
from models.fitting import fit_scorer
from models.linear import fit_linear
from models.scorer import LeadScoreModel
from models.train import TrainParams, default_as_of, labels_for
from serving.score import score_leads

TOL = 1e-9


def _data(n: int, seed: int, *, zeros: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Two categorical columns (codes, with NaN and a negative code), numerics with NaN (or many zeros)."""
    rng = np.random.default_rng(seed)
    M = np.column_stack([rng.integers(0, 12, n), rng.integers(0, 40, n), rng.normal(size=(n, 4))]).astype(float)
    M[rng.random(n) < 0.1, 0] = np.nan
    M[rng.random(n) < 0.02, 1] = -1
    M[rng.random(n) < 0.15, 2] = 0.0 if zeros else np.nan
    M[rng.random(n) < 0.05, 3] = np.nan
    logit = (M[:, 0] % 3 == 0) * 1.2 - (np.nan_to_num(M[:, 1]) % 5 == 1) + np.nan_to_num(M[:, 2]) + M[:, 3] ** 2 / 3
    y = (rng.random(n) < 1 / (1 + np.exp(-np.nan_to_num(logit)))).astype(int)
    return M, y


@pytest.mark.parametrize(
    "params",
    [
        {},  # categorical splits, NaN as missing
        {"zero_as_missing": True},  # missing_type Zero
        {"use_missing": False},  # NaN read as 0
        {"num_leaves": 40, "max_depth": 12, "min_data_in_leaf": 5},  # long paths that split a feature again
        {"objective": "regression"},
    ],
)
def test_tables_equal_pred_contrib(params):
    M, y = _data(3000, 1, zeros=params.get("zero_as_missing", False))
    base = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1, "min_data_per_group": 5}
    booster = lgb.train({**base, **params}, lgb.Dataset(M, y, categorical_feature=[0, 1]), num_boost_round=30)
    tables = TreeContributions.of(booster)
    assert tables is not None
    X, _ = _data(1500, 2, zeros=params.get("zero_as_missing", False))
    X[:6, 0] = [
        np.nan,
        -3,
        99,
        2.7,
        1e6,
        -0.5,
    ]  # missing, negative, unseen and fractional codes go where LightGBM sends them
    want = booster.predict(X, pred_contrib=True)
    got = tables.predict(X)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOL


def test_numpy_sums_as_the_compiled_loop_does(monkeypatch):
    """Where llvmlite does not load, numpy does the table lookups: the same contributions."""
    M, y = _data(2000, 5)
    train = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1}
    booster = lgb.train(train, lgb.Dataset(M, y, categorical_feature=[0, 1]), 20)
    tables = TreeContributions.of(booster)
    compiled = tables.predict(M)
    monkeypatch.setattr(contrib, "kernel", lambda: None)
    assert np.abs(tables.predict(M, threads=2) - compiled).max() <= 1e-12
    assert np.abs(compiled - booster.predict(M, pred_contrib=True)).max() <= TOL


def test_where_the_tables_do_not_apply_they_say_so(monkeypatch):
    M, y = _data(1000, 3)
    common = {"verbose": -1, "num_threads": 1}
    multiclass = lgb.train({**common, "objective": "multiclass", "num_class": 3}, lgb.Dataset(M, y + (M[:, 2] > 1)), 3)
    linear = lgb.train({**common, "objective": "binary", "linear_tree": True}, lgb.Dataset(np.nan_to_num(M), y), 3)
    assert TreeContributions.of(multiclass) is None
    assert TreeContributions.of(linear) is None
    # paths longer than the tables allow: the model falls back to LightGBM's pred_contrib
    monkeypatch.setattr(contrib, "MAX_PATH_EDGES", 3)
    deep = lgb.train({**common, "objective": "binary", "num_leaves": 15}, lgb.Dataset(M, y), 5)
    model = _scorer(M, y, deep)
    X = pd.DataFrame(M, columns=model.features)
    assert model.contribution_tables is None
    np.testing.assert_array_equal(model.contributions(X).to_numpy(), deep.predict(M, pred_contrib=True)[:, :-1])


def _scorer(M: np.ndarray, y: np.ndarray, booster: lgb.Booster) -> LeadScoreModel:
    cols = [f"x{j}" for j in range(M.shape[1])]
    return LeadScoreModel([], cols, {}, booster, (1.0, 0.0), float(y.mean()))


def test_a_blended_and_a_segmented_model_keep_their_exact_contributions():
    M, y = _data(2000, 4)
    train = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1}
    model = _scorer(M, y, lgb.train(train, lgb.Dataset(M, y), 20))
    X = pd.DataFrame(M[:1200], columns=model.features)
    model.linear = fit_linear(np.nan_to_num(M), y, n_categorical=0, n_codes=[])
    model.tree_weight = 0.4
    child = _scorer(M, y, lgb.train({**train, "seed": 9}, lgb.Dataset(M[:1000], y[:1000]), 15))
    model.segment_by, model.segment_values, model.segments = "x5", {}, {"one": child}
    model.segment_of = lambda X: pd.Series(np.where(X["x5"] > 0, "one", None), index=X.index, dtype=object)
    got = model.contributions(X, with_base=True).to_numpy()
    assert "contribution_tables" in model.__dict__ and model.contribution_tables is not None
    for m in (model, child):
        m.__dict__["contribution_tables"] = None  # LightGBM's pred_contrib, as before
    want = model.contributions(X, with_base=True).to_numpy()
    assert np.abs(got - want).max() <= TOL
    np.testing.assert_allclose(got.sum(axis=1), model.margin(X), rtol=0, atol=1e-9)


def test_the_list_reads_the_same_with_the_tables(canonical, config):
    leads, acts = canonical
    features = build_features(leads, acts, config=config)
    labels = labels_for(leads, config, default_as_of(leads, acts)).set_index("lead_id").loc[features.index]
    mature = (labels["state"] == "mature").to_numpy()
    y = labels["label"].to_numpy()[mature].astype(int)
    X = features[mature]
    categorical, numeric = feature_columns(config)
    fit = {"categorical": categorical, "numeric": numeric}
    half = len(X) // 2
    model, _ = fit_scorer(X[:half], y[:half], X[half:], y[half:], monotone={}, params=TrainParams(num_threads=1), **fit)
    kw = {
        "cutoffs": {"A": 40, "B": 20, "C": 5},
        "model_version": "1",
        "pii_columns": config.names_with_role("pii"),
        "reasons_limit": 2000,
        "scored_at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    fast = score_leads(model, features, leads, **kw)
    assert "contribution_tables" in model.__dict__ and model.contribution_tables is not None
    model.__dict__["contribution_tables"] = None
    before = score_leads(model, features, leads, **kw)
    pd.testing.assert_frame_equal(fast, before)
    assert (fast["reason_1"].iloc[:2000] != "").all()
