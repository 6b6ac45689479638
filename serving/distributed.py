"""Scoring a partitioned export on a Dask cluster, partition by partition, into the single-process list.

Two passes, so that the union of the output partitions is, row for row, the list ``score_leads`` makes
from the whole export at once:

1. On the workers, each partition is loaded and validated (``load_export``), turned into point-in-time
   features (``build_features``) and scored: lead, PII, score, tier. Each task returns its probabilities
   to the client, and keeps the features of its own best ``reasons_limit`` leads.
2. The client ranks all probabilities at once (as the single process does; ties keep the export's
   order), and the workers add each row's global rank, and reasons for the leads in the global top
   ``reasons_limit`` (a lead in the global top is in its partition's top, so pass 1 kept its features).

The model is sent to each worker once (``Client.scatter(..., broadcast=True)``). The list is written into
a staging folder beside ``out`` and renamed into place at the end, so a failed run leaves the previous
list folder as it was. The Dask futures API maps one function over file pairs; dask.dataframe would have
to model two co-partitioned tables. ``distributed`` is imported only here, in functions: the default
install (without the ``dask`` extra) never needs it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import build_features
from features.config import DatasetConfig
from features.contract import REJECT_COLUMNS, load_export
from features.files import write_csv, write_json, write_parquet
from features.names import feature_words
from features.partitions import Partition
from features.related import refuse_distributed
from models.scorer import LeadScoreModel
from serving.reasons import top_reasons
from serving.score import assign_tiers

REASONS = ["reason_1", "reason_2", "reason_3"]
SUMMARY_FILE = "_summary.json"  # also marks a folder as a leadscore list that a new run may replace
REJECTS_FILE = "_rejects.csv"  # names starting with _ are skipped by Parquet dataset readers
INSTALL_HINT = "--dask needs the dask extra: pip install 'leadscore[dask]'"

Progress = Callable[[str, int, int], None]  # (pass description, partitions done, partitions in all)


class DistributedError(RuntimeError):
    """Dask missing, a cluster that cannot be reached, a worker lost, or an output folder we may not replace."""


def connect(address: str, *, workers: int = 2, memory_limit: str = "2GB", processes: bool = True):
    """A Dask client: ``local`` starts a LocalCluster of ``workers`` one-thread workers; else a scheduler address."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DistributedError(INSTALL_HINT) from None
    if address == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            memory_limit=memory_limit,
            processes=processes,
            dashboard_address=":0",  # any free port: never clash with another cluster on this machine
            # one LightGBM thread per worker process: the workers are the parallelism, OpenMP would oversubscribe
            **({"env": {"OMP_NUM_THREADS": "1"}} if processes else {}),
        )
        return Client(cluster)
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise DistributedError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


@dataclass
class _PartitionResult:
    name: str
    proba: np.ndarray
    id_hash: np.ndarray  # to find a lead in two partitions without shipping every id to the client
    rows_in: dict[str, int]
    rejects: pd.DataFrame
    warnings: list[str]
    worker: str = ""
    peak_rss_mb: float = 0.0
    extra: dict = field(default_factory=dict)


