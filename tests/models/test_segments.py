"""Segments: one model per segment where it passes the minimum-data check and beats the global model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.config import ConfigError, DatasetConfig, Segments, parse_config
from models.scorer import LeadScoreModel
from models.train import TrainParams, default_as_of, fit_scorer, labels_for, train_and_evaluate, train_segments

PARAMS = TrainParams(num_threads=1)
NUMERIC = [f"x{i}" for i in range(10)]


def _with_segments(config: DatasetConfig, segments: dict) -> DatasetConfig:
    return DatasetConfig.model_validate(config.model_dump(by_alias=True) | {"segments": segments})


def test_segments_must_name_a_categorical_feature(config):
    data = config.model_dump(by_alias=True) | {"segments": {"by": "job_title"}}
    with pytest.raises(ConfigError, match=r"segments.by 'job_title' must be a categorical feature"):
        parse_config(data)


def test_a_value_in_two_groups_is_refused(config):
    data = config.model_dump(by_alias=True) | {
        "segments": {"by": "country", "groups": {"iberia": ["Spain"], "europe": ["Spain", "France"]}}
    }
    with pytest.raises(ConfigError, match=r"segments.*'Spain' is in two segment groups"):
        parse_config(data)


def _opposite_regions(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two regions where ten features push conversion in opposite directions, and a tiny third one."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "islands"], size=n, p=[0.495, 0.495, 0.01])
    Z = rng.normal(size=(n, 10))
    sign = np.r_[np.ones(5), -np.ones(5)]
    w = np.where((region == "north")[:, None], sign, -sign) * 0.6
    y = (rng.random(n) < 1 / (1 + np.exp(-((Z * w).sum(1) - 0.5)))).astype(int)
    X = pd.DataFrame(Z, columns=NUMERIC)
    X.insert(0, "region", region)
    return X, y


@pytest.fixture(scope="module")
def segmented():
    X, y = _opposite_regions(6000, 1)
    parts = {"train": np.arange(6000) < 4000, "calibration": (np.arange(6000) >= 4000) & (np.arange(6000) < 5000)}
    parts["holdout"] = np.arange(6000) >= 5000
    fit = {"categorical": ["region"], "numeric": NUMERIC, "monotone": {}, "params": PARAMS}
    tr, cal = parts["train"], parts["calibration"]
    model, _ = fit_scorer(X[tr], y[tr], X[cal], y[cal], **fit)
    records = train_segments(model, X, y, parts, Segments(by="region"), fit)
    return model, records, X[parts["holdout"]], y[parts["holdout"]]


def test_segments_that_beat_the_global_model_get_their_own(segmented):
    model, records, _, _ = segmented
    by_name = {r["segment"]: r for r in records}
    assert by_name["north"]["model"] == by_name["south"]["model"] == "own"
    assert by_name["north"]["calibration_auc"] > by_name["north"]["calibration_auc_global"]
    # ~60 leads: below the floor of 40 SQLs and 40 non-SQLs in the windows, so the global model scores it
    assert by_name["islands"]["model"] == "global"
    assert "below the minimum-data floor" in by_name["islands"]["why"]
    assert set(model.segments) == {"north", "south"}


def test_each_lead_is_scored_by_its_segments_model(segmented):
    model, _, Xh, _ = segmented
    p = model.predict_proba(Xh)
    for name, child in model.segments.items():
        rows = (Xh["region"] == name).to_numpy()
        np.testing.assert_allclose(p[rows], child.predict_proba(Xh[rows]), rtol=0, atol=0)
    islands = (Xh["region"] == "islands").to_numpy()
    np.testing.assert_allclose(p[islands], model.global_proba(Xh[islands]), rtol=0, atol=0)
    contrib = model.contributions(Xh)
    north = (Xh["region"] == "north").to_numpy()
    np.testing.assert_allclose(contrib[north].to_numpy(), model.segments["north"].contributions(Xh[north]).to_numpy())


def test_segmented_model_beats_the_global_one_where_segments_differ(segmented):
    from models.metrics import fast_auc

    model, _, Xh, yh = segmented
    assert fast_auc(yh, model.predict_proba(Xh)) > fast_auc(yh, model.global_proba(Xh)) + 0.005


def test_a_segmented_model_round_trips_through_plain_files(segmented, tmp_path):
    model, _, Xh, _ = segmented
    loaded = LeadScoreModel.load(model.save(tmp_path / "scorer"))
    assert set(loaded.segments) == set(model.segments)
    np.testing.assert_array_equal(loaded.predict_proba(Xh), model.predict_proba(Xh))


def test_unseen_and_missing_segment_values_use_the_global_model(segmented):
    model, _, Xh, _ = segmented
    odd = Xh.head(4).assign(region=["mars", None, "north", "south"])
    p = model.predict_proba(odd)
    np.testing.assert_allclose(p[:2], model.global_proba(odd)[:2])
    assert list(model.segment_of(odd)) == [None, None, "north", "south"]


def test_training_reports_every_segment_and_falls_back_below_the_floor(canonical, config):
    leads, acts = canonical
    cfg = _with_segments(config, {"by": "country", "groups": {"iberia": ["Spain"], "small": ["Uruguay"]}})
    features = build_features(leads, acts, config=cfg)
    labels = labels_for(leads, cfg, default_as_of(leads, acts))
    result = train_and_evaluate(features, labels, config=cfg, params=PARAMS)
    by_name = {r["segment"]: r for r in result.segments}
    assert set(by_name) == {"iberia", "small"}
    assert by_name["small"]["model"] == "global" and "below the minimum-data floor" in by_name["small"]["why"]
    assert all(r["holdout_rows"] > 0 and r["holdout_auc_global"] is not None for r in result.segments)
    # the global model scores whatever no kept segment covers, and the metrics say which model scored
    assert ("global_model" in result.metrics) == bool(result.model.segments)
    assert result.model.extra["dataset_config"]["segments"]["by"] == "country"


def test_the_mlflow_model_scores_each_lead_with_its_segments_model(segmented, tmp_path):
    """The pyfunc logged to MLflow carries the segment models (sub-folders of its scorer artifact)."""
    import warnings

    import mlflow
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from models.tracking.client import _tracking_uri
    from models.tracking.runs import _log_model, _signature_frame

    model, _, Xh, _ = segmented
    scorer_dir = model.save(tmp_path / "scorer")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with _tracking_uri(uri):
        exp = mlflow.create_experiment("seg", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=exp):
            signature = infer_signature(_signature_frame(Xh.head(5)), model.predict_proba(Xh.head(5)))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*input example.*")  # none on purpose: no rows leave
                info = _log_model(scorer_dir, signature)
        served = mlflow.pyfunc.load_model(info.model_uri).predict(_signature_frame(Xh))
    np.testing.assert_allclose(np.asarray(served), model.predict_proba(Xh), rtol=0, atol=1e-12)
