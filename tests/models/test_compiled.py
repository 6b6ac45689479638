"""The compiled predictor (lleaves) gives LightGBM's scores, and the model falls back to the booster visibly."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

import models.compiled as compiled
from features.config import Segments
from models.scorer import LeadScoreModel
from models.train import TrainParams, fit_scorer, train_segments

pytest.importorskip("lleaves", reason="the compiled predictor needs the fast extra")

# few, deep-enough trees: compiling is the slow part (LLVM), and 1e-9 must hold over every tree
PARAMS = TrainParams(num_threads=1, learning_rate=0.2, max_rounds=60, early_stopping_rounds=20)
NUMERIC = [f"x{i}" for i in range(6)]


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two regions with opposite effects, a categorical with many values, missing numbers and categories."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south"], size=n)
    source = rng.choice([f"s{i}" for i in range(12)], size=n).astype(object)
    source[rng.random(n) < 0.1] = None
    Z = rng.normal(size=(n, len(NUMERIC)))
    w = np.where((region == "north")[:, None], 1.0, -1.0) * np.r_[0.8, 0.5, 0.3, -0.3, 0.2, 0.0]
    bump = pd.Series(source).map({"s1": 1.0, "s2": -1.0}).fillna(0).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-((Z * w).sum(1) + bump - 0.5)))).astype(int)
    Z[rng.random(Z.shape) < 0.05] = np.nan
    X = pd.DataFrame(Z, columns=NUMERIC)
    X.insert(0, "region", region)
    X.insert(1, "source", source)
    return X, y


@pytest.fixture(scope="module")
def segmented():
    X, y = _data(6000, 3)
    idx = np.arange(len(X))
    parts = {"train": idx < 4000, "calibration": (idx >= 4000) & (idx < 5000), "holdout": idx >= 5000}
    fit = {"categorical": ["region", "source"], "numeric": NUMERIC, "monotone": {}, "params": PARAMS}
    tr, cal = parts["train"], parts["calibration"]
    model, _ = fit_scorer(X[tr], y[tr], X[cal], y[cal], **fit)
    train_segments(model, X, y, parts, Segments(by="region"), fit)
    assert model.segments, "the test needs a model with segment children"
    holdout = X[parts["holdout"]].copy()
    holdout.loc[holdout.index[:5], "source"] = "never seen"  # unseen category: missing for both predictors
    return model, holdout


@pytest.fixture(scope="module")
def saved(segmented, tmp_path_factory):
    model, _ = segmented
    folder = model.save(tmp_path_factory.mktemp("scorer") / "scorer")
    facts = compiled.compile_saved_model(folder, "auto", leads=compiled.AUTO_MIN_LEADS)
    return folder, facts


def test_compiled_scores_match_lightgbm_to_1e9(segmented, saved):
    model, X = segmented
    folder, facts = saved
    assert facts["predictor"] == "compiled" and facts["compile_s"] > 0
    assert all((folder / sub / compiled.OBJECT_FILE).is_file() for sub in ("", "segments/0", "segments/1"))
    fast = LeadScoreModel.load(folder)
    assert fast.predictor == "compiled" and all(c.predictor == "compiled" for c in fast.segments.values())
    # the booster's own margins, Platt-scaled: the reference the compiled path must reproduce
    np.testing.assert_allclose(fast.margin(X), model.margin(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.global_proba(X), model.global_proba(X), rtol=0, atol=1e-9)
    # reasons stay on the booster's TreeSHAP
    np.testing.assert_array_equal(fast.contributions(X).to_numpy(), model.contributions(X).to_numpy())
    assert len(fast.predict_proba(X.iloc[:0])) == 0


def test_a_pickled_model_reloads_its_compiled_predictor_and_scores_the_same(segmented, saved, tmp_path):
    model, X = segmented
    folder, _ = saved
    copy = shutil.copytree(folder, tmp_path / "gone")
    fast = LeadScoreModel.load(copy)
    shutil.rmtree(copy)  # a Dask worker has no access to the folder the model was loaded from
    payload = pickle.dumps(fast)
    back = pickle.loads(payload)
    assert back.compiled is not fast.compiled and back.predictor == "compiled"
    assert all(c.predictor == "compiled" for c in back.segments.values())
    np.testing.assert_array_equal(back.predict_proba(X), fast.predict_proba(X))
    np.testing.assert_array_equal(back.contributions(X).to_numpy(), fast.contributions(X).to_numpy())
    np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-9)
    # a model without a compiled predictor pickles as before
    assert pickle.loads(pickle.dumps(model)).predictor == "lightgbm"


def test_without_lleaves_the_model_falls_back_to_lightgbm(segmented, saved, monkeypatch):
    model, X = segmented
    folder, _ = saved

    def missing():
        raise ImportError("No module named 'lleaves'")

    monkeypatch.setattr(compiled, "_lleaves", missing)
    slow = LeadScoreModel.load(folder)
    assert slow.predictor == "lightgbm" and slow.compiled is None
    assert "lleaves not importable" in slow.predictor_reason
    np.testing.assert_array_equal(slow.predict_proba(X), model.predict_proba(X))
    # auto notes why it did not compile; on refuses
    assert compiled.compile_saved_model(folder, "auto")["predictor"] == "lightgbm"
    with pytest.raises(compiled.CompileError, match="lleaves not importable"):
        compiled.compile_saved_model(folder, "on")


def test_an_object_from_another_platform_or_booster_is_not_used(segmented, saved, tmp_path):
    model, X = segmented
    folder, _ = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    facts = json.loads((copy / compiled.FACTS_FILE).read_text())
    for path in copy.rglob(compiled.FACTS_FILE):
        path.write_text(json.dumps(json.loads(path.read_text()) | {"cpu": "some-other-cpu"}))
    loaded = LeadScoreModel.load(copy)
    assert loaded.predictor == "lightgbm" and "another platform (cpu differ" in loaded.predictor_reason
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # a segment whose booster changed after compiling: that child falls back, the others stay compiled
    child = copy / "segments" / "0"
    for path in copy.rglob(compiled.FACTS_FILE):
        path.write_text(json.dumps(json.loads(path.read_text()) | {"cpu": facts["cpu"]}))
    (child / "booster.txt").write_text((child / "booster.txt").read_text() + "\n")
    loaded = LeadScoreModel.load(copy)
    assert loaded.compiled is not None and loaded.predictor == "lightgbm"
    assert loaded.predictor_reason == "compiled object does not match booster.txt"
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-9)


def test_off_compiles_nothing(segmented, tmp_path):
    model, _ = segmented
    folder = model.save(tmp_path / "scorer")
    assert compiled.compile_saved_model(folder, "off") == {
        "predictor": "lightgbm",
        "compile_s": 0.0,
        "note": "compile_predictor = off",
    }
    assert not (folder / compiled.OBJECT_FILE).exists()
    loaded = LeadScoreModel.load(folder)
    assert loaded.predictor == "lightgbm" and loaded.predictor_reason == "no compiled predictor saved with the model"


def test_auto_leaves_a_small_export_to_lightgbm_and_says_why(segmented, tmp_path):
    model, _ = segmented
    folder = model.save(tmp_path / "scorer")
    facts = compiled.compile_saved_model(folder, "auto", leads=compiled.AUTO_MIN_LEADS - 1)
    assert facts["predictor"] == "lightgbm" and facts["compile_s"] == 0.0
    assert f"{compiled.AUTO_MIN_LEADS - 1:,} leads" in facts["note"] and "compile_predictor = on" in facts["note"]
    assert not (folder / compiled.OBJECT_FILE).exists()


def test_a_blend_scores_its_tree_part_with_the_compiled_predictor(segmented, saved, tmp_path):
    from models.linear import fit_linear

    model, X = segmented
    folder, _ = saved
    blend = tmp_path / "blend"
    shutil.copytree(folder, blend)
    spec = json.loads((blend / "scorer.json").read_text())
    M = model.matrix(X)
    y = (np.nan_to_num(M[:, 2]) > 0).astype(int)  # any labels: the linear part's coefficients are not the point
    part = fit_linear(M, y, n_categorical=2, n_codes=[len(model.categories[c]) for c in ("region", "source")])
    spec |= {"linear": part.to_dict(), "tree_weight": 0.25}
    (blend / "scorer.json").write_text(json.dumps(spec))
    fast = LeadScoreModel.load(blend)
    assert fast.predictor == "compiled" and fast.kind == "blend"
    slow = LeadScoreModel.load(blend)
    for m in (slow, *slow.segments.values()):
        m.compiled = None
    np.testing.assert_allclose(fast.margin(X), slow.margin(X), rtol=0, atol=1e-9)
    # the global (blend) model's own scores: its compiled tree part and its linear part, weighted
    margin = 0.25 * model.booster.predict(M, raw_score=True) + 0.75 * part.margin(M)
    a, b = fast.calibration
    np.testing.assert_allclose(fast.global_proba(X), 1 / (1 + np.exp(-(a * margin + b))), rtol=0, atol=1e-9)
    assert fast.compiled is not None and not np.allclose(margin, model.booster.predict(M, raw_score=True))