def _worker_facts() -> tuple[str, float]:
    import resource  # Unix only: imported here so that the CLI, which imports this module, runs anywhere

    try:
        from distributed import get_worker

        name = get_worker().address
    except (ImportError, ValueError):
        name = f"pid {os.getpid()}"
    # Linux reports ru_maxrss in KiB: the peak resident memory of this worker process so far
    return name, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _score_partition(
    part: Partition,
    work: str,
    model: LeadScoreModel,
    config: DatasetConfig,
    cutoffs: dict[str, float],
    reasons_limit: int,
) -> _PartitionResult:
    """Pass 1, on a worker: load, validate, build features and score one partition."""
    export = load_export(part.leads, part.activities, config)
    features = build_features(export.leads, export.activities, config=config)
    proba = model.predict_proba(features)
    score = np.round(proba * 100, 1)
    info = export.leads.set_index("lead_id").loc[features.index]
    rows = pd.DataFrame({"lead_id": features.index.to_numpy()})
    for col in config.names_with_role("pii"):
        rows[col] = info[col].to_numpy()
    rows["mql_at"] = info["mql_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy()
    rows["score"] = score
    rows["tier"] = assign_tiers(score, cutoffs)
    write_parquet(rows, Path(work) / "rows" / part.name)
    # the features of this partition's best leads: only they can be in the global top that gets reasons
    top = np.argsort(-proba, kind="stable")[:reasons_limit]
    head = features.iloc[top].reset_index().assign(_position=top)
    write_parquet(head, Path(work) / "head" / part.name)
    rejects = export.rejects.assign(partition=part.name)
    worker, rss = _worker_facts()
    return _PartitionResult(
        part.name,
        proba,
        pd.util.hash_array(features.index.to_numpy()),
        dict(export.rows_in),
        rejects,
        list(export.warnings),
        worker,
        rss,
    )


def _finish_partition(
    name: str,
    work: str,
    staging: str,
    ranks: np.ndarray,
    reason_rows: np.ndarray,
    model: LeadScoreModel,
    model_version: str,
    scored_at: str,
) -> tuple[str, float]:
    """Pass 2, on a worker: global ranks, reasons for the rows in the global top, the partition's list file."""
    rows = pd.read_parquet(Path(work) / "rows" / name)
    rows.insert(0, "rank", ranks)
    for c in REASONS:
        rows[c] = ""
    if len(reason_rows):
        head = pd.read_parquet(Path(work) / "head" / name).set_index("_position").loc[reason_rows]
        feats = head.set_index("lead_id")
        reasons = top_reasons(
            feats,
            model.contributions(feats),
            categories=model.categories,
            typical=model.extra.get("typical", {}),
            words=feature_words(model.extra.get("dataset_config")),
        )
        rows.loc[reason_rows, REASONS] = reasons.fillna("").to_numpy()
    rows["model_version"] = model_version
    rows["scored_at"] = scored_at
    write_parquet(rows.sort_values("rank", ignore_index=True), Path(staging) / name)
    return _worker_facts()


def _gather(client, futures: list, label: str, progress: Progress | None) -> list:
    """Results in submission order, reporting progress as they complete; a worker's error raised as is."""
    from distributed import as_completed

    if progress:
        progress(label, 0, len(futures))
    for done, _ in enumerate(as_completed(futures), start=1):
        if progress:
            progress(label, done, len(futures))
    return client.gather(futures)


def _replaceable(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SUMMARY_FILE).is_file())):
        raise DistributedError(
            f"--out {out} exists and is not a list folder written by leadscore (no {SUMMARY_FILE}); "
            "give a new folder, or one a previous --dask run wrote"
        )


