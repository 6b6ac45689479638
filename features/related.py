"""Related tables of a CRM export: lookups joined onto the leads by key, and event tables as activities.

A lookup (contacts, accounts) is joined onto the leads' raw text before the leads are validated, so
its attributes are read, checked and used exactly like the leads' own columns (``config.attributes``).
A lookup may join on a column an earlier lookup brought (accounts on the contact's account id). A lead
whose key has no row in the lookup keeps missing attributes (counted in a warning); a key that appears
twice in a lookup keeps its first row in file order, and the later rows are rejected with the reason.

An event table (email events, web sessions, calls) becomes rows of the canonical activities table
(lead_id, occurred_at, activity_type, plus its numeric value columns), keyed by a lead id or by a lookup's
id (a contact id: the event then belongs to every lead of that contact). Point in time holds as for the
activities file: features read only the events up to each lead's cutoff.

Files are read relative to the leads file's folder unless absolute. Rejected rows carry the table's name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.canonical import as_dot_decimal, require_columns
from features.config import DatasetConfig
from features.feature_ids import value_features, value_ids
from features.reader import ContractError, RawTable, read_table
from features.schema import REJECT_COLUMNS, rejects_frame
from features.sniff import dot_decimal
from features.timestamps import has_offset, parse_ts


def value_columns(config: DatasetConfig) -> list[str]:
    """Names of the event value columns in the canonical activities, e.g. ``web_sessions_pages_viewed``."""
    return list(value_features(config))


def table_path(file: str, leads_path: str | Path) -> Path:
    """A related table's file: as given when absolute, else in the leads file's folder."""
    path = Path(file)
    return path if path.is_absolute() else Path(leads_path).parent / path


def related_files(config: DatasetConfig, leads_path: str | Path) -> list[Path]:
    """Every lookup and event file of the config, in config order (for fingerprints and size checks)."""
    return [table_path(t.file, leads_path) for t in [*config.lookups, *config.events]]


def refuse_distributed(config: DatasetConfig) -> None:
    """The Dask paths read one partition at a time and do not join related tables yet: say so in one line."""
    if config.lookups or config.events:
        raise ContractError(
            f"dataset config '{config.name}' declares lookups or event tables, which --dask does not support yet; "
            "run without --dask"
        )


def _own_reading(config: DatasetConfig, table) -> DatasetConfig:
    """The config as one related table is read: its own timestamp_format, decimal and thousands where given."""
    update = {k: getattr(table, k) for k in ("timestamp_format", "decimal", "thousands") if getattr(table, k, None)}
    if "decimal" in update and "thousands" not in update:
        update["thousands"] = None  # a table that names its own decimal mark groups thousands its own way too
    return config.model_copy(update=update) if update else config


def _as_leads_number(values: pd.Series, table, config: DatasetConfig) -> pd.Series:
    """A lookup's number texts rewritten as the leads' own numbers read ('1.234,5' -> '1234.5' -> '1234,5'
    under leads with a decimal comma), so canonical_leads reads the joined column with the top-level setting."""
    dotted = dot_decimal(values, table.decimal or config.decimal, table.thousands)
    return dotted.str.replace(".", config.decimal, regex=False) if config.decimal != "." else dotted


def _read(file: str, leads_path: str | Path, config: DatasetConfig, encoding: str | None, delimiter: str | None):
    path = table_path(file, leads_path)
    return path, read_table(path, encoding=encoding or config.encoding, delimiter=delimiter or config.delimiter)


def _text(col: pd.Series, missing: set[str]) -> pd.Series:
    s = col.astype("str").str.strip()
    return s.where(~s.isin(missing) & col.notna()).astype(object)


def join_lookups(
    raw: RawTable, config: DatasetConfig, leads_path: str | Path
) -> tuple[RawTable, pd.DataFrame, dict[str, int], list[str]]:
    """The leads' raw rows with every lookup's columns joined on (as ``lookup.column``).

    Returns (joined leads, rejected lookup rows, rows read per lookup, warnings).
    """
    frame = raw.frame.copy()
    missing = set(config.missing_values)
    rejects, rows_in, warnings = [], {}, []
    for t in config.lookups:
        path, table = _read(t.file, leads_path, config, t.encoding, t.delimiter)
        rows_in[t.name] = table.rows_in
        require_columns(
            table.frame, [t.id] + [a.source for a in t.attributes if a.role != "exclude"], f"{path}: {t.name}"
        )
        parent = t.key if t.via == "leads" else f"{t.via}.{t.key}"
        if parent not in frame.columns:
            where = "the leads file" if t.via == "leads" else f"lookup '{t.via}'"
            raise ContractError(f"lookup '{t.name}': key column {t.key!r} is not in {where}; check lookups.key")
        ids = _text(table.frame[t.id], missing)
        reasons: dict[int, list[str]] = {}
        for idx in np.flatnonzero(ids.isna().to_numpy()):
            reasons[idx] = [f"{t.id}: missing"]
        dupe = ids.notna() & ids.duplicated(keep="first")
        for idx in np.flatnonzero(dupe.to_numpy()):
            # the key's value stays out of the rejects: some CRMs key contacts by their email
            reasons[idx] = [f"{t.id}: duplicate key, the first row with it is used"]
        if dupe.any():
            warnings.append(
                f"{t.name}: {int(dupe.sum()):,} rows repeat an id already seen in {path.name}; the first row of "
                "each id is used, the others are in the rejects"
            )
        rejects.append(rejects_frame(t.name, table, reasons))
        keep = ids.notna() & ~dupe
        body = table.frame[keep.to_numpy()].copy()
        if t.decimal or t.thousands:
            for a in t.attributes:
                if a.role == "numeric":
                    body[a.source] = _as_leads_number(body[a.source].astype("str"), t, config).where(
                        body[a.source].notna()
                    )
        body.index = pd.Index(ids[keep].to_numpy(dtype=object))
        body.columns = [f"{t.name}.{c}" for c in body.columns]
        clash = sorted(set(body.columns) & set(frame.columns))
        if clash:
            raise ContractError(f"lookup '{t.name}': the leads already have column(s) {clash}; rename the lookup")
        keys = _text(frame[parent], missing)
        joined = body.reindex(keys.to_numpy(dtype=object))
        joined.index = frame.index
        unmatched = int((keys.notna() & ~keys.isin(body.index)).sum())
        if unmatched:
            warnings.append(
                f"{t.name}: {unmatched:,} leads have a {t.key} with no row in {path.name}; their {t.name} "
                "attributes are missing"
            )
        frame = pd.concat([frame, joined], axis=1)
    out = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=REJECT_COLUMNS)
    return RawTable(frame, raw.rows, raw.malformed), out, rows_in, warnings


def _lead_ids(raw: RawTable, config: DatasetConfig) -> pd.Series:
    """Each raw leads row's lead id, as canonical_leads reads it."""
    if config.leads.lead_id:
        return _text(raw.frame[config.leads.lead_id], set(config.missing_values))
    return pd.Series([f"row-{r}" for r in raw.rows], dtype=object)


