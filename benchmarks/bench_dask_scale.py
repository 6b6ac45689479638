"""Scoring a partitioned export of 10M leads on a 2-worker Dask LocalCluster: throughput and worker memory.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_dask_scale.py [--leads 10000000] [--per-partition 100000]
        [--distinct 4] [--workers 2] [--memory 2GB] [--runs 1]

The export is --leads / --per-partition co-partitioned Parquet partitions (leads/ and activities/, as
`leadscore generate --partitions` writes them). Generating 10M leads with `features.synthetic.generate`
would take about 25 CPU-minutes, so --distinct partitions are generated (in parallel, each its own seed,
~16 activities per lead) and the others are copies of them with every lead id prefixed by the partition
number: every partition is read, validated, featured and scored like any other, and its ids are unique.
Cached in /tmp/leadscore-bench-dask (LEADSCORE_BENCH_DASK_CACHE).

The model is fitted once on one generated partition (train_and_evaluate, default TrainParams) and cached;
the Dask run calls `serving.distributed.score_partitions`, what `leadscore score --dask local` runs after
loading the champion from MLflow. Each worker is one process with one thread and the memory limit of
--memory (the nanny restarts a worker above it, which fails the run); its peak resident memory is read
inside the worker (ru_maxrss) after each partition. The reference, measured in the same run, is the single
process path (`load_export`, `build_features`, `score_leads`) on one partition: the ratio says how much
of the workers' parallelism the cluster turns into throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG, machine, score  # noqa: E402

CACHE = Path(os.environ.get("LEADSCORE_BENCH_DASK_CACHE", "/tmp/leadscore-bench-dask"))
GOAL_RSS_MB = 2048


def _copy_partition(base: Path, folder: Path, index: int, distinct: int) -> None:
    """Partition ``index``: a copy of distinct partition ``index % distinct`` with its lead ids prefixed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    name = f"part-{index:05d}.parquet"
    source = f"part-{index % distinct:05d}.parquet"
    for table in ("leads", "activities"):
        target = folder / table / name
        if target.is_file():
            continue
        t = pq.read_table(base / table / source)
        ids = t.column("Lead ID")
        t = t.set_column(
            t.schema.get_field_index("Lead ID"),
            "Lead ID",
            pc.binary_join_element_wise(pa.scalar(f"p{index}-", ids.type), ids, pa.scalar("", ids.type)),
        )
        tmp = target.with_suffix(".tmp")
        pq.write_table(t, tmp)
        os.replace(tmp, target)


def ensure_export(leads: int, per: int, distinct: int) -> tuple[Path, dict]:
    from features.partitions import write_synthetic_partitions

    parts = leads // per
    base = CACHE / f"base_{per}_x{distinct}"
    if not (base / "done.json").is_file():
        t0 = time.perf_counter()
        made = write_synthetic_partitions(
            base, leads=per * distinct, partitions=distinct, seed=11, processes=os.cpu_count() or 1
        )
        (base / "done.json").write_text(json.dumps({**made, "seconds": time.perf_counter() - t0}))
    folder = CACHE / f"export_{leads}_{per}_x{distinct}"
    if not (folder / "done.json").is_file():
        for t in ("leads", "activities"):
            (folder / t).mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(_copy_partition, [base] * parts, [folder] * parts, range(parts), [distinct] * parts))
        (folder / "done.json").write_text(json.dumps({"partitions": parts}))
    return folder, json.loads((base / "done.json").read_text())


def ensure_model(per: int, distinct: int):
    """The scorer and its tier cut-offs, fitted on the first generated partition."""
    import pandas as pd

    from features.build import build_features
    from features.config import load_config
    from features.contract import load_export
    from models.scorer import LeadScoreModel
    from models.train import TrainParams, default_as_of, labels_for, train_and_evaluate

    folder = CACHE / f"model_{per}"
    if not (folder / "cutoffs.json").is_file():
        config = load_config(CONFIG)
        base = CACHE / f"base_{per}_x{distinct}"
        export = load_export(base / "leads" / "part-00000.parquet", base / "activities" / "part-00000.parquet", config)
        features = build_features(export.leads, export.activities, config=config)
        labels = labels_for(export.leads, config, default_as_of(export.leads, export.activities))
        result = train_and_evaluate(features, labels, config=config, params=TrainParams(), logistic=False)
        result.model.save(folder)
        (folder / "cutoffs.json").write_text(json.dumps(result.tier_cutoffs))
        del pd
    return LeadScoreModel.load(folder), json.loads((folder / "cutoffs.json").read_text())


