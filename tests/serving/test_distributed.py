"""Scoring a partitioned export on Dask gives the single-process list, row for row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("distributed")

from features.build import build_features  # noqa: E402
from features.contract import load_export  # noqa: E402
from features.partitions import find_partitions, read_partitioned  # noqa: E402
from models.train import TrainParams, default_as_of, labels_for, train_and_evaluate  # noqa: E402
from serving import distributed as dist  # noqa: E402
from serving.score import score_leads  # noqa: E402

SCORED_AT = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
REASONS_LIMIT = 300  # fewer than the leads: some partitions get no reasons, the others only some
PARTS = 3


@pytest.fixture(scope="module")
def model(canonical, config):
    leads, acts = canonical
    features = build_features(leads, acts, config=config)
    labels = labels_for(leads, config, default_as_of(leads, acts))
    return train_and_evaluate(features, labels, config=config, params=TrainParams(num_threads=1), logistic=False)


@pytest.fixture(scope="module")
def export(crm, tmp_path_factory) -> Path:
    """The sample split by lead into 3 co-partitioned Parquet files, with rows the contract rejects."""
    leads = crm.leads.copy()
    acts = crm.activities.copy()
    leads.loc[5, "MQL Date"] = "not a date"
    leads.loc[2500, "Lead ID"] = leads.loc[2400, "Lead ID"]  # a duplicate inside one partition
    acts.loc[7, "Timestamp"] = "yesterday"
    folder = tmp_path_factory.mktemp("partitioned")
    chunks = np.array_split(np.arange(len(leads)), PARTS)
    for i, rows in enumerate(chunks):
        part = leads.iloc[rows]
        (folder / "leads").mkdir(exist_ok=True)
        (folder / "activities").mkdir(exist_ok=True)
        part.to_parquet(folder / "leads" / f"part-{i}.parquet", index=False)
        acts[acts["Lead ID"].isin(part["Lead ID"])].to_parquet(folder / "activities" / f"part-{i}.parquet", index=False)
    # the same export as one file each: the partitions in name order, concatenated
    read_partitioned(folder / "leads").to_parquet(folder / "leads.parquet", index=False)
    read_partitioned(folder / "activities").to_parquet(folder / "activities.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def single(export, model, config):
    """The single-process list and rejects of the whole export."""
    loaded = load_export(export / "leads.parquet", export / "activities.parquet", config)
    features = build_features(loaded.leads, loaded.activities, config=config)
    scored = score_leads(
        model.model,
        features,
        loaded.leads,
        cutoffs=model.tier_cutoffs,
        model_version="7",
        pii_columns=config.names_with_role("pii"),
        reasons_limit=REASONS_LIMIT,
        scored_at=SCORED_AT,
    )
    return scored, loaded.rejects


@pytest.fixture(scope="module")
def client():
    c = dist.connect("local", workers=2, processes=False)
    yield c
    c.close()
    c.cluster.close()


def _score(client, export: Path, out: Path, model, config) -> dict:
    return dist.score_partitions(
        client,
        find_partitions(export / "leads", export / "activities"),
        out,
        model=model.model,
        cutoffs=model.tier_cutoffs,
        model_version="7",
        config=config,
        reasons_limit=REASONS_LIMIT,
        scored_at=SCORED_AT,
    )


def _global_rows(rejects: pd.DataFrame, export: Path) -> pd.DataFrame:
    """Partition row numbers as row numbers of the concatenated export (per table)."""
    out = rejects.copy()
    for table in ("leads", "activities"):
        files = sorted((export / table).glob("*.parquet"))
        sizes = [pq.read_metadata(f).num_rows for f in files]
        offsets = dict(zip([f.name for f in files], np.cumsum([0, *sizes[:-1]]), strict=True))
        mine = out["table"] == table
        out.loc[mine, "row"] = out.loc[mine, "row"] + out.loc[mine, "partition"].map(offsets)
    return out.drop(columns="partition")


def test_dask_scores_ranks_tiers_reasons_and_rejects_equal_the_single_process(client, export, model, config, single,
                                                                               tmp_path):  # fmt: skip
    expected, expected_rejects = single
    summary = _score(client, export, tmp_path / "list", model, config)

    parts = sorted((tmp_path / "list").glob("*.parquet"))
    assert [p.name for p in parts] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    got = read_partitioned(tmp_path / "list").sort_values("rank", ignore_index=True)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_array_equal(got["score"].to_numpy(), expected["score"].to_numpy())
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # the global top got reasons wherever it lives; no lead below it did
    assert (got["reason_1"].iloc[:REASONS_LIMIT] != "").all() and (got["reason_1"].iloc[REASONS_LIMIT:] == "").all()
    assert expected["rank"].iloc[REASONS_LIMIT:].isin(got["rank"]).all()
    tops = {p.name: (pd.read_parquet(p)["reason_1"] != "").sum() for p in parts}
    assert sum(tops.values()) == REASONS_LIMIT and min(tops.values()) > 0
    # every partition file is itself sorted by the global rank
    assert all(pd.read_parquet(p)["rank"].is_monotonic_increasing for p in parts)

    rejects = pd.read_csv(tmp_path / "list" / dist.REJECTS_FILE, dtype={"lead_id": "str"}, encoding="utf-8-sig")
    assert len(rejects) == len(expected_rejects) >= 4
    pd.testing.assert_frame_equal(
        _global_rows(rejects, export).sort_values(["table", "row"], ignore_index=True)[expected_rejects.columns],
        expected_rejects.sort_values(["table", "row"], ignore_index=True),
        check_dtype=False,
    )
    assert summary["list"]["rows"] == len(expected)
    assert summary["inputs"]["leads_in"] + summary["inputs"]["activities_in"] == sum(
        pq.read_metadata(f).num_rows for f in export.glob("*/*.parquet")
    )
    assert summary["list"]["tiers"] == expected["tier"].value_counts().sort_index().to_dict()


def test_a_failed_run_leaves_the_previous_list_folder_as_it_was(client, export, model, config, tmp_path):
    out = tmp_path / "list"
    _score(client, export, out, model, config)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = tmp_path / "broken"
    for table in ("leads", "activities"):
        (broken / table).mkdir(parents=True)
        for f in (export / table).glob("*.parquet"):
            (broken / table / f.name).write_bytes(f.read_bytes())
    # a lead in two partitions: partitioned by something other than the lead, refused
    leads = pd.read_parquet(broken / "leads" / "part-2.parquet")
    first = pd.read_parquet(broken / "leads" / "part-0.parquet").iloc[:1]
    pd.concat([leads, first]).to_parquet(broken / "leads" / "part-2.parquet", index=False)
    with pytest.raises(dist.DistributedError, match="more than one partition"):
        _score(client, broken, out, model, config)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "list"]  # no staging folder left behind


def test_a_folder_that_is_not_a_list_is_never_replaced(client, export, model, config, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(dist.DistributedError, match="not a list folder"):
        _score(client, export, tmp_path / "mine", model, config)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_activities_folders_must_pair_with_the_leads_files(export, tmp_path):
    from features.contract import ContractError

    (tmp_path / "acts").mkdir()
    (tmp_path / "acts" / "part-0.parquet").write_bytes((export / "activities" / "part-0.parquet").read_bytes())
    with pytest.raises(ContractError, match="no activities file for"):
        find_partitions(export / "leads", tmp_path / "acts")


def test_without_the_dask_extra_the_error_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without the extra gives
    with pytest.raises(dist.DistributedError, match=r"pip install 'leadscore\[dask\]'"):
        dist.connect("local")


@pytest.mark.slow
def test_real_worker_processes_give_the_single_process_list(export, model, config, single, tmp_path):
    expected, _ = single
    c = dist.connect("local", workers=2, processes=True)
    try:
        _score(c, export, tmp_path / "list", model, config)
    finally:
        c.close()
        c.cluster.close()
    got = read_partitioned(tmp_path / "list").sort_values("rank", ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_real_worker_processes_score_with_a_compiled_champion(export, model, config, single, tmp_path):
    """The default wherever lleaves is installed and the export is large: the model carries a compiled
    predictor, which cannot be pickled; each worker process loads it again from the saved files it carries."""
    pytest.importorskip("lleaves", reason="the compiled predictor needs the fast extra")
    from models.compiled import compile_saved_model
    from models.scorer import LeadScoreModel

    folder = model.model.save(tmp_path / "scorer")
    assert compile_saved_model(folder, "on")["predictor"] == "compiled"  # what `leadscore train` logs for 100k leads
    champion = LeadScoreModel.load(folder)
    assert champion.predictor == "compiled"
    expected, _ = single
    c = dist.connect("local", workers=2, processes=True)
    try:
        dist.score_partitions(
            c,
            find_partitions(export / "leads", export / "activities"),
            tmp_path / "list",
            model=champion,
            cutoffs=model.tier_cutoffs,
            model_version="7",
            config=config,
            reasons_limit=REASONS_LIMIT,
            scored_at=SCORED_AT,
        )
    finally:
        c.close()
        c.cluster.close()
    got = read_partitioned(tmp_path / "list").sort_values("rank", ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=0, atol=1e-9)