def load_events(
    joined: RawTable,
    leads: pd.DataFrame,
    config: DatasetConfig,
    leads_path: str | Path,
    *,
    rejected_ids: set[str],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], list[str]]:
    """Every event table as canonical activity rows (with value columns), their rejects, rows read per table,
    and warnings.

    ``joined`` is the leads' raw rows with the lookups joined on (``join_lookups``), ``leads`` the valid leads.
    Called only for a config with event tables.
    """
    missing = set(config.missing_values)
    valid = pd.Index(leads["lead_id"].astype(object))
    raw_ids = _lead_ids(joined, config)
    frames, rejects, rows_in, warnings = [], [], {}, []
    lead_zoned = bool(config.leads.mql_at) and has_offset(joined.frame[config.leads.mql_at])
    ids = value_ids(config)
    for e in config.events:
        path, table = _read(e.file, leads_path, config, e.encoding, e.delimiter)
        rows_in[e.name] = table.rows_in
        df = table.frame
        require_columns(
            df, [e.key, e.occurred_at] + ([e.activity_type] if e.activity_type else []) + e.values, f"{path}: {e.name}"
        )
        reasons: dict[int, list[str]] = {}
        keys = _text(df[e.key], missing)
        for idx in np.flatnonzero(keys.isna().to_numpy()):
            reasons.setdefault(idx, []).append(f"{e.key}: missing")
        own = _own_reading(config, e)
        at = parse_ts(df[e.occurred_at], own, "occurred_at", reasons, required=True)
        if has_offset(df[e.occurred_at]) != lead_zoned:
            warnings.append(
                f"{'leads' if lead_zoned else e.name} timestamps carry time-zone offsets and the "
                f"{e.name if lead_zoned else 'leads'} do not; those are read as {config.timezone}. If that is wrong, "
                "set timezone in the dataset config, or events may land on the wrong side of the MQL moment."
            )
        kind = _text(df[e.activity_type], {""}) if e.activity_type else pd.Series(e.fixed_type, index=df.index)
        for idx in np.flatnonzero(kind.isna().to_numpy()):
            reasons.setdefault(idx, []).append("activity_type: missing")
        out = pd.DataFrame({"row": np.arange(len(df)), "key": keys, "occurred_at": at, "activity_type": kind})
        for v in e.values:
            col = ids[(e.name, v)]
            text = _text(df[v], missing)
            num = pd.to_numeric(as_dot_decimal(text, own), errors="coerce")
            bad = text.notna() & (num.isna() | ~np.isfinite(num.fillna(0)))
            for idx in np.flatnonzero(bad.to_numpy()):
                reasons.setdefault(idx, []).append(f"{v}: not a finite number ({text.iat[idx][:40]!r})")
            out[col] = num.where(~bad).astype(float)
        if e.matches == "lead_id":
            pairs = pd.DataFrame({"key": valid, "lead_id": valid})
            why = "lead_id: no lead with this id"
        else:
            lookup = next(t for t in config.lookups if t.name == e.matches)
            pairs = pd.DataFrame({"key": joined.frame[f"{lookup.name}.{lookup.id}"], "lead_id": raw_ids})
            pairs["key"] = _text(pairs["key"], missing)
            pairs = pairs[pairs["key"].notna() & pairs["lead_id"].isin(valid)]
            why = f"{e.key}: no lead with this {lookup.name} id"
        merged = out.merge(pairs, on="key", how="left")
        unknown = merged.loc[merged["lead_id"].isna() & merged["key"].notna(), ["row", "key"]].drop_duplicates("row")
        for idx, key in zip(unknown["row"], unknown["key"], strict=True):
            lead_gone = e.matches == "lead_id" and key in rejected_ids
            reasons.setdefault(idx, []).append(
                "lead_id: its lead was rejected (see the leads rows)" if lead_gone else why
            )
        rejects.append(rejects_frame(e.name, table, reasons, keys if e.matches == "lead_id" else None))
        good = merged[~merged["row"].isin(list(reasons))]
        frames.append(good.drop(columns=["row", "key"]))
    acts = pd.concat(frames, ignore_index=True)
    acts["lead_id"] = acts["lead_id"].astype(object)
    acts["occurred_at"] = acts["occurred_at"].astype("datetime64[ns]")
    acts["activity_type"] = acts["activity_type"].astype(object)
    out_cols = ["lead_id", "occurred_at", "activity_type", *value_columns(config)]
    return acts[out_cols], pd.concat(rejects, ignore_index=True), rows_in, warnings
