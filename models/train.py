"""Labels, time-based split, model candidates with calibration, and the evaluation against baselines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from features.build import feature_columns
from features.config import DatasetConfig, Segments
from features.names import display_names
from models import baselines
from models.candidates import Search, candidate_holdout
from models.fitting import (  # noqa: F401  (lightgbm_params: models/distributed.py imports it from here)
    PLATT_MIN_SLOPE,
    auto_threads,
    fit_candidates,
    fit_scorer,
    lightgbm_params,
    platt_scaling,
)
from models.leaks import field_audit, flag_time_proxies, stop_if_leaking, time_proxies, weight_shares
from models.metrics import compare_scorers, fast_auc
from models.reference import reference_profile
from models.scorer import LeadScoreModel, as_text

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
    min_class_count: int = Field(40, ge=1, description="fewest SQLs and non-SQLs with a known outcome to train")
    refit: bool = Field(False, description="after early stopping, refit on training + calibration windows")
    seed: int = 42
    num_threads: int = Field(0, ge=0, description="0 = auto: one thread per 50k training rows, up to the cores")
    logistic_max_rows: int = Field(
        100_000,
        ge=1_000,
        description="the logistic-regression baseline is fitted on at most this many training-window rows "
        "(a random sample, SQL rate kept); its ~100 coefficients do not gain from more",
    )
    search_budget_seconds: float = Field(
        120,
        ge=0,
        description="seconds the model search may spend: the default LightGBM and the logistic regression are "
        "always fitted, the other candidates (more regularised LightGBM settings, other C) only while it lasts",
    )


class TrainingDataError(ValueError):
    """Not enough mature, labelled leads to train and evaluate honestly."""


class InsufficientData(TrainingDataError):
    """Below the minimum-data floor: no model this time; the persona rule stays in place."""


MIN_PER_WINDOW = 5  # below this an evaluation window's figures mean nothing, whatever the floor


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


def labels_for(leads: pd.DataFrame, config: DatasetConfig, as_of: pd.Timestamp) -> pd.DataFrame:
    """Labels as the dataset config defines the outcome: an SQL date within the horizon, or a status/flag."""
    if config.outcome.kind == "sql_date":
        return label_leads(leads, horizon_days=config.horizon_days, as_of=as_of)
    known = leads["outcome"].notna().to_numpy()
    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "mql_at": leads["mql_at"].to_numpy(),
            "state": np.where(known, "mature", "open"),
            "label": np.where(known, leads["outcome"].fillna(-1).to_numpy(), -1).astype(int),
        }
    )


def stratified_split(y: np.ndarray, *, holdout_fraction: float, calibration_fraction: float, seed: int) -> np.ndarray:
    """A random split keeping the SQL rate in each part: for exports with no notion of time (optimistic)."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=object)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_hold, n_cal = round(len(idx) * holdout_fraction), round(len(idx) * calibration_fraction)
        out[idx[:n_hold]] = "holdout"
        out[idx[n_hold : n_hold + n_cal]] = "calibration"
        out[idx[n_hold + n_cal :]] = "train"
    return out.astype(str)


def time_split(mql_at: pd.Series, *, holdout_fraction: float, calibration_fraction: float) -> np.ndarray:
    """'train' (oldest), 'calibration', 'holdout' (newest) by MQL time, cut on timestamps."""
    t_hold = mql_at.quantile(1 - holdout_fraction)
    t_cal = mql_at.quantile(1 - holdout_fraction - calibration_fraction)
    return np.where(mql_at >= t_hold, "holdout", np.where(mql_at >= t_cal, "calibration", "train"))


def evaluation_split(mql_at: pd.Series, y: np.ndarray, *, config: DatasetConfig, params: TrainParams) -> np.ndarray:
    """The windows of the mature leads ('train', 'calibration', 'holdout'), as training cuts them.

    The dataset config's split fractions override the settings'; without timestamps the split is
    stratified (and optimistic). ``leadscore report`` and ``thresholds propose`` call this too, so the
    validation window they rebuild from the same export is the one the model was evaluated on.
    """
    hold = config.split.holdout_fraction or params.holdout_fraction
    cal = config.split.calibration_fraction or params.calibration_fraction
    if config.time == "none":
        return stratified_split(y, holdout_fraction=hold, calibration_fraction=cal, seed=params.seed)
    return time_split(mql_at, holdout_fraction=hold, calibration_fraction=cal)


