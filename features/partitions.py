"""Partitioned exports: a folder of leads Parquet files and a folder of activities co-partitioned by lead.

A partitioned export is two folders of Parquet files with the same file names::

    export/leads/part-00000.parquet       export/activities/part-00000.parquet
    export/leads/part-00001.parquet       export/activities/part-00001.parquet

Each activities file holds the activities of the leads in the leads file of the same name, and only those,
so a partition can be validated and turned into point-in-time features on its own. The partitions in file
name order, concatenated, are the export: scoring them one by one gives the list that scoring that one
big export gives. Each file has the columns of the single-file export (the dataset config maps them).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.contract import ContractError
from features.files import atomic_write
from features.synthetic import generate


@dataclass(frozen=True)
class Partition:
    """One partition: its name (the file name), its leads file and its activities file, if any."""

    name: str
    leads: Path
    activities: Path | None


def find_partitions(leads_dir: Path, activities_dir: Path | None) -> list[Partition]:
    """The partitions of a partitioned export, in file name order; a clear error if the folders do not pair."""
    leads_dir = Path(leads_dir)
    if not leads_dir.is_dir():
        raise ContractError(f"{leads_dir}: not a folder; --dask reads a folder of leads Parquet files")
    names = sorted(p.name for p in leads_dir.glob("*.parquet") if not p.name.startswith((".", "_")))
    if not names:
        raise ContractError(f"{leads_dir}: no .parquet files in the folder")
    if activities_dir is None:
        return [Partition(n, leads_dir / n, None) for n in names]
    activities_dir = Path(activities_dir)
    if not activities_dir.is_dir():
        raise ContractError(f"{activities_dir}: not a folder; give the folder of activities co-partitioned by lead")
    acts = {p.name for p in activities_dir.glob("*.parquet") if not p.name.startswith((".", "_"))}
    missing, extra = sorted(set(names) - acts), sorted(acts - set(names))
    if missing or extra:
        # an activities file without its leads file would be dropped silently, one missing would zero the
        # activity features of its leads: both are refused
        problem = f"no activities file for {missing[:3]}" if missing else f"activities files without leads: {extra[:3]}"
        raise ContractError(
            f"{activities_dir}: the activities files must have the leads files' names ({leads_dir}); {problem}"
        )
    return [Partition(n, leads_dir / n, activities_dir / n) for n in names]


def _write_synthetic_partition(out: Path, index: int, leads: int, months: int, seed: int) -> tuple[int, int]:
    # each partition is its own CRM history with its own seed; lead ids carry the seed, so they never collide
    crm = generate(leads, months, seed + index)
    name = f"part-{index:05d}.parquet"
    for folder, frame in (("leads", crm.leads), ("activities", crm.activities), ("truth", crm.truth)):
        atomic_write(out / folder / name, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False))
    return len(crm.leads), len(crm.activities)


def write_synthetic_partitions(
    out: Path, *, leads: int, partitions: int, months: int = 12, seed: int = 7, processes: int = 1
) -> dict:
    """A synthetic partitioned export: ``partitions`` independent histories of ``leads // partitions`` leads.

    Partitions are generated in ``processes`` processes at once (the generator is single-threaded).
    """
    per = leads // partitions
    if per < 10:
        raise ValueError("need at least 10 leads per partition")
    args = [(Path(out), i, per, months, seed) for i in range(partitions)]
    if processes > 1:
        with ProcessPoolExecutor(processes) as pool:
            counts = list(pool.map(_write_synthetic_partition, *zip(*args, strict=True)))
    else:
        counts = [_write_synthetic_partition(*a) for a in args]
    return {
        "leads": sum(c[0] for c in counts),
        "activities": sum(c[1] for c in counts),
        "partitions": partitions,
        "folders": {k: str(Path(out) / k) for k in ("leads", "activities", "truth")},
    }


def read_partitioned(folder: Path) -> pd.DataFrame:
    """Every Parquet file of a folder, in file name order, as one frame (for checks and small exports)."""
    files = sorted(p for p in Path(folder).glob("*.parquet") if not p.name.startswith((".", "_")))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
