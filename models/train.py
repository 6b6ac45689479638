"""Labels, time-based split, LightGBM training with calibration, and the evaluation against baselines."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from features.build import feature_columns
from features.config import DatasetConfig
from models import baselines
from models.metrics import bootstrap_auc, evaluate
from models.scorer import LeadScoreModel, learn_categories, to_matrix

LEAK_AUC = 0.95
TIER_SHARES = {"A": 0.10, "B": 0.20, "C": 0.30}  # default cut-offs: top 10%, next 20%, next 30%, rest is D


class TrainParams(BaseModel):
    """LightGBM and split settings; every value is logged to MLflow."""

    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    min_data_in_leaf: int = Field(40, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(5.0, ge=0)
    max_rounds: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    holdout_fraction: float = Field(0.15, gt=0, lt=0.5)
    calibration_fraction: float = Field(0.15, gt=0, lt=0.5)
    min_class_count: int = Field(20, ge=1, description="fewest SQLs and non-SQLs in each window")
    seed: int = 42
    num_threads: int = Field(0, ge=0, description="0 = auto: one thread per 50k training rows, up to the cores")


def auto_threads(rows: int) -> int:
    """Threads worth using for LightGBM on this many rows.

    Measured here: on 6k rows, two threads while another process held a core took 8.2 s against 0.25 s
    for one thread (OpenMP threads spin-waiting for a busy core). Small data gains nothing from more.
    """
    return max(1, min(os.cpu_count() or 1, rows // 50_000))


class TrainingDataError(ValueError):
    """Not enough mature, labelled leads to train and evaluate honestly."""


def default_as_of(leads: pd.DataFrame, activities: pd.DataFrame | None) -> pd.Timestamp:
    """The export moment: the latest timestamp anywhere in the export."""
    stamps = [leads[c].max() for c in ("mql_at", "sql_at", "created_at") if c in leads]
    if activities is not None and len(activities):
        stamps.append(activities["occurred_at"].max())
    return max(s for s in stamps if pd.notna(s))


def label_leads(leads: pd.DataFrame, *, horizon_days: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each lead's state at ``as_of``: mature (labelled), open (to score), already an SQL, or not yet an MQL.

    A lead is mature once its whole horizon has passed; only mature leads get a label, so a lead
    still inside its horizon is never counted as a non-SQL. Whatever happened after ``as_of`` (later
    MQLs, later SQL dates) is unknown at that moment and ignored, so a past date replays the past.
    """
    horizon = pd.Timedelta(days=horizon_days)
    sql_known = leads["sql_at"].notna() & (leads["sql_at"] <= as_of)
    mature = (leads["mql_at"] + horizon) <= as_of
    converted = sql_known & (leads["sql_at"] <= leads["mql_at"] + horizon)
    state = np.select([leads["mql_at"] > as_of, mature, sql_known], ["after_as_of", "mature", "already_sql"], "open")
    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "mql_at": leads["mql_at"].to_numpy(),
            "state": state,
            "label": np.where(mature, converted.astype(int), -1),
        }
    )


def time_split(mql_at: pd.Series, *, holdout_fraction: float, calibration_fraction: float) -> np.ndarray:
    """'train' (oldest), 'calibration', 'holdout' (newest) by MQL time, cut on timestamps."""
    t_hold = mql_at.quantile(1 - holdout_fraction)
    t_cal = mql_at.quantile(1 - holdout_fraction - calibration_fraction)
    return np.where(mql_at >= t_hold, "holdout", np.where(mql_at >= t_cal, "calibration", "train"))


@dataclass
class TrainingResult:
    model: LeadScoreModel
    metrics: dict[str, dict[str, float]]  # scorer -> metric -> value, all on the holdout window
    comparisons: dict[str, dict]  # baseline -> model AUC minus baseline AUC, its 95% interval and verdict
    windows: dict[str, dict]  # window -> rows, SQLs, first and last MQL
    holdout_features: pd.DataFrame
    holdout_labels: np.ndarray
    holdout_proba: np.ndarray
    tier_cutoffs: dict[str, float]
    leak_suspects: list[dict]
    importance: pd.DataFrame
    best_iteration: int
    notes: list[str] = field(default_factory=list)


