"""The speed work must not move a list: a generated export scored end to end gives the list that plain code gives.

The reference is written the slow, obvious way (category codes by a Python dict, the booster's raw margin,
Platt's formula, a stable sort, tiers by comparisons, reasons from LightGBM's own ``pred_contrib``), so a
faster ``load_export``, ``build_features``, ``score_leads``, contributions or writer that changes one score,
one rank, one tier or one reason fails here. The same export read from CSV and from Parquet gives the same
files, byte for byte.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from features.build import build_features, feature_columns
from features.contract import load_export
from features.files import write_csv, write_parquet
from features.names import feature_words
from models.train import TrainParams, default_as_of, fit_scorer, labels_for
from serving.reasons import top_reasons
from serving.score import score_leads

CUTOFFS = {"A": 30.0, "B": 15.0, "C": 8.0}
REASONS = 60
SCORED_AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scored(export_files, config, tmp_path_factory):
    """The export scored from CSV and from Parquet (each column as text), the model, and the written files."""
    folder = tmp_path_factory.mktemp("identity")
    for path in export_files:  # the CSV export as Parquet input files
        names = pacsv.open_csv(path).schema.names
        text = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
        pq.write_table(pacsv.read_csv(path, convert_options=text), folder / f"{path.stem}.parquet")
    sources = {"csv": export_files, "parquet": tuple(folder / f"{p.stem}.parquet" for p in export_files)}
    runs, model = {}, None
    for name, (leads_path, acts_path) in sources.items():
        export = load_export(leads_path, acts_path, config)
        features = build_features(export.leads, export.activities, config=config)
        if model is None:  # one model, fitted on the CSV side's mature leads
            labels = labels_for(export.leads, config, default_as_of(export.leads, None)).set_index("lead_id")
            lab = labels.loc[features.index]
            mature = (lab["state"] == "mature").to_numpy()
            cat, num = feature_columns(config)
            X, y = features[mature], lab["label"].to_numpy()[mature].astype(int)
            half = len(X) // 2
            params = TrainParams(max_rounds=40, early_stopping_rounds=10, min_class_count=5)
            model, _ = fit_scorer(
                X[:half], y[:half], X[half:], y[half:], categorical=cat, numeric=num, monotone={}, params=params
            )
        out = score_leads(
            model,
            features,
            export.leads,
            cutoffs=CUTOFFS,
            model_version="1",
            pii_columns=config.names_with_role("pii"),
            reasons_limit=REASONS,
            scored_at=SCORED_AT,
        )
        files = {
            "list.csv": write_csv(out, folder / name / "list.csv"),
            "list.parquet": write_parquet(out, folder / name / "list.parquet"),
            "rejects.csv": write_csv(export.rejects, folder / name / "rejects.csv"),
        }
        runs[name] = (out, features, export, files)
    return runs, model


def plain_reference(model, features: pd.DataFrame) -> pd.DataFrame:
    """Scores, order, tiers and reasons computed the obvious way, from the booster alone."""
    cols = model.categorical + model.numeric
    M = np.empty((len(features), len(cols)))
    for j, c in enumerate(cols):
        if c in model.categorical:
            code = {v: float(i) for i, v in enumerate(model.categories[c])}
            M[:, j] = [np.nan if pd.isna(v) else code.get(str(v), np.nan) for v in features[c].tolist()]
        else:
            M[:, j] = pd.to_numeric(features[c], errors="coerce").astype(float)
    a, b = model.calibration
    p = 1.0 / (1.0 + np.exp(-(a * model.booster.predict(M, raw_score=True) + b)))
    order = np.argsort(-p, kind="stable")
    score = np.round(p * 100, 1)[order]
    tier = [next((t for t in "ABC" if v >= CUTOFFS[t]), "D") for v in score]
    head = features.iloc[order[:REASONS]]
    exact = model.booster.predict(M[order[:REASONS]], pred_contrib=True)[:, :-1]
    words = top_reasons(
        head,
        pd.DataFrame(exact, columns=cols, index=head.index),
        categories=model.categories,
        typical=model.extra.get("typical", {}),
        words=feature_words(model.extra.get("dataset_config")),
    )
    ref = pd.DataFrame({"lead_id": features.index[order].astype(str), "score": score, "tier": tier})
    for c in ("reason_1", "reason_2", "reason_3"):
        ref[c] = list(words[c].fillna("")) + [""] * (len(ref) - REASONS)
    return ref


def test_the_list_is_what_plain_code_gives(scored):
    runs, model = scored
    out, features, _, _ = runs["csv"]
    ref = plain_reference(model, features)
    assert out["rank"].tolist() == list(range(1, len(ref) + 1))
    assert out["lead_id"].tolist() == ref["lead_id"].tolist()
    assert np.array_equal(out["score"].to_numpy(), ref["score"].to_numpy())
    assert out["tier"].tolist() == ref["tier"].tolist()
    for c in ("reason_1", "reason_2", "reason_3"):
        assert out[c].tolist() == ref[c].tolist(), c
    assert (out["reason_1"].iloc[:REASONS] != "").all()
    head = features.loc[out["lead_id"].iloc[:REASONS]]
    exact = model.booster.predict(model.matrix(head), pred_contrib=True)[:, :-1]
    assert np.abs(model.contributions(head).to_numpy() - exact).max() <= 1e-9


def test_csv_and_parquet_exports_give_the_same_files(scored):
    runs, _ = scored
    (csv_out, _, csv_export, csv_files), (pq_out, _, pq_export, pq_files) = runs["csv"], runs["parquet"]
    pd.testing.assert_frame_equal(csv_out, pq_out)
    pd.testing.assert_frame_equal(csv_export.leads, pq_export.leads)
    pd.testing.assert_frame_equal(csv_export.activities, pq_export.activities)
    for name in csv_files:
        if name == "rejects.csv":  # the rejects name their source file, which differs
            continue
        assert csv_files[name].read_bytes() == pq_files[name].read_bytes(), name
    assert len(csv_export.rejects) == len(pq_export.rejects)