@dataclass(frozen=True)
class MatureLeads:
    """The leads with a known outcome (features ``X``, labels ``y``, MQL moments) and the window training puts
    each in (``split``: train, calibration or holdout; empty when no lead is mature)."""

    X: pd.DataFrame
    y: np.ndarray
    mql_at: pd.Series
    split: np.ndarray


def mature_leads(
    features: pd.DataFrame, labels: pd.DataFrame, *, config: DatasetConfig, params: TrainParams
) -> MatureLeads:
    """The mature leads of an export cut into training's windows (``evaluation_split``): what training fits and
    evaluates on, and what a review rebuilds a model's validation window (the holdout) from."""
    lab = labels.set_index("lead_id").loc[features.index]
    mature = (lab["state"] == "mature").to_numpy()
    X, y, mql_at = features[mature], lab["label"].to_numpy()[mature].astype(int), lab["mql_at"][mature]
    split = evaluation_split(mql_at, y, config=config, params=params) if len(X) else np.array([], dtype=object)
    return MatureLeads(X, y, mql_at, split)


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
    audit: pd.DataFrame  # every candidate column's leak evidence, most suspicious first
    importance: pd.DataFrame  # feature (id), label (the export's words), gain, auc_alone; most gain first
    best_iteration: int
    notes: list[str] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)  # one record per segment: own model or global fallback
    min_class_count: int | None = None  # the minimum-data floor it was checked against (the gate re-checks it)
    model_choice: dict = field(default_factory=dict)  # the search's choice, candidates tried, seconds, budget
    candidates: list[dict] = field(default_factory=list)  # each candidate: calibration and holdout AUC
    # seconds by part: the final fit (the shipped booster's own fit, cut and calibration), the rest of the model
    # search, the leak audit, the evaluation (holdout metrics, bootstrap intervals, baselines, drift reference)
    timings: dict[str, float] = field(default_factory=dict)
    final_fit: dict = field(default_factory=dict)  # the shipped booster's candidate, settings, rounds (the search's)


def minimum_data_shortfall(counts: dict[str, tuple[int, int]], floor: int) -> str | None:
    """Why there is too little history to train, from (rows, SQLs) per window, or None if there is enough."""
    pos = sum(sqls for _, sqls in counts.values())
    neg = sum(rows for rows, _ in counts.values()) - pos
    thin = [w for w, (rows, sqls) in counts.items() if min(sqls, rows - sqls) < MIN_PER_WINDOW]
    if pos >= floor and neg >= floor and not thin:
        return None
    where = f"; the {', '.join(thin)} window(s) have fewer than {MIN_PER_WINDOW} of one class" if thin else ""
    return (
        f"not enough history to train: {pos} SQLs and {neg} non-SQLs with a known outcome; at least {floor} "
        f"of each are needed (several hundred recommended){where}. No model this time: the persona rule stays "
        "in place. (The floor is LEADSCORE_TRAIN__MIN_CLASS_COUNT.)"
    )


def check_minimum_data(y: np.ndarray, parts: dict[str, np.ndarray], floor: int) -> None:
    """Stop, keeping the persona rule, below the floor of SQLs and non-SQLs with a known outcome."""
    message = minimum_data_shortfall({w: (int(m.sum()), int(y[m].sum())) for w, m in parts.items()}, floor)
    if message is not None:
        raise InsufficientData(message)


def default_tier_cutoffs(proba: np.ndarray) -> dict[str, float]:
    """Score cut-offs (0-100) putting the top 10% / next 20% / next 30% of the window in A / B / C."""
    cum, out = 0.0, {}
    for tier, share in TIER_SHARES.items():
        cum += share
        out[tier] = round(float(np.quantile(proba, 1 - cum)) * 100, 1)
    return out


