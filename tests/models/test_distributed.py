"""`train --dask`: lightgbm.dask on a LocalCluster against single-process training on the same leads.

Distributed LightGBM is not bit-identical to one process (each worker bins and histograms its own rows),
so with two workers the test compares what must match: windows, labels, categories, holdout AUC within a
tolerance, highly correlated scores, and the normal registry and scoring path. With one worker and one
partition the trees must be the single-process trees exactly.
"""

from __future__ import annotations

import logging
import sys

import lightgbm as lgb
import numpy as np
import pytest

pytest.importorskip("distributed")

from features.build import build_features  # noqa: E402
from models import tracking as trk  # noqa: E402
from models.distributed import CalibrationStopping, train_and_evaluate_dask, training_table  # noqa: E402
from models.metrics import fast_auc  # noqa: E402
from models.scorer import LeadScoreModel, learn_categories, rank_categories  # noqa: E402
from models.train import TrainParams, default_as_of, label_leads, train_and_evaluate  # noqa: E402
from serving.score import score_leads  # noqa: E402

# fewer rounds than the defaults (same for both paths): the cluster's per-round network sync costs time here
PARAMS = TrainParams(learning_rate=0.15, early_stopping_rounds=20, num_threads=1)


@pytest.fixture(scope="module")
def data(canonical, config):
    leads, acts = canonical
    feats = build_features(leads, acts, config=config)
    return feats, label_leads(leads, horizon_days=30, as_of=default_as_of(leads, acts))


@pytest.fixture(scope="module")
def single(data, config):
    feats, lab = data
    # the default LightGBM alone, as --dask trains it (no model search there)
    return train_and_evaluate(feats, lab, config=config, params=PARAMS, logistic=False)


