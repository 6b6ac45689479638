"""An export's leads and activities mapped onto the canonical tables: (valid rows, rejects) of each."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.arrow_text import arrow_chunks, blank_to_missing, strip_text
from features.config import DatasetConfig
from features.reader import ContractError, RawTable
from features.schema import leads_schema, rejects_frame, schema_reasons
from features.sniff import dot_decimal
from features.timestamps import parse_ts


def require_columns(df: pd.DataFrame, columns: list[str], path: str) -> None:
    """Refuse a table (ContractError naming ``path``) that lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ContractError(f"{path}: required column(s) {missing} not found; columns present: {list(df.columns)}")


def _split(table: str, raw: RawTable, out: pd.DataFrame, reasons: dict[int, list[str]]):
    """(valid rows, rejects): the rows with reasons, plus the rows that did not parse at all."""
    rejects = rejects_frame(table, raw, reasons, out["lead_id"])
    if not reasons:  # nothing to drop: the frame as it is (a filter copied every column)
        return out, rejects
    keep = np.ones(len(out), bool)
    keep[sorted(reasons)] = False
    return out[keep].reset_index(drop=True), rejects


def canonical_leads(
    raw: RawTable | pd.DataFrame, config: DatasetConfig, *, source: str = "leads"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export's leads onto the canonical table; return (valid leads, rejects)."""
    raw = _as_raw(raw)
    df = raw.frame
    m = config.leads
    needed = [c for c in (m.lead_id, m.mql_at, m.sql_at, m.created_at) if c]
    if config.outcome.kind != "sql_date":
        needed.append(config.outcome.column)
    require_columns(df, needed + [a.source for a in config.attributes if config.reads(a)], source)
    missing = set(config.missing_values)
    reasons: dict[int, list[str]] = {}

    def text(col: str) -> pd.Series:
        s = df[col].astype("str").str.strip()
        return s.where(~s.isin(missing) & df[col].notna())

    ids = text(m.lead_id) if m.lead_id else pd.Series([f"row-{r}" for r in raw.rows], dtype="str")
    out = pd.DataFrame({"lead_id": ids})
    if m.mql_at:
        out["mql_at"] = parse_ts(df[m.mql_at], config, "mql_at", reasons, required=True)
    else:
        # no timestamps: a stand-in that keeps the file's row order, used only to order and split leads
        out["mql_at"] = (pd.Timestamp("2000-01-01") + pd.to_timedelta(raw.rows, unit="s")).astype("datetime64[ns]")
    out["sql_at"] = (
        parse_ts(df[m.sql_at], config, "sql_at", reasons, required=False)
        if m.sql_at
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    )
    out["created_at"] = (
        parse_ts(df[m.created_at], config, "created_at", reasons, required=False)
        if m.created_at
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    )
    if config.outcome.kind != "sql_date":
        flag = text(config.outcome.column).str.lower()
        positive = {p.lower() for p in config.outcome.positive}
        out["outcome"] = np.where(flag.isna(), np.nan, flag.isin(positive).astype(float))
    for attr in config.attributes:
        if not config.reads(attr):
            continue
        values = text(attr.source)
        if attr.role == "numeric":
            num = pd.to_numeric(as_dot_decimal(values, config), errors="coerce")
            bad = values.notna() & (num.isna() | ~np.isfinite(num.fillna(0)))
            for idx in np.flatnonzero(bad.to_numpy()):
                reasons.setdefault(idx, []).append(f"{attr.name}: not a finite number ({values.iloc[idx][:40]!r})")
            out[attr.name] = num.where(~bad).astype(float)
        else:
            out[attr.name] = values
    schema_reasons(leads_schema(config), out, reasons)
    return _split("leads", raw, out, reasons)


def as_dot_decimal(values: pd.Series, config: DatasetConfig) -> pd.Series:
    """'1.234,5' -> '1234.5' under decimal ',' and thousands '.'; untouched with the defaults."""
    return dot_decimal(values, config.decimal, config.thousands)


def canonical_activities(
    raw: RawTable | pd.DataFrame,
    config: DatasetConfig,
    lead_ids: pd.Series,
    *,
    rejected_ids: set[str] | None = None,
    source: str = "activities",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export's activities onto the canonical table; activities of unknown leads are rejected."""
    raw = _as_raw(raw)
    df = raw.frame
    m = config.activities
    if m is None:
        raise ContractError(f"{source}: the dataset config has no [activities] mapping")
    require_columns(df, [m.lead_id, m.occurred_at, m.activity_type], source)
    reasons: dict[int, list[str]] = {}
    # the raw text itself when no value needs stripping or blanking: 740 MB less at 20M activities
    out = pd.DataFrame(
        {
            "lead_id": blank_to_missing(strip_text(df[m.lead_id])),
            "occurred_at": parse_ts(df[m.occurred_at], config, "occurred_at", reasons, required=True),
            "activity_type": blank_to_missing(strip_text(df[m.activity_type])),
        }
    )
    # the activities schema's rule, column by column in numpy: every value present (pandera's lazy
    # validation of 4M rows built a failure-case frame first); a value parse_ts could not read is explained
    for column in ("lead_id", "occurred_at", "activity_type"):
        for idx in np.flatnonzero(out[column].isna().to_numpy()):
            bucket = reasons.setdefault(int(idx), [])
            if not any(b.startswith(f"{column}:") for b in bucket):
                bucket.append(f"{column}: missing")
    # each activity's lead, by position among ``lead_ids``: the membership check here and the features'
    # join (features.build) use the same lookup, computed once
    pos = _positions(out["lead_id"], lead_ids)
    unknown = out["lead_id"].notna().to_numpy() & (pos < 0)
    rejected_ids = rejected_ids or set()
    for idx in np.flatnonzero(unknown):
        why = (
            "lead_id: its lead was rejected (see the leads rows)"
            if out["lead_id"].iat[idx] in rejected_ids
            else "lead_id: no lead with this id"
        )
        reasons.setdefault(int(idx), []).append(why)
    valid, rejects = _split("activities", raw, out, reasons)
    if isinstance(lead_ids, pd.Series):
        kept = np.ones(len(pos), bool)
        kept[sorted(reasons)] = False
        _remember(lead_ids, valid["lead_id"], pos[kept] if reasons else pos)
    return valid, rejects


def _positions(ids: pd.Series, lead_ids: pd.Series | np.ndarray) -> np.ndarray:
    """Each id's position among ``lead_ids`` (-1 where none), by Arrow's hash lookup (one hash table for all
    chunks: a call per chunk rebuilt it for each of the ~1,200 chunks of a 20M-row CSV read)."""
    wide = pa.large_string()
    value_set = pa.array(pd.Series(lead_ids, dtype="str"), type=wide, from_pandas=True)
    chunks = arrow_chunks(ids)
    values = (
        pa.chunked_array([c.cast(wide) for c in chunks], type=wide)
        if chunks is not None
        else pa.array(ids.astype("str"), type=wide, from_pandas=True)
    )
    index = pc.index_in(values, value_set=value_set, skip_nulls=True)
    return index.fill_null(-1).to_numpy().astype(np.int32, copy=False) if len(index) else np.zeros(0, np.int32)


# the last activities table validated against a leads table: (leads' ids, activities' ids, fingerprints,
# positions), or None; one slot read and written whole, so a reader on another thread sees an entry or None
_LAST: list = [None]


def _fingerprint(ids: pd.Series) -> tuple | None:
    """Where an Arrow-backed id column's values live (buffer, offset, length per chunk); None if not Arrow."""
    chunks = arrow_chunks(ids)
    if chunks is None:
        return None
    return tuple((getattr(c.buffers()[1], "address", 0), c.offset, len(c)) for c in chunks)


def _forget(_ref: weakref.ref) -> None:
    _LAST[0] = None  # a table gone frees its positions (80 MB at 20M activities)


def _remember(lead_ids: pd.Series, act_ids: pd.Series, pos: np.ndarray) -> None:
    both = (_fingerprint(lead_ids), _fingerprint(act_ids))
    entry = None
    if None not in both:
        entry = (weakref.ref(lead_ids.array, _forget), weakref.ref(act_ids.array, _forget), both, pos)
    _LAST[0] = entry


def lead_positions(lead_ids: pd.Series, act_ids: pd.Series) -> np.ndarray | None:
    """Each activity's position among the leads, as ``canonical_activities`` found it when it validated these
    very columns (the same arrays, their values unchanged); None when it did not, and the caller looks up."""
    entry = _LAST[0]
    if entry is None:
        return None
    leads_ref, acts_ref, both, pos = entry
    same = leads_ref() is lead_ids.array and acts_ref() is act_ids.array
    return pos if same and both == (_fingerprint(lead_ids), _fingerprint(act_ids)) else None


def _as_raw(raw: RawTable | pd.DataFrame) -> RawTable:
    if isinstance(raw, RawTable):
        return raw
    frame = raw.reset_index(drop=True)
    return RawTable(frame, np.arange(1, len(frame) + 1), [])
