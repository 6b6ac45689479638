"""The point-in-time feature table, kept on disk so a retried or repeated run does not rebuild it.

Key: the bytes of the leads, activities, lookup and event files, the dataset config, and the code that
reads and builds them (the source of the features/ modules in ``CODE_FILES``, plus pandas' and numpy's
versions and a format number). Any change to one of them gives a new key, so a stale table is never
read. The run's ``--as-of`` is not in the key: each lead's features are as of its own MQL moment,
whatever the export moment, and ``--as-of`` only decides which leads are labelled, open or ignored,
after the table is built.

Why our own Parquet files rather than Prefect's cache policies with persisted results: the key is a
fingerprint of files (a Prefect INPUTS policy would hash the loaded frames on every run), a table
is one Parquet file in the workspace that anyone can open (Prefect persists cloudpickle files under
~/.prefect, outside the workspace and bound to the Python version), the run's summary can say whether
the table was reused, and the folder is bounded (``keep``, least recently used first). The table holds
no personal data: PII columns never become features.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from features.config import DatasetConfig
from features.contract import fingerprint_files
from features.files import atomic_write
from features.related import related_files

FORMAT_VERSION = "1"
FEATURES_DIR = Path(__file__).resolve().parents[1] / "features"
# every features module the feature table depends on (names.py decides feature ids, sniff.py reads numbers);
# tests/features/test_related.py checks the list is closed under their imports
CODE_FILES = (
    "config.py",
    "contract.py",
    "reader.py",
    "arrow_text.py",
    "timestamps.py",
    "schema.py",
    "canonical.py",
    "build.py",
    "seniority.py",
    "related.py",
    "feature_ids.py",
    "names.py",
    "sniff.py",
)


def code_fingerprint() -> str:
    """The feature code's identity: a change to how exports are read or features built is a new key."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}|pandas {pd.__version__}|numpy {np.__version__}".encode())
    for name in CODE_FILES:
        digest.update((FEATURES_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_key(leads: Path, activities: Path | None, config: DatasetConfig) -> str:
    """The key of the feature table built from these files with this config and this code."""
    parts = [
        f"leads={fingerprint_files(leads)}",
        f"activities={fingerprint_files(activities) if activities is not None else '-'}",
        f"related={fingerprint_files(*related_files(config, leads)) if config.lookups or config.events else '-'}",
        f"config={config.fingerprint()}",
        f"code={code_fingerprint()}",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def folder_of(workspace: Path) -> Path:
    return Path(workspace) / "cache" / "features"


def read(folder: Path, key: str) -> pd.DataFrame | None:
    """The cached table for ``key``, or None (none there, or unreadable: then it is rebuilt)."""
    path = folder / f"{key}.parquet"
    if not path.is_file():
        return None
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError):
        return None
    os.utime(path)  # least recently used goes first
    return table


def write(folder: Path, key: str, table: pd.DataFrame, *, keep: int) -> Path:
    """Store the table atomically under ``key``, then drop all but the ``keep`` most recently used."""
    # pandas' own writer keeps the index (lead_id) and the column types exactly
    path = atomic_write(folder / f"{key}.parquet", lambda tmp: table.to_parquet(tmp, engine="pyarrow"))
    tables = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in tables[keep:]:
        old.unlink(missing_ok=True)
    return path
