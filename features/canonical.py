"""An export's leads and activities mapped onto the canonical tables: (valid rows, rejects) of each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.arrow_text import arrow_chunks
from features.config import DatasetConfig
from features.reader import ContractError, RawTable
from features.schema import ACTIVITIES_SCHEMA, leads_schema, rejects_frame, schema_reasons
from features.sniff import dot_decimal
from features.timestamps import parse_ts


def require_columns(df: pd.DataFrame, columns: list[str], path: str) -> None:
    """Refuse a table (ContractError naming ``path``) that lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ContractError(f"{path}: required column(s) {missing} not found; columns present: {list(df.columns)}")


def _split(table: str, raw: RawTable, out: pd.DataFrame, reasons: dict[int, list[str]]):
    """(valid rows, rejects): the rows with reasons, plus the rows that did not parse at all."""
    rejects = rejects_frame(table, raw, reasons, out["lead_id"].to_numpy())
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
    ids = df[m.lead_id].astype("str").str.strip()
    kind = df[m.activity_type].astype("str").str.strip()
    out = pd.DataFrame(
        {
            "lead_id": ids.where(ids != ""),
            "occurred_at": parse_ts(df[m.occurred_at], config, "occurred_at", reasons, required=True),
            "activity_type": kind.where(kind != ""),
        }
    )
    schema_reasons(ACTIVITIES_SCHEMA, out, reasons)
    known = pd.Series(lead_ids, dtype="str").dropna().unique()
    chunks = arrow_chunks(out["lead_id"])
    if chunks is not None:  # Arrow's hash set (pandas' isin on Arrow text first walks the ids in Python)
        value_set = pa.array(np.asarray(known, dtype=object), type=pa.large_string())
        # one call over all chunks: the hash set of known ids is built once (a call per chunk rebuilt it
        # for each of the ~1,200 chunks of a 20M-row CSV read: minutes instead of seconds)
        wide = pa.large_string()
        found = pc.is_in(pa.chunked_array([c.cast(wide) for c in chunks], type=wide), value_set=value_set)
        member = found.to_numpy(zero_copy_only=False) if len(found) else np.zeros(0, bool)
    else:
        member = out["lead_id"].isin(known).to_numpy(dtype=bool)
    unknown = out["lead_id"].notna() & ~pd.Series(member, index=out.index).fillna(False).astype(bool)
    rejected_ids = rejected_ids or set()
    for idx in np.flatnonzero(unknown.to_numpy()):
        why = (
            "lead_id: its lead was rejected (see the leads rows)"
            if out["lead_id"].iat[idx] in rejected_ids
            else "lead_id: no lead with this id"
        )
        reasons.setdefault(idx, []).append(why)
    return _split("activities", raw, out, reasons)


def _as_raw(raw: RawTable | pd.DataFrame) -> RawTable:
    if isinstance(raw, RawTable):
        return raw
    frame = raw.reset_index(drop=True)
    return RawTable(frame, np.arange(1, len(frame) + 1), [])
