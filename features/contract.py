"""Loading a CRM export onto the canonical tables: the contract's entry point.

Reading a file is ``features.reader``, its timestamps ``features.timestamps``, the schemas and the
rejects table ``features.schema``, the mapping onto the canonical tables ``features.canonical``.

Rows that break the contract go to a rejects table (table, data-row number, lead id, reasons); the
rest go on. Problems with a whole file (missing, empty, unreadable, a required column absent, no valid
lead left) raise ContractError with a message that names the file and what to do.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from features import related
from features.canonical import canonical_activities, canonical_leads
from features.config import DatasetConfig
from features.reader import ContractError, RawTable, read_table
from features.schema import REJECT_COLUMNS
from features.timestamps import has_offset

# the contract's public face: most callers import these from here
__all__ = [
    "REJECT_COLUMNS",
    "ContractError",
    "LoadedExport",
    "canonical_activities",
    "canonical_leads",
    "fingerprint_files",
    "load_export",
    "read_table",
]


@dataclass(frozen=True)
class LoadedExport:
    """A loaded export: the valid leads and activities, every rejected row, and the rows read per table."""

    leads: pd.DataFrame
    activities: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: dict[str, int]
    warnings: tuple[str, ...] = ()


def _all_rejected(path: str | Path, raw: RawTable, rejects: pd.DataFrame) -> ContractError:
    if raw.rows_in == 0:
        return ContractError(f"{path}: no leads in the file (a header only)")
    common = Counter(r.split(" (")[0] for reason in rejects["reason"] for r in reason.split("; ")).most_common(3)
    first = rejects["reason"].iloc[0]
    return ContractError(
        f"{path}: all {raw.rows_in:,} leads were rejected; most common reasons: "
        + ", ".join(f"{why} ({n:,})" for why, n in common)
        + f". First row: {first}. Check the column mapping, timestamp_format and timezone in the dataset config."
    )


def load_export(leads_path: str | Path, activities_path: str | Path | None, config: DatasetConfig) -> LoadedExport:
    """Read and validate a CRM export; every input row ends up in the result or in its rejects."""
    if config.activities is not None and activities_path is None:
        raise ContractError(
            "the dataset config maps an activities table but no activities file was given; pass --activities "
            "(without it every activity feature would read 0 and the scores would be wrong)"
        )
    lead_times = [c for c in (config.leads.mql_at, config.leads.sql_at, config.leads.created_at) if c]
    raw_leads = read_table(leads_path, encoding=config.encoding, delimiter=config.delimiter, timestamps=lead_times)
    raw_leads, rej_lookups, lookup_rows, warnings = related.join_lookups(raw_leads, config, leads_path)
    leads, rej_l = canonical_leads(raw_leads, config, source=str(leads_path))
    if leads.empty:
        raise _all_rejected(leads_path, raw_leads, rej_l)
    rows_in = {"leads": raw_leads.rows_in, "activities": 0, **lookup_rows}
    if activities_path is not None:
        lead_zoned = has_offset(raw_leads.frame[config.leads.mql_at])
    if not config.events:  # the leads' raw text is done with: freed before the activities are read
        raw_leads = None
    if activities_path is not None:
        m = config.activities
        raw_acts = read_table(
            activities_path,
            encoding=m.encoding or config.encoding,
            delimiter=m.delimiter or config.delimiter,
            timestamps=[m.occurred_at],
        )
        rows_in["activities"] = raw_acts.rows_in
        act_zoned = config.activities.occurred_at in raw_acts.frame and has_offset(
            raw_acts.frame[config.activities.occurred_at]
        )
        rejected = set(rej_l["lead_id"].dropna())
        acts, rej_a = canonical_activities(
            raw_acts, config, leads["lead_id"], rejected_ids=rejected, source=str(activities_path)
        )
        del raw_acts
        if lead_zoned != act_zoned:
            warnings.append(
                f"{'leads' if lead_zoned else 'activities'} timestamps carry time-zone offsets and the "
                f"{'activities' if lead_zoned else 'leads'} do not; those are read as {config.timezone}. "
                "If that is wrong, set timezone in the dataset config, or activities may land on the wrong "
                "side of the MQL moment."
            )
    else:
        acts = pd.DataFrame(
            {
                "lead_id": pd.Series(dtype="str"),
                "occurred_at": pd.Series(dtype="datetime64[ns]"),
                "activity_type": pd.Series(dtype="str"),
            }
        )
        rej_a = pd.DataFrame(columns=REJECT_COLUMNS)
    if config.events:
        events, rej_e, event_rows, event_warnings = related.load_events(
            raw_leads, leads, config, leads_path, rejected_ids=set(rej_l["lead_id"].dropna())
        )
        warnings += event_warnings
        acts = pd.concat([acts, events], ignore_index=True) if len(acts) else events
        rej_a = pd.concat([rej_a, rej_e], ignore_index=True)
        rows_in.update(event_rows)
    parts = [r for r in (rej_l, rej_lookups, rej_a) if len(r)]
    rejects = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts[0] if parts else rej_l)
    # the raw text is freed by now: hand its pages back to the system, or Arrow's allocator keeps them and the
    # features are built on top (1.1 GB of peak RSS at 1M leads)
    pa.default_memory_pool().release_unused()
    return LoadedExport(leads, acts, rejects, rows_in, tuple(warnings))


def fingerprint_files(*paths: str | Path | None) -> str:
    """SHA-256 (first 16 hex digits) over the bytes of the input files: identifies the export used."""
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]