def train_and_evaluate(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    config: DatasetConfig,
    params: TrainParams,
    logistic: bool = True,
) -> TrainingResult:
    """Train on the older mature leads and evaluate model and baselines on the newest window.

    The model is chosen among candidates on the calibration window (``fit_candidates``: tuned on its older
    half, compared on its newer half, calibrated on all of it). ``logistic=False``
    skips the search and the logistic-regression baseline: the default LightGBM alone, as the back-test,
    which replays many weeks and reports only the persona rule, uses it.
    """
    t_start = time.perf_counter()
    categorical, numeric = feature_columns(config)
    leads = mature_leads(features, labels, config=config, params=params)
    X, y, mql, split = leads.X, leads.y, leads.mql_at, leads.split
    if len(X) == 0:
        raise InsufficientData(
            "no lead has a known outcome yet (all are younger than the horizon): no model this time, "
            "the persona rule stays in place"
        )
    numeric, left_out = time_features(numeric, mql)
    notes = [left_out] if left_out else []
    if config.time == "none":
        notes.append(
            "no timestamps: a random stratified split; the figures are optimistic, as if the future "
            "looked like the past"
        )
    parts = {w: split == w for w in ("train", "calibration", "holdout")}
    check_minimum_data(y, parts, params.min_class_count)
    windows = {
        w: {"rows": int(m.sum()), "sqls": int(y[m].sum()), "sql_rate": round(float(y[m].mean()), 4)}
        | ({"first_mql": str(mql[m].min()), "last_mql": str(mql[m].max())} if config.time == "timestamps" else {})
        for w, m in parts.items()
    }
    rates = [windows[w]["sql_rate"] for w in ("train", "holdout")]
    if config.time != "none" and max(rates) > 1.5 * max(min(rates), 1e-9):
        notes.append(
            f"the SQL rate moved from {rates[0]:.1%} (training) to {rates[1]:.1%} (holdout): the newest "
            "leads differ from the history, expect calibration to lag"
        )

    X_tr, y_tr = X[parts["train"]], y[parts["train"]]
    X_cal, y_cal = X[parts["calibration"]], y[parts["calibration"]]
    t = time.perf_counter()
    audit = audit_export_fields(X_tr, y_tr, X_cal, y_cal, config=config, seed=params.seed, numeric=numeric)
    timings = {"leak_audit_s": time.perf_counter() - t}

    monotone = {f: 1 for f in config.features.monotone_increasing} | {
        f: -1 for f in config.features.monotone_decreasing
    }
    fit = dict(categorical=categorical, numeric=numeric, monotone=monotone, params=params)
    found = None
    t = time.perf_counter()
    if logistic:
        mql_cal = None if config.time == "none" else mql[parts["calibration"]]  # row order: mql_at is the order
        model, best, found = fit_candidates(X_tr, y_tr, X_cal, y_cal, **fit, mql_cal=mql_cal)
    else:
        model, best = fit_scorer(X_tr, y_tr, X_cal, y_cal, **fit)
    fitting_s = time.perf_counter() - t
    timings["final_fit_s"] = found.final_fit["seconds"] if found is not None else fitting_s
    timings["search_s"] = fitting_s - timings["final_fit_s"]  # the other candidates, the matrices, the margins
    if model.calibration[0] <= PLATT_MIN_SLOPE:
        notes.append(
            "the chosen model ranks the calibration window backwards as a whole (the SQL rate or the columns' "
            "relation to it changed inside the window): calibration keeps its order but flattens every score "
            "to the window's SQL rate; read its holdout figures with care"
        )
    Xh, yh = X[parts["holdout"]], y[parts["holdout"]]
    segment_records = []
    t = time.perf_counter()
    if config.segments:
        segment_records = train_segments(model, X, y, parts, config.segments, fit)
    timings["segments_s"] = time.perf_counter() - t
    fitted = Fitted(model, audit, X_tr, y_tr, X_cal, Xh, yh, windows, notes, best)
    t = time.perf_counter()
    result = evaluate_model(
        fitted, config=config, params=params, logistic=logistic, segment_records=segment_records, search=found
    )
    timings["evaluation_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t_start
    result.timings = {k: round(v, 3) for k, v in timings.items()}
    result.final_fit = found.final_fit if found is not None else {}
    return result


MONTH_HISTORY_DAYS = 730  # month of year needs two full years, or it stands in for the year itself


def time_features(numeric: list[str], mql: pd.Series) -> tuple[list[str], str | None]:
    """The numeric features without those that encode time itself when the labelled history is too short
    to support them, and a note saying what was left out (None when nothing was).

    With one year of history ``mql_month`` tells the newest months (the holdout's, never seen in training)
    from the oldest: it measures the year, not a season. The feature table keeps the column; the model's own
    feature list leaves it out, so scoring follows.
    """
    if "mql_month" not in numeric or len(mql) == 0:
        return numeric, None
    span = int((mql.max() - mql.min()).days)
    if span >= MONTH_HISTORY_DAYS:
        return numeric, None
    return [c for c in numeric if c != "mql_month"], (
        f"mql_month (month of the MQL) left out of the model: the labelled history spans {span} days, less "
        f"than two full years ({MONTH_HISTORY_DAYS}), so the month would stand in for the year itself"
    )


def audit_export_fields(
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    X_cal: pd.DataFrame,
    y_cal: np.ndarray,
    *,
    config: DatasetConfig,
    seed: int,
    numeric: list[str] | None = None,
) -> pd.DataFrame:
    """The leak audit of the columns that come from the export; stops the run (LeakSuspected) on an alarm.

    ``numeric``: the model's numeric features when they differ from the config's (``time_features``).
    """
    categorical, all_numeric = feature_columns(config)
    numeric = all_numeric if numeric is None else numeric
    sources = {a.name: a.source for a in config.attributes}
    # derived from an export column: named with that column as the export writes it ("seniority (from Job Title)")
    labels = display_names(config)
    sources |= {c: labels[c] for c in ("seniority", "email_type") if c in labels}
    from_export = config.names_with_role("categorical") + config.names_with_role("numeric")
    from_export += [c for c in ("seniority", "email_type") if c in categorical]
    audit = field_audit(
        X_tr,
        y_tr,
        X_cal,
        y_cal,
        categorical=categorical,
        numeric=numeric,
        candidates=from_export,
        sources=sources,
        seed=seed,
    )
    stop_if_leaking(audit)  # before the expensive part
    return audit


@dataclass(frozen=True)
class Fitted:
    """A fitted model with what ``evaluate_model`` reads: the leak audit, the training window (with Dask, a
    sample of it), the calibration window, the holdout, the windows' facts (``TrainingResult.windows``), the
    notes so far and the best round."""

    model: LeadScoreModel
    audit: pd.DataFrame
    X_tr: pd.DataFrame
    y_tr: np.ndarray
    X_cal: pd.DataFrame
    Xh: pd.DataFrame
    yh: np.ndarray
    windows: dict
    notes: list[str]
    best: int


def evaluate_model(
    fitted: Fitted,
    *,
    config: DatasetConfig,
    params: TrainParams,
    logistic: bool = True,
    segment_records: list[dict] | None = None,
    extra: dict | None = None,
    sampled: bool = False,
    search: Search | None = None,
) -> TrainingResult:
    """The model against the baselines on the holdout, its importance and drift reference: the part of
    training after the fit, shared by the single-process and the Dask paths (``sampled``: X_tr is a sample
    of the training window). With ``search`` (the model search), each candidate's holdout AUC is reported
    and the logistic-regression baseline is the search's logistic candidate, the one that could ship."""
    model, audit, notes, best = fitted.model, fitted.audit, fitted.notes, fitted.best
    X_tr, y_tr, X_cal, Xh, yh, windows = fitted.X_tr, fitted.y_tr, fitted.X_cal, fitted.Xh, fitted.yh, fitted.windows
    categorical, numeric = model.categorical, model.numeric
    proba = model.predict_proba(Xh)
    stop_if_leaking(audit, model_auc=fast_auc(yh, proba))

    persona = baselines.persona_score(Xh, config.persona)
    scores = {"model": proba, "persona_rule": persona}
    candidates, choice = [], {}
    if search is not None:
        candidates, linear_margin = candidate_holdout(search, model.matrix(Xh), yh)
        scores["logistic_regression"] = 1.0 / (1.0 + np.exp(-linear_margin))
        choice = search.summary()
        skipped = choice["skipped"]
        notes.append(
            f"model chosen on {choice['compared_on']}: {choice['chosen']} (AUC there "
            f"{choice['calibration_auc']:.3f}) among {choice['tried']} candidates tried in {choice['seconds']:.0f} s"
            + (f"; not tried (time budget {choice['budget_s']:g} s): {', '.join(skipped)}" if skipped else "")
        )
    elif logistic:
        rows = baselines.sample_rows(y_tr, params.logistic_max_rows, params.seed)
        lr = baselines.fit_logistic(X_tr.iloc[rows], y_tr[rows], categorical, numeric, params.seed)
        scores["logistic_regression"] = baselines.predict_logistic(lr, Xh, categorical)
    if model.segments:
        scores["global_model"] = model.global_proba(Xh)
    if segment_records:
        segment_records = segment_holdout(model, Xh, yh, segment_records)
    metrics, comparisons = compare_scorers(yh, scores, seed=params.seed)

    gain = model.booster.feature_importance(importance_type="gain")
    alone = audit.set_index("feature")["auc_alone"]
    shares = weight_shares(model, X_cal)  # the booster's gain share, or the shipped logistic/blend's weight
    importance = pd.DataFrame(
        {
            "feature": model.features,
            "gain": gain,
            "weight_share": shares.reindex(model.features).to_numpy(),
            "auc_alone": alone.reindex(model.features).to_numpy(),
        }
    ).sort_values(["weight_share", "gain"], ascending=False, ignore_index=True)
    # the export's words beside each id: MLflow's importance table is read by people
    labels = display_names(config)
    importance.insert(1, "label", [labels.get(f, f) for f in importance["feature"]])
    if config.time != "none":
        proxies = time_proxies(X_tr, pd.concat([X_cal, Xh]), shares, categorical, params.seed)
        audit, flagged = flag_time_proxies(audit, proxies, config)
        notes.extend(flagged)
    typical = X_tr[numeric].median().dropna().round(3).to_dict()
    # what scored batches are compared with: the window the booster learned from, and the holdout's scores
    learned = pd.concat([X_tr, X_cal]) if params.refit else X_tr
    drift_reference = reference_profile(
        learned,
        proba,
        categorical=categorical,
        numeric=numeric,
        features_by_gain=importance["feature"].tolist(),
        window=("training and calibration" if params.refit else "training") + (" (sample)" if sampled else ""),
    )
    model.extra.update(
        {
            "dataset_config": config.model_dump(mode="json", by_alias=True),
            "windows": windows,
            "typical": typical,
            "drift_reference": drift_reference,
        }
        | (extra or {})
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
        audit=audit,
        importance=importance,
        best_iteration=best,
        notes=notes,
        segments=segment_records or [],
        min_class_count=params.min_class_count,
        model_choice=choice,
        candidates=candidates,
    )


def train_segments(
    model: LeadScoreModel,
    X: pd.DataFrame,
    y: np.ndarray,
    parts: dict[str, np.ndarray],
    segments: Segments,
    fit: dict,
) -> list[dict]:
    """Fit one model per segment that passes the minimum-data check; attach them to the global ``model``.

    Each segment model is trained and early-stopped on its own leads of the same training and
    calibration windows, with the global model's category codes. A segment keeps the global model, and
    its record says why, when it is below the floor or when its own model does not beat the global one
    on its calibration-window leads (both models chose their rounds there; the holdout stays untouched).
    """
    by = segments.by
    values = as_text(X[by])
    mapping = segments.value_map() or {v: v for v in values.dropna().unique()}
    seg = values.map(mapping).to_numpy()
    records = []
    for name in sorted({n for n in mapping.values()}):
        rows = seg == name
        record = {"segment": name, "values": sorted(v for v, n in mapping.items() if n == name)}
        record |= {f"{w}_rows": int((rows & m).sum()) for w, m in parts.items()}
        try:
            check_minimum_data(y[rows], {w: m[rows] for w, m in parts.items()}, fit["params"].min_class_count)
        except InsufficientData:
            pos, floor = int(y[rows].sum()), fit["params"].min_class_count
            neg = int(rows.sum()) - pos
            why = f"below the minimum-data floor: {pos} SQLs, {neg} non-SQLs (at least {floor} each)"
            if min(pos, neg) >= floor:
                why = f"below the minimum-data floor: a window has fewer than {MIN_PER_WINDOW} SQLs or non-SQLs"
            records.append(record | {"model": "global", "why": why})
            continue
        tr, cal = rows & parts["train"], rows & parts["calibration"]
        child, best = fit_scorer(X[tr], y[tr], X[cal], y[cal], categories=model.categories, **fit)
        own, glob = fast_auc(y[cal], child.predict_proba(X[cal])), fast_auc(y[cal], model.global_proba(X[cal]))
        record |= {"calibration_auc": round(own, 4), "calibration_auc_global": round(glob, 4)}
        if own <= glob:
            why = f"own model not better on its calibration leads (AUC {own:.3f} vs {glob:.3f} global)"
            records.append(record | {"model": "global", "why": why})
            continue
        model.segments[name] = child
        records.append(record | {"model": "own", "best_iteration": best})
    model.segment_by = by
    model.segment_values = {v: n for v, n in mapping.items() if n in model.segments}
    return records


def segment_holdout(model: LeadScoreModel, Xh: pd.DataFrame, yh: np.ndarray, records: list[dict]) -> list[dict]:
    """Each segment's holdout AUC with the segmented model and with the global model alone."""
    values = as_text(Xh[model.segment_by])
    routed, alone = model.predict_proba(Xh), model.global_proba(Xh)
    out = []
    for record in records:
        rows = values.isin(record["values"]).to_numpy()
        both = rows.any() and 0 < yh[rows].sum() < rows.sum()
        out.append(
            record
            | {
                "holdout_sqls": int(yh[rows].sum()),
                "holdout_auc": round(fast_auc(yh[rows], routed[rows]), 4) if both else None,
                "holdout_auc_global": round(fast_auc(yh[rows], alone[rows]), 4) if both else None,
            }
        )
    return out
