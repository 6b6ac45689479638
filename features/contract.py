"""The canonical tables as pandera schemas, and loading a CRM export onto them.

Rows that break the contract go to a rejects table (source file, row number, lead id, reasons); the
rest go on. Problems with a whole file (missing, empty, a required column absent) raise ContractError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_mod
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.config import DatasetConfig

MIN_TS = pd.Timestamp("1970-01-01")
REJECT_COLUMNS = ["table", "row", "lead_id", "reason"]


class ContractError(ValueError):
    """A file that cannot be loaded at all; the message names the file and what is wrong."""


def leads_schema(config: DatasetConfig) -> pa.DataFrameSchema:
    """Schema of the canonical leads table for this dataset."""
    ts = "datetime64[ns]"
    columns: dict[str, pa.Column] = {
        "lead_id": pa.Column(str, nullable=False, unique=True, report_duplicates="all"),
        "mql_at": pa.Column(ts, nullable=False),
        "sql_at": pa.Column(ts, nullable=True),
        "created_at": pa.Column(ts, nullable=True),
    }
    for attr in config.leads.attributes:
        if attr.role == "numeric":
            columns[attr.name] = pa.Column(float, nullable=True)
        elif attr.role != "exclude":
            columns[attr.name] = pa.Column(str, nullable=True)
    checks = [
        pa.Check(lambda d: d["sql_at"].isna() | (d["sql_at"] >= d["mql_at"]), name="sql_at is not before mql_at"),
        pa.Check(
            lambda d: d["created_at"].isna() | (d["created_at"] <= d["mql_at"]), name="created_at is not after mql_at"
        ),
    ]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, coerce=False)


ACTIVITIES_SCHEMA = pa.DataFrameSchema(
    {
        "lead_id": pa.Column(str, nullable=False),
        "occurred_at": pa.Column("datetime64[ns]", nullable=False),
        "activity_type": pa.Column(str, nullable=False),
    },
    strict=False,
)


@dataclass(frozen=True)
class LoadedExport:
    leads: pd.DataFrame
    activities: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: dict[str, int]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (optionally .gz) or Parquet file with every column as text."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: file is empty")
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            table = table.cast(pyarrow_mod.schema([(f.name, pyarrow_mod.string()) for f in table.schema]))
        else:
            # read the header first so that every column is read as text: ids such as 00123 keep their zeros
            names = pacsv.open_csv(path).schema.names
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pyarrow_mod.string() for n in names}, strings_can_be_null=False
                ),
            )
    except (pyarrow_mod.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: cannot be read as a table ({exc})") from None
    return table.to_pandas()


def _require(df: pd.DataFrame, columns: list[str], path: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ContractError(f"{path}: required column(s) {missing} not found; columns present: {list(df.columns)}")


def _parse_ts(raw: pd.Series, fmt: str, name: str, reasons: dict[int, list[str]], *, required: bool) -> pd.Series:
    """Parse timestamps to naive UTC; unparseable or out-of-range values are noted as reasons."""
    text = raw.astype("str").where(raw.notna(), "")
    empty = text.str.strip() == ""
    fmt_arg = None if fmt == "ISO8601" else fmt
    parsed = pd.to_datetime(text.where(~empty), format=fmt_arg or "ISO8601", errors="coerce", utc=True)
    parsed = parsed.dt.tz_convert(None)
    bad = ~empty & parsed.isna()
    early = parsed < MIN_TS
    future = parsed > pd.Timestamp.now() + pd.Timedelta(days=1)
    for idx in np.flatnonzero(bad.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: not a timestamp ({str(text.iloc[idx])[:40]!r})")
    for idx in np.flatnonzero(early.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: before 1970 ({text.iloc[idx][:40]!r})")
    for idx in np.flatnonzero(future.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: in the future ({text.iloc[idx][:40]!r})")
    if required:
        for idx in np.flatnonzero(empty.to_numpy()):
            reasons.setdefault(idx, []).append(f"{name}: missing")
    return parsed.where(~(early | future)).astype("datetime64[ns]")


def _schema_reasons(schema: pa.DataFrameSchema, df: pd.DataFrame, reasons: dict[int, list[str]]) -> None:
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        rowwise = fc[fc["index"].notna()]
        frame_level = fc[fc["index"].isna()]
        if len(frame_level):
            raise ContractError(
                "table-level contract failure: " + "; ".join(f"{r.column}: {r.check}" for r in frame_level.itertuples())
            ) from None
        for r in rowwise.itertuples():
            column = r.column if r.column in df.columns and r.schema_context == "Column" else ""
            rule = {"not_nullable": "missing", "field_uniqueness": "duplicate lead_id"}.get(str(r.check), str(r.check))
            text = f"{column}: {rule}" if column else rule
            bucket = reasons.setdefault(int(r.index), [])
            # a value we could not parse is already explained; pandera then sees it as missing
            already = rule == "missing" and any(b.startswith(f"{column}:") for b in bucket)
            if text not in bucket and not already:
                bucket.append(text)


def _rejects(table: str, rows: pd.Series, ids: pd.Series, reasons: dict[int, list[str]]) -> pd.DataFrame:
    pos = sorted(reasons)
    return pd.DataFrame(
        {
            "table": table,
            "row": rows.to_numpy()[pos] if pos else np.array([], dtype=int),
            "lead_id": ids.to_numpy()[pos] if pos else np.array([], dtype=object),
            "reason": ["; ".join(reasons[p]) for p in pos],
        }
    )


def canonical_leads(
    raw: pd.DataFrame, config: DatasetConfig, *, source: str = "leads"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export's leads onto the canonical table; return (valid leads, rejects)."""
    m = config.leads
    _require(
        raw,
        [m.lead_id, m.mql_at, m.sql_at]
        + ([m.created_at] if m.created_at else [])
        + [a.source for a in m.attributes if a.role != "exclude"],
        source,
    )
    raw = raw.reset_index(drop=True)
    missing = set(config.missing_values)
    reasons: dict[int, list[str]] = {}

    def text(col: str) -> pd.Series:
        s = raw[col].astype("str").str.strip()
        return s.where(~s.isin(missing) & raw[col].notna())

    out = pd.DataFrame({"lead_id": text(m.lead_id)})
    out["mql_at"] = _parse_ts(raw[m.mql_at], config.timestamp_format, "mql_at", reasons, required=True)
    out["sql_at"] = _parse_ts(raw[m.sql_at], config.timestamp_format, "sql_at", reasons, required=False)
    out["created_at"] = (
        _parse_ts(raw[m.created_at], config.timestamp_format, "created_at", reasons, required=False)
        if m.created_at
        else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    )
    for attr in m.attributes:
        if attr.role == "exclude":
            continue
        values = text(attr.source)
        if attr.role == "numeric":
            num = pd.to_numeric(values, errors="coerce")
            bad = values.notna() & (num.isna() | ~np.isfinite(num.fillna(0)))
            for idx in np.flatnonzero(bad.to_numpy()):
                reasons.setdefault(idx, []).append(f"{attr.name}: not a finite number ({values.iloc[idx][:40]!r})")
            out[attr.name] = num.where(~bad).astype(float)
        else:
            out[attr.name] = values
    _schema_reasons(leads_schema(config), out, reasons)
    rows = pd.Series(np.arange(1, len(raw) + 1))
    rejects = _rejects("leads", rows, out["lead_id"], reasons)
    keep = np.ones(len(out), bool)
    keep[list(reasons)] = False
    return out[keep].reset_index(drop=True), rejects