def _swap_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``: two renames; the old folder is deleted only once the new one is there."""
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(staging, out)
    except BaseException:
        if old.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def score_partitions(
    client,
    partitions: list[Partition],
    out: Path,
    *,
    model: LeadScoreModel,
    cutoffs: dict[str, float],
    model_version: str,
    config: DatasetConfig,
    reasons_limit: int = 10_000,
    scored_at: datetime | None = None,
    progress: Progress | None = None,
) -> dict:
    """Score every partition on the client's cluster; write ``out/<partition name>`` lists, rejects, summary.

    ``out`` and the partitions must be on storage every worker sees (a shared file system). Returns the
    summary (also written to ``out/_summary.json``).
    """
    refuse_distributed(config)  # partitions are read one by one: related tables are not joined there yet
    out = Path(out).absolute()
    _replaceable(out)
    scored_at_text = (scored_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    staging = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
    work = staging / "_work"
    work.mkdir(parents=True)
    try:
        return _score(
            client, partitions, out, staging, work, model, cutoffs, model_version, config, reasons_limit,
            scored_at_text, progress,
        )  # fmt: skip
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if type(exc).__name__ == "KilledWorker":
            raise DistributedError(
                f"a Dask worker died while scoring ({exc}); most often out of memory: use smaller partitions "
                "or give the workers more memory"
            ) from None
        raise


def _score(
    client, partitions, out, staging, work, model, cutoffs, model_version, config, reasons_limit, scored_at, progress
) -> dict:
    model_f = client.scatter(model, broadcast=True)
    firsts = client.map(
        _score_partition,
        partitions,
        work=str(work),
        model=model_f,
        config=config,
        cutoffs=cutoffs,
        reasons_limit=reasons_limit,
        pure=False,
    )
    results: list[_PartitionResult] = _gather(client, firsts, "Loading, validating, features, scores", progress)
    del firsts

    hashes = np.concatenate([r.id_hash for r in results])
    _, first_at, counts = np.unique(hashes, return_index=True, return_counts=True)
    if (counts > 1).any():
        sizes = np.cumsum([len(r.proba) for r in results])
        where = np.searchsorted(sizes, np.sort(first_at[counts > 1])[0], side="right")
        raise DistributedError(
            f"a lead_id appears in more than one partition (first in {results[where].name}); partition the "
            "export by lead, each lead in one partition"
        )
    del hashes

    # the global ranking, exactly as score_leads ranks the whole export: ties keep the export's order
    proba = np.concatenate([r.proba for r in results])
    order = np.argsort(-proba, kind="stable")
    rank = np.empty(len(proba), dtype=np.int64)
    rank[order] = np.arange(1, len(proba) + 1)
    starts = np.concatenate([[0], np.cumsum([len(r.proba) for r in results])])
    top = np.sort(order[:reasons_limit])
    seconds = [
        client.submit(
            _finish_partition,
            r.name,
            str(work),
            str(staging),
            rank[starts[i] : starts[i + 1]],
            top[(top >= starts[i]) & (top < starts[i + 1])] - starts[i],
            model_f,
            model_version,
            scored_at,
            pure=False,
        )
        for i, r in enumerate(results)
    ]
    finished = _gather(client, seconds, "Ranking, reasons for the best leads, writing the list", progress)

    rejects = pd.concat([r.rejects for r in results], ignore_index=True)
    if rejects.empty:
        rejects = pd.DataFrame(columns=[*REJECT_COLUMNS, "partition"])
    write_csv(rejects, staging / REJECTS_FILE)
    score = np.round(proba * 100, 1)
    tiers = pd.Series(assign_tiers(score, cutoffs)).value_counts().sort_index()
    peak: dict[str, float] = {}
    for worker, rss in [(r.worker, r.peak_rss_mb) for r in results] + list(finished):
        peak[worker] = max(peak.get(worker, 0.0), rss)
    rej = rejects["table"].value_counts()
    summary = {
        "status": "ok",
        "inputs": {
            "leads_in": sum(r.rows_in["leads"] for r in results),
            "activities_in": sum(r.rows_in["activities"] for r in results),
            "leads_rejected": int(rej.get("leads", 0)),
            "activities_rejected": int(rej.get("activities", 0)),
            "warnings": sorted({w for r in results for w in r.warnings}),
        },
        "model_version": model_version,
        "tier_cutoffs": cutoffs,
        "list": {"rows": len(proba), "tiers": {str(k): int(v) for k, v in tiers.items()}},
        "dask": {
            "partitions": len(results),
            "workers": len(client.scheduler_info().get("workers", {})),
            "peak_rss_mb_by_worker": {k: round(v, 1) for k, v in sorted(peak.items())},
        },
        "files": {"list": str(out), "rejects": str(out / REJECTS_FILE), "summary": str(out / SUMMARY_FILE)},
    }
    shutil.rmtree(work)
    write_json(summary, staging / SUMMARY_FILE)
    _swap_into_place(staging, out)
    return summary