@pytest.fixture(scope="module")
def client():
    """One LocalCluster of two worker processes for the module (a few seconds to start)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR) as lc,
        Client(lc) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def one_worker(client, data, config):
    """One partition: one worker holds all the rows, so LightGBM trains on one machine."""
    feats, lab = data
    table = training_table(feats, lab, npartitions=1)
    return train_and_evaluate_dask(table, config=config, params=PARAMS, client=client)


@pytest.fixture(scope="module")
def two_workers(client, data, config):
    feats, lab = data
    table = training_table(feats, lab, npartitions=2)
    return train_and_evaluate_dask(table, config=config, params=PARAMS, client=client)


def trees(model: LeadScoreModel) -> list:
    return model.booster.dump_model()["tree_info"]


def test_one_worker_and_one_partition_give_the_single_process_trees(single, one_worker):
    assert "[num_machines: 2]" not in one_worker.model.booster.model_to_string()
    assert one_worker.windows == single.windows
    assert one_worker.model.categories == single.model.categories
    assert one_worker.best_iteration == single.best_iteration
    assert trees(one_worker.model) == trees(single.model)
    assert one_worker.model.calibration == pytest.approx(single.model.calibration, abs=1e-9)
    assert one_worker.metrics["model"]["roc_auc"] == pytest.approx(single.metrics["model"]["roc_auc"], abs=1e-12)


def test_two_workers_train_data_parallel_close_to_single_process(single, two_workers):
    assert "[num_machines: 2]" in two_workers.model.booster.model_to_string()  # both workers trained
    assert two_workers.windows == single.windows  # same mature leads, same time cuts, same labels
    assert np.array_equal(two_workers.holdout_labels, single.holdout_labels)
    assert two_workers.holdout_features.index.equals(single.holdout_features.index)
    assert two_workers.model.categories == single.model.categories
    assert two_workers.model.features == single.model.features
    auc_two, auc_one = two_workers.metrics["model"]["roc_auc"], single.metrics["model"]["roc_auc"]
    assert abs(auc_two - auc_one) < 0.02, (auc_two, auc_one)
    both = single.holdout_features
    # 0.94-0.95 measured since mql_month left the one-year model (it stopped in 30-odd rounds with it, ~70 without)
    assert np.corrcoef(single.model.predict_proba(both), two_workers.model.predict_proba(both))[0, 1] > 0.92
    # the persona rule and the holdout do not depend on how the model was trained
    assert two_workers.metrics["persona_rule"] == single.metrics["persona_rule"]
    assert any("lightgbm.dask" in n for n in two_workers.notes)


def test_the_dask_model_saves_loads_and_scores_the_sdr_list(two_workers, canonical, data, tmp_path):
    loaded = LeadScoreModel.load(two_workers.model.save(tmp_path / "model"))
    feats, _ = data
    assert np.array_equal(loaded.predict_proba(feats), two_workers.model.predict_proba(feats))
    leads, _ = canonical
    scored = score_leads(loaded, feats, leads, cutoffs=two_workers.tier_cutoffs, model_version="1", pii_columns=[])
    assert len(scored) == len(feats) and scored["tier"].isin(list("ABCD")).all()


@pytest.mark.slow
def test_the_dask_model_registers_through_the_normal_path(two_workers, tmp_path):
    tracking = trk.Tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "e", "lead-scoring", tmp_path / "artifacts")
    run_id, uri = trk.log_training(tracking, two_workers, params=PARAMS.model_dump(), data_facts={"dataset": "t"})
    version = trk.register(tracking, uri, run_id, two_workers, by="test", dataset="t")
    loaded = trk.load_scorer(tracking, f"models:/lead-scoring/{version}")
    assert fast_auc(two_workers.holdout_labels, loaded.predict_proba(two_workers.holdout_features)) == (
        pytest.approx(two_workers.metrics["model"]["roc_auc"])
    )


@pytest.mark.slow
def test_train_dask_local_end_to_end(prefect_api_url, export_files, tmp_path):
    """`leadscore train --dask local --json`: its own LocalCluster, the usual log, register and gate, and a
    stdout that holds only the JSON summary (the workers' LightGBM prints go to stderr)."""
    import json
    import os
    import subprocess
    from pathlib import Path

    from mlflow import MlflowClient

    leads, acts = export_files
    exe = Path(sys.executable).with_name("leadscore")
    root = str(Path(__file__).resolve().parents[2])  # this checkout's code, whatever is installed
    env = os.environ | {
        "LEADSCORE_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "PYTHONPATH": root,
        "PREFECT_API_URL": prefect_api_url,  # the session's server: no ephemeral one to wait for
    }
    args = [str(exe), "train", "--leads", str(leads), "--activities", str(acts), "--workspace", str(tmp_path)]
    out = subprocess.run([*args, "--dask", "local", "--json"], capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    s = json.loads(out.stdout)
    assert s["status"] == "ok" and any("lightgbm.dask" in n for n in s["notes"])
    assert s["gate"]["promoted"]  # the first model becomes champion, as without --dask
    champion = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_model_version_by_alias(
        "lead-scoring", "champion"
    )
    assert str(champion.version) == s["mlflow"]["model"].rsplit("/", 1)[1]


def test_calibration_stopping_stops_where_lightgbm_early_stopping_does(data, config):
    feats, lab = data
    rng = np.random.default_rng(0)
    M = rng.normal(size=(3000, 5))
    y = (M[:, 0] + rng.normal(size=3000) > 0.8).astype(int)
    params = {"objective": "binary", "learning_rate": 0.3, "num_leaves": 31, "verbosity": -1, "num_threads": 1}
    train, valid = lgb.Dataset(M[:2000], y[:2000]), lgb.Dataset(M[2000:], y[2000:])
    ours = lgb.train(params, train, 300, callbacks=[CalibrationStopping(M[2000:], y[2000:], 10)])
    theirs = lgb.train(params, train, 300, valid_sets=[valid], callbacks=[lgb.early_stopping(10, verbose=False)])
    assert ours.best_iteration == theirs.best_iteration < 300
    assert ours.current_iteration() == theirs.current_iteration()


def test_equal_counts_rank_alphabetically_whatever_the_row_order():
    import pandas as pd

    X = pd.DataFrame({"c": ["b", "a", "c", "b", "a", "d"]})
    assert learn_categories(X, ["c"]) == {"c": ["a", "b", "c", "d"]}
    assert learn_categories(X.iloc[::-1], ["c"]) == {"c": ["a", "b", "c", "d"]}
    assert rank_categories(pd.Series({"z": 5, "y": 1, "x": 1})) == ["z", "x", "y"]


def test_dask_without_the_extra_says_what_to_install_in_one_line(monkeypatch, export_files):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails, as without the extra
    leads, acts = export_files
    out = CliRunner().invoke(app, ["train", "--leads", str(leads), "--dask", "local"])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert lines == ["Error: --dask needs the optional Dask extra: pip install 'leadscore[dask]'"]


def test_too_little_history_stops_as_on_one_machine(client, data, config):
    from models.train import InsufficientData

    feats, lab = data
    floor = PARAMS.model_copy(update={"min_class_count": 100_000})
    with pytest.raises(InsufficientData, match="not enough history to train"):
        train_and_evaluate_dask(training_table(feats, lab, npartitions=2), config=config, params=floor, client=client)


def test_an_export_without_time_is_refused_with_the_way_out(data, config):
    from models.train import TrainingDataError

    feats, lab = data
    timeless = config.model_copy(update={"time": "none"})
    with pytest.raises(TrainingDataError, match="train without --dask"):
        train_and_evaluate_dask(training_table(feats, lab, npartitions=2), config=timeless, params=PARAMS, client=None)