def single_process(folder: Path, model, cutoffs: dict, config, reasons_limit: int) -> float:
    """Seconds to score one partition in this process, as `leadscore score` scores a file."""
    from features.build import build_features
    from features.contract import load_export

    t0 = time.perf_counter()
    name = "part-00000.parquet"
    export = load_export(folder / "leads" / name, folder / "activities" / name, config)
    features = build_features(export.leads, export.activities, config=config)
    score(model, features, export.leads, cutoffs=cutoffs, config=config, reasons_limit=reasons_limit)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=10_000_000)
    ap.add_argument("--per-partition", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=4, help="partitions actually generated; the rest are copies")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="2GB", help="memory limit per worker")
    ap.add_argument("--reasons", type=int, default=10_000, help="leads (best first) that get reasons")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()

    from features.config import load_config
    from features.partitions import find_partitions
    from serving import distributed as dist

    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    print(machine())
    print(f"load average at start: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    t0 = time.perf_counter()
    folder, base = ensure_export(args.leads, args.per_partition, args.distinct)
    model, cutoffs = ensure_model(args.per_partition, args.distinct)
    config = load_config(CONFIG)
    partitions = find_partitions(folder / "leads", folder / "activities")
    print(
        f"export: {len(partitions)} partitions of {args.per_partition:,} leads ({args.distinct} generated, "
        f"{base['activities'] / base['leads']:.1f} activities per lead; the rest copies with renamed ids), "
        f"ready in {time.perf_counter() - t0:.0f} s"
    )

    ref_s = statistics.median(
        single_process(folder, model, cutoffs, config, args.reasons) for _ in range(max(args.runs, 1))
    )
    ref_rate = args.per_partition / ref_s
    print(f"reference: one partition in one process: {ref_s:.1f} s, {ref_rate:,.0f} leads/s")

    t0 = time.perf_counter()
    client = dist.connect("local", workers=args.workers, memory_limit=args.memory)
    print(f"LocalCluster: {args.workers} workers x 1 thread, memory limit {args.memory}, up in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    walls, passes, summary = [], {}, {}
    try:
        for _ in range(args.runs):
            marks: dict[str, float] = {}

            def progress(label: str, done: int, total: int, marks=marks) -> None:
                marks.setdefault(label, time.perf_counter())
                if done == total:
                    marks[label + " done"] = time.perf_counter()

            t0 = time.perf_counter()
            summary = dist.score_partitions(
                client,
                partitions,
                CACHE / "out",
                model=model,
                cutoffs=cutoffs,
                model_version="bench",
                config=config,
                reasons_limit=args.reasons,
                progress=progress,
            )
            walls.append(time.perf_counter() - t0)
            for label in [k for k in marks if not k.endswith(" done")]:
                passes.setdefault(label, []).append(marks[label + " done"] - marks[label])
    finally:
        client.close()
        client.cluster.close()

    wall = statistics.median(walls)
    rows = summary["list"]["rows"]
    rate = rows / wall
    print(f"scored {rows:,} leads ({summary['inputs']['activities_in']:,} activities) in {wall:.1f} s "
          f"(median of {len(walls)}): {rate:,.0f} leads/s")  # fmt: skip
    for label, secs in passes.items():
        print(f"  {label}: {statistics.median(secs):.1f} s")
    print(f"throughput vs one process: {rate / ref_rate:.2f}x with {args.workers} workers")
    peaks = summary["dask"]["peak_rss_mb_by_worker"]
    for worker, mb in peaks.items():
        print(f"peak RSS of worker {worker}: {mb:,.0f} MB")
    worst = max(peaks.values())
    print(f"goal: peak memory per worker <= {GOAL_RSS_MB} MB: {'met' if worst <= GOAL_RSS_MB else 'MISSED'} "
          f"({worst:,.0f} MB)")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
