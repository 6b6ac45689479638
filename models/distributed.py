"""Training on a Dask cluster with ``lightgbm.dask``, for a training table larger than one machine.

Optional: needs ``pip install 'leadscore[dask]'``; nothing imports this module unless ``train --dask`` asks.
It produces the same LeadScoreModel as ``models.train.train_and_evaluate`` (category codes, a plain
LightGBM booster, Platt calibration), so logging, registry, gate and scoring do not change. What is
computed the same way, and what differs:

- labels and windows: the same mature leads and the same time cuts (the ``mql_at`` quantiles of
  ``time_split``, computed exactly from the one ``mql_at`` column brought to the client);
- categories: one global value count over the training and calibration windows (``rank_categories``:
  the same list, equal counts included);
- the matrix: ``to_matrix`` on every partition;
- early stopping: the same rule (binary log loss on the calibration window, stop after
  ``early_stopping_rounds`` rounds without gain), by a callback that every worker evaluates on the whole
  calibration window, so all workers stop at the same round (LightGBM's Dask eval_set would give each
  worker only its own share);
- the trees: data-parallel LightGBM (each worker bins and histograms its own rows), so they are close
  to, not identical with, the single-process trees.

The calibration and holdout windows (15% of the mature leads each, by default) are brought to the
client and to every worker: Platt calibration, early stopping and the holdout metrics need them whole.
The leak audit, the logistic-regression baseline, the typical values and the drift reference read a
random sample of the training window (``SAMPLE_ROWS``), as the leak audit already does on one machine.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.build import feature_columns
from features.config import DatasetConfig
from models.fitting import calibrated_fit
from models.leaks import AUDIT_MAX_ROWS
from models.scorer import LeadScoreModel, as_text, rank_categories, to_matrix
from models.train import (
    Fitted,
    InsufficientData,
    TrainingDataError,
    TrainingResult,
    TrainParams,
    audit_export_fields,
    evaluate_model,
    lightgbm_params,
    minimum_data_shortfall,
    time_features,
)

INSTALL_HINT = "--dask needs the optional Dask extra: pip install 'leadscore[dask]'"
SAMPLE_ROWS = max(AUDIT_MAX_ROWS, 200_000)  # training rows brought to the client for the audit and baselines
WINDOWS = ("train", "calibration", "holdout")
# TrainParams' LightGBM names -> LGBMClassifier's names (the estimator's own defaults would win otherwise)
SKLEARN_NAMES = {
    "min_data_in_leaf": "min_child_samples",
    "feature_fraction": "colsample_bytree",
    "bagging_fraction": "subsample",
    "bagging_freq": "subsample_freq",
    "lambda_l2": "reg_lambda",
    "seed": "random_state",
}


class DaskMissing(ImportError):
    """``--dask`` without the optional extra installed."""


def require_dask() -> None:
    """Fail in one line when the Dask extra is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
        import lightgbm.dask  # noqa: F401
    except ImportError as exc:
        raise DaskMissing(INSTALL_HINT) from exc


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to stderr meanwhile, for this process and the worker processes it starts.

    LightGBM's network code prints its port bindings to stdout whatever its verbosity, in the workers
    that a LocalCluster starts (they inherit this process's stdout): ``--json`` keeps stdout for the summary.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def dask_client(address: str) -> Iterator:
    """A client of the scheduler at ``address``, or of a LocalCluster on this machine for ``local``."""
    require_dask()
    from distributed import Client, LocalCluster

    with stdout_to_stderr():
        if address == "local":
            # one thread per worker process: LightGBM runs its own threads; no dashboard port to collide on
            with (
                LocalCluster(threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR) as cluster,
                Client(cluster) as client,
            ):
                yield client
        else:
            with Client(address) as client:
                yield client


def training_table(features: pd.DataFrame, labels: pd.DataFrame, *, npartitions: int):
    """The feature table with each lead's ``mql_at``, state and label, as a Dask DataFrame indexed by lead_id.

    A table that does not fit one machine is read instead with ``dask.dataframe.read_parquet``: the same
    columns (features, ``mql_at``, ``state``, ``label``), partitioned as it was written.
    """
    import dask.dataframe as dd

    lab = labels.set_index("lead_id").loc[features.index, ["mql_at", "state", "label"]]
    return dd.from_pandas(features.join(lab), npartitions=npartitions, sort=False)


class CalibrationStopping:
    """Early stopping on the calibration window's binary log loss, as ``lgb.early_stopping`` does.

    Every worker holds the whole window and the same trees (data-parallel training shares every split),
    so every worker finds the same best round and stops at the same time. The margin is built one tree
    at a time, as LightGBM scores its own validation sets.
    """

    order = 30
    before_iteration = False

    def __init__(self, M: np.ndarray, y: np.ndarray, rounds: int) -> None:
        self.M, self.y, self.rounds = M, y.astype(np.float64), rounds

    def __call__(self, env) -> None:
        if env.iteration == env.begin_iteration:
            self.margin = np.zeros(len(self.y))
            self.best_loss, self.best_iter = np.inf, env.iteration
        self.margin += env.model.predict(self.M, raw_score=True, start_iteration=env.iteration, num_iteration=1)
        p = np.clip(1.0 / (1.0 + np.exp(-self.margin)), 1e-15, 1 - 1e-15)
        loss = float(-np.mean(self.y * np.log(p) + (1 - self.y) * np.log(1 - p)))
        if loss < self.best_loss:
            self.best_loss, self.best_iter = loss, env.iteration
        best = [("calibration", "binary_logloss", self.best_loss, False)]
        if env.iteration - self.best_iter >= self.rounds or env.iteration == env.end_iteration - 1:
            raise lgb.callback.EarlyStopException(self.best_iter, best)


def _window(part: pd.DataFrame, t_hold: pd.Timestamp, t_cal: pd.Timestamp) -> pd.Series:
    """The window of each mature lead, cut as ``models.train.time_split`` cuts them."""
    mql = part["mql_at"]
    out = np.where(mql >= t_hold, "holdout", np.where(mql >= t_cal, "calibration", "train"))
    return pd.Series(out, index=part.index, dtype=object)


def _matrix(part: pd.DataFrame, categorical: list[str], numeric: list[str], categories: dict) -> pd.DataFrame:
    M = to_matrix(part, categorical, numeric, categories)
    return pd.DataFrame(M, columns=categorical + numeric, index=part.index)


def _fit(client, X, y, lgb_params: dict, *, rounds: int, n_categorical: int, callbacks: list) -> lgb.Booster:
    """One ``DaskLGBMClassifier`` fit; the result as a plain booster."""
    from lightgbm.dask import DaskLGBMClassifier

    kwargs = {SKLEARN_NAMES.get(k, k): v for k, v in lgb_params.items() if k != "num_threads"}  # Dask sets it
    est = DaskLGBMClassifier(client=client, n_estimators=rounds, **kwargs)
    est.fit(X, y, categorical_feature=list(range(n_categorical)), callbacks=callbacks or None)
    return est.to_local().booster_


def train_and_evaluate_dask(
    table, *, config: DatasetConfig, params: TrainParams, client, sample_rows: int = SAMPLE_ROWS
) -> TrainingResult:
    """``models.train.train_and_evaluate`` on a Dask DataFrame (see ``training_table``), trained with lightgbm.dask.

    Segment models are not trained here: every lead is scored by the global model, and a note says so.
    """
    import dask

    if config.time == "none":
        raise TrainingDataError(
            "--dask needs MQL timestamps or row order (config time = 'timestamps' or 'row_order'): the random "
            "stratified split of an export without them is made on one machine; train without --dask"
        )
    categorical, numeric = feature_columns(config)
    mature = table[table["state"] == "mature"]
    mql = mature["mql_at"].compute()  # one timestamp per lead: the exact quantiles time_split cuts at
    if len(mql) == 0:
        raise InsufficientData(
            "no lead has a known outcome yet (all are younger than the horizon): no model this time, "
            "the persona rule stays in place"
        )
    numeric, left_out = time_features(numeric, mql)
    names = categorical + numeric
    hold = config.split.holdout_fraction or params.holdout_fraction
    cal = config.split.calibration_fraction or params.calibration_fraction
    t_hold, t_cal = mql.quantile(1 - hold), mql.quantile(1 - hold - cal)
    mature = mature.assign(window=mature.map_partitions(_window, t_hold, t_cal, meta=("window", object)))
    mature = mature.persist()

    stats = (
        mature.groupby("window")
        .agg({"label": ["count", "sum"], "mql_at": ["min", "max"]})
        .compute()
        .reindex(list(WINDOWS))
        .fillna({("label", "count"): 0, ("label", "sum"): 0})
    )
    counts = {w: (int(stats.loc[w, ("label", "count")]), int(stats.loc[w, ("label", "sum")])) for w in WINDOWS}
    shortfall = minimum_data_shortfall(counts, params.min_class_count)
    if shortfall is not None:
        raise InsufficientData(shortfall)
    windows = {
        w: {"rows": rows, "sqls": sqls, "sql_rate": round(sqls / rows, 4)}
        | (
            {"first_mql": str(stats.loc[w, ("mql_at", "min")]), "last_mql": str(stats.loc[w, ("mql_at", "max")])}
            if config.time == "timestamps"
            else {}
        )
        for w, (rows, sqls) in counts.items()
    }
    notes = [
        f"trained on a Dask cluster ({len(client.nthreads())} workers) with lightgbm.dask: "
        "data-parallel trees, close to but not identical with single-process training; the leak audit, the "
        f"logistic-regression baseline and the drift reference read a sample of at most {sample_rows:,} "
        "training rows",
        "no model search with --dask: the default LightGBM is the model (single-process training also tries "
        "more regularised LightGBM settings, a logistic regression and blends, chosen on the calibration window)",
    ] + ([left_out] if left_out else [])
    rates = [windows[w]["sql_rate"] for w in ("train", "holdout")]
    if max(rates) > 1.5 * max(min(rates), 1e-9):
        notes.append(
            f"the SQL rate moved from {rates[0]:.1%} (training) to {rates[1]:.1%} (holdout): the newest "
            "leads differ from the history, expect calibration to lag"
        )
    if config.segments:
        notes.append("segment models are not trained with --dask: the global model scores every lead")

    # categories as learn_categories finds them: one value count over the training and calibration windows
    learned = mature[mature["window"] != "holdout"]
    value_counts = dask.compute(*[learned[c].map_partitions(as_text).value_counts() for c in categorical])
    categories = {c: rank_categories(vc) for c, vc in zip(categorical, value_counts, strict=True)}

    n_train = counts["train"][0]
    train = mature[mature["window"] == "train"]
    train_sample, cal_df, hold_df = dask.compute(
        train.sample(frac=min(1.0, sample_rows / n_train), random_state=params.seed),
        mature[mature["window"] == "calibration"],
        mature[mature["window"] == "holdout"],
    )
    X_tr, y_tr = train_sample[names], train_sample["label"].to_numpy(dtype=int)
    X_cal, y_cal = cal_df[names], cal_df["label"].to_numpy(dtype=int)
    Xh, yh = hold_df[names], hold_df["label"].to_numpy(dtype=int)

    audit = audit_export_fields(X_tr, y_tr, X_cal, y_cal, config=config, seed=params.seed, numeric=numeric)

    monotone = {f: 1 for f in config.features.monotone_increasing} | {
        f: -1 for f in config.features.monotone_decreasing
    }
    lgb_params = lightgbm_params(params, names, monotone, rows=n_train)
    meta = pd.DataFrame({n: pd.Series(dtype="float64") for n in names})
    M_cal = to_matrix(X_cal, categorical, numeric, categories)
    booster = _fit(
        client,
        train.map_partitions(_matrix, categorical, numeric, categories, meta=meta),
        train["label"].astype(int),
        lgb_params,
        rounds=params.max_rounds,
        n_categorical=len(categorical),
        callbacks=[CalibrationStopping(M_cal, y_cal, params.early_stopping_rounds)],
    )
    both = mature[mature["window"] != "holdout"]
    booster, best, platt = calibrated_fit(  # the one calibrated fit of both paths: Platt never reverses the order
        booster,
        M_cal,
        y_cal,
        refit=params.refit,
        retrain=lambda rounds: _fit(
            client,
            both.map_partitions(_matrix, categorical, numeric, categories, meta=meta),
            both["label"].astype(int),
            lgb_params,
            rounds=rounds,
            n_categorical=len(categorical),
            callbacks=[],
        ),
    )
    base_rate = counts["train"][1] / n_train
    model = LeadScoreModel(
        categorical,
        numeric,
        categories,
        booster,
        platt,
        float(base_rate),
    )

    fitted = Fitted(model, audit, X_tr, y_tr, X_cal, Xh, yh, windows, notes, best)
    return evaluate_model(fitted, config=config, params=params, extra={"trained_with": "lightgbm.dask"}, sampled=True)


def train_on_cluster(
    features: pd.DataFrame, labels: pd.DataFrame, *, config: DatasetConfig, params: TrainParams, address: str
) -> TrainingResult:
    """Train from in-memory features and labels on the cluster at ``address`` (or ``local``): what
    ``leadscore train --dask`` runs; one partition per worker."""
    with dask_client(address) as client:
        workers = max(1, len(client.nthreads()))
        table = training_table(features, labels, npartitions=workers)
        return train_and_evaluate_dask(table, config=config, params=params, client=client)