def _check_counts(y: np.ndarray, window: str, minimum: int) -> None:
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos < minimum or neg < minimum:
        raise TrainingDataError(
            f"the {window} window has {pos} SQLs and {neg} non-SQLs; at least {minimum} of each are needed. "
            "Provide a longer history, or lower the floor (LEADSCORE_TRAIN__MIN_CLASS_COUNT) knowing the "
            "figures get noisier."
        )


def fit_scorer(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    *,
    categorical: list[str],
    numeric: list[str],
    monotone: dict[str, int],
    params: TrainParams,
) -> tuple[LeadScoreModel, int]:
    """LightGBM with native categoricals, early stopping and Platt calibration on the calibration window."""
    categories = learn_categories(X_train, categorical)
    names = categorical + numeric
    M_train = to_matrix(X_train, categorical, numeric, categories)
    M_cal = to_matrix(X_cal, categorical, numeric, categories)
    lgb_params = {
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
        "num_threads": params.num_threads or auto_threads(len(X_train)),
    }
    train_set = lgb.Dataset(
        M_train,
        label=y_train,
        feature_name=names,
        categorical_feature=list(range(len(categorical))),
        free_raw_data=True,
    )
    cal_set = lgb.Dataset(M_cal, label=y_cal, reference=train_set)
    booster = lgb.train(
        lgb_params,
        train_set,
        num_boost_round=params.max_rounds,
        valid_sets=[cal_set],
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    booster.free_dataset()
    margin = booster.predict(M_cal, raw_score=True, num_iteration=booster.best_iteration)
    # Platt scaling on the margin: monotone, so calibration never reorders leads
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y_cal)
    best = int(booster.best_iteration or booster.current_iteration())
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    model = LeadScoreModel(
        categorical,
        numeric,
        categories,
        booster,
        (float(platt.coef_[0, 0]), float(platt.intercept_[0])),
        float(np.mean(y_train)),
    )
    return model, best