def canonical_activities(
    raw: pd.DataFrame, config: DatasetConfig, lead_ids: pd.Series, *, source: str = "activities"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map an export's activities onto the canonical table; activities of unknown leads are rejected."""
    m = config.activities
    if m is None:
        raise ContractError(f"{source}: the dataset config has no [activities] mapping")
    _require(raw, [m.lead_id, m.occurred_at, m.activity_type], source)
    raw = raw.reset_index(drop=True)
    reasons: dict[int, list[str]] = {}
    ids = raw[m.lead_id].astype("str").str.strip()
    kind = raw[m.activity_type].astype("str").str.strip()
    out = pd.DataFrame(
        {
            "lead_id": ids.where(ids != ""),
            "occurred_at": _parse_ts(
                raw[m.occurred_at], config.timestamp_format, "occurred_at", reasons, required=True
            ),
            "activity_type": kind.where(kind != ""),
        }
    )
    _schema_reasons(ACTIVITIES_SCHEMA, out, reasons)
    unknown = out["lead_id"].notna() & ~out["lead_id"].isin(set(lead_ids))
    for idx in np.flatnonzero(unknown.to_numpy()):
        reasons.setdefault(idx, []).append("lead_id: no valid lead with this id")
    rows = pd.Series(np.arange(1, len(raw) + 1))
    rejects = _rejects("activities", rows, out["lead_id"], reasons)
    keep = np.ones(len(out), bool)
    keep[list(reasons)] = False
    return out[keep].reset_index(drop=True), rejects


def load_export(leads_path: str | Path, activities_path: str | Path | None, config: DatasetConfig) -> LoadedExport:
    """Read and validate a CRM export; every input row ends up in the result or in its rejects."""
    raw_leads = read_table(leads_path)
    leads, rej_l = canonical_leads(raw_leads, config, source=str(leads_path))
    rows_in = {"leads": len(raw_leads), "activities": 0}
    if activities_path is not None:
        raw_acts = read_table(activities_path)
        rows_in["activities"] = len(raw_acts)
        acts, rej_a = canonical_activities(raw_acts, config, leads["lead_id"], source=str(activities_path))
    else:
        acts = pd.DataFrame(
            {
                "lead_id": pd.Series(dtype="str"),
                "occurred_at": pd.Series(dtype="datetime64[ns]"),
                "activity_type": pd.Series(dtype="str"),
            }
        )
        rej_a = pd.DataFrame(columns=REJECT_COLUMNS)
    rejects = pd.concat([rej_l, rej_a], ignore_index=True) if len(rej_a) else rej_l
    return LoadedExport(leads, acts, rejects, rows_in)


def fingerprint_files(*paths: str | Path | None) -> str:
    """SHA-256 (first 16 hex digits) over the bytes of the input files: identifies the export used."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]