def single_feature_auc(X: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> pd.Series:
    """How well each column ranks the outcome on its own (max of AUC and 1-AUC)."""
    out = {}
    for c in X.columns:
        if c in categorical:
            key = X[c].astype("str").fillna("(missing)")
            score = key.map(pd.Series(y, index=X.index).groupby(key).mean()).to_numpy(dtype=float)
        else:
            v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
            score = np.where(np.isnan(v), np.nanmin(v) - 1 if np.isfinite(v).any() else 0.0, v)
        auc = roc_auc_score(y, score) if len(np.unique(score)) > 1 else 0.5
        out[c] = max(auc, 1 - auc)
    return pd.Series(out).sort_values(ascending=False)


def default_tier_cutoffs(proba: np.ndarray) -> dict[str, float]:
    """Score cut-offs (0-100) putting the top 10% / next 20% / next 30% of the window in A / B / C."""
    cum, out = 0.0, {}
    for tier, share in TIER_SHARES.items():
        cum += share
        out[tier] = round(float(np.quantile(proba, 1 - cum)) * 100, 1)
    return out


def train_and_evaluate(
    features: pd.DataFrame, labels: pd.DataFrame, *, config: DatasetConfig, params: TrainParams
) -> TrainingResult:
    """Train on the older mature leads and evaluate model and baselines on the newest window."""
    categorical, numeric = feature_columns(config)
    lab = labels.set_index("lead_id").loc[features.index]
    mature = (lab["state"] == "mature").to_numpy()
    X = features[mature]
    y = lab["label"].to_numpy()[mature].astype(int)
    mql = lab["mql_at"][mature]
    if len(X) == 0:
        raise TrainingDataError("no mature leads: every lead is younger than the horizon, nothing to learn from")
    split = time_split(mql, holdout_fraction=params.holdout_fraction, calibration_fraction=params.calibration_fraction)
    parts = {w: split == w for w in ("train", "calibration", "holdout")}
    for w, m in parts.items():
        _check_counts(y[m], w, params.min_class_count)
    windows = {
        w: {
            "rows": int(m.sum()),
            "sqls": int(y[m].sum()),
            "first_mql": str(mql[m].min()),
            "last_mql": str(mql[m].max()),
        }
        for w, m in parts.items()
    }

    monotone = {f: 1 for f in config.features.monotone_increasing} | {
        f: -1 for f in config.features.monotone_decreasing
    }
    unknown = sorted(set(monotone) - set(categorical + numeric))
    if unknown:
        raise ValueError(f"features.monotone_* names columns that are not features: {unknown}")
    model, best = fit_scorer(
        X[parts["train"]],
        y[parts["train"]],
        X[parts["calibration"]],
        y[parts["calibration"]],
        categorical=categorical,
        numeric=numeric,
        monotone=monotone,
        params=params,
    )
    Xh, yh = X[parts["holdout"]], y[parts["holdout"]]
    proba = model.predict_proba(Xh)

    lr = baselines.fit_logistic(X[parts["train"]], y[parts["train"]], categorical, numeric, params.seed)
    persona = baselines.persona_score(Xh, config.persona)
    scores = {
        "model": proba,
        "persona_rule": persona,
        "logistic_regression": baselines.predict_logistic(lr, Xh, categorical),
    }
    metrics = {name: evaluate(yh, s, probability=name != "persona_rule") for name, s in scores.items()}
    intervals, comparisons = bootstrap_auc(yh, scores, seed=params.seed)
    for name, (low, high) in intervals.items():
        metrics[name]["roc_auc_ci_low"], metrics[name]["roc_auc_ci_high"] = low, high
    persona_pass = persona == 1.0
    metrics["persona_rule"]["pass_rate"] = float(persona_pass.mean())
    metrics["persona_rule"]["sql_rate_passed"] = float(yh[persona_pass].mean()) if persona_pass.any() else 0.0
    metrics["persona_rule"]["capture_passed"] = float(yh[persona_pass].sum() / max(yh.sum(), 1))

    single = single_feature_auc(X[parts["train"]], y[parts["train"]], categorical)
    suspects = [{"feature": f, "auc_alone": round(float(a), 4)} for f, a in single.items() if a >= LEAK_AUC]
    notes = []
    if metrics["model"]["roc_auc"] >= LEAK_AUC:
        notes.append(
            f"model AUC {metrics['model']['roc_auc']:.3f} >= {LEAK_AUC}: suspect a leak; "
            f"strongest single columns: {', '.join(single.index[:3])}"
        )
    for s in suspects:
        notes.append(f"column '{s['feature']}' alone ranks the outcome with AUC {s['auc_alone']:.3f}: suspected leak")

    gain = model.booster.feature_importance(importance_type="gain")
    importance = pd.DataFrame(
        {"feature": model.features, "gain": gain, "auc_alone": single.reindex(model.features).to_numpy()}
    ).sort_values("gain", ascending=False, ignore_index=True)
    typical = X[parts["train"]][numeric].median().dropna().round(3).to_dict()
    model.extra.update(
        {"dataset_config": config.model_dump(mode="json", by_alias=True), "windows": windows, "typical": typical}
    )
    return TrainingResult(
        model=model,
        metrics=metrics,
        comparisons=comparisons,
        windows=windows,
        holdout_features=Xh,
        holdout_labels=yh,
        holdout_proba=proba,
        tier_cutoffs=default_tier_cutoffs(proba),
        leak_suspects=suspects,
        importance=importance,
        best_iteration=best,
        notes=notes,
    )
