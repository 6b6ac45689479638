"""The canonical tables as pandera schemas, their failures as reject reasons, and the rejects table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.config import DatasetConfig
from features.reader import ContractError, RawTable

REJECT_COLUMNS = ["table", "row", "lead_id", "reason"]


def leads_schema(config: DatasetConfig) -> pa.DataFrameSchema:
    """Schema of the canonical leads table for this dataset."""
    ts = "datetime64[ns]"
    columns: dict[str, pa.Column] = {
        "lead_id": pa.Column(str, nullable=False, unique=True, report_duplicates="all"),
        "mql_at": pa.Column(ts, nullable=False),
        "sql_at": pa.Column(ts, nullable=True),
        "created_at": pa.Column(ts, nullable=True),
    }
    if config.outcome.kind != "sql_date":
        columns["outcome"] = pa.Column(float, nullable=True, checks=pa.Check.isin([0.0, 1.0]))
    for attr in config.attributes:
        if attr.role == "numeric":
            columns[attr.name] = pa.Column(float, nullable=True)
        elif config.reads(attr):
            columns[attr.name] = pa.Column(str, nullable=True)
    # a missing mql_at is reported once, as missing, not again by the ordering rules
    checks = [
        pa.Check(
            lambda d: d["sql_at"].isna() | d["mql_at"].isna() | (d["sql_at"] >= d["mql_at"]),
            name="sql_at is not before mql_at",
        ),
        pa.Check(
            lambda d: d["created_at"].isna() | d["mql_at"].isna() | (d["created_at"] <= d["mql_at"]),
            name="created_at is not after mql_at",
        ),
    ]
    return pa.DataFrameSchema(columns, checks=checks, strict=True, coerce=False)


def schema_reasons(schema: pa.DataFrameSchema, df: pd.DataFrame, reasons: dict[int, list[str]]) -> None:
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


def rejects_frame(
    table: str, raw: RawTable, reasons: dict[int, list[str]], lead_ids: np.ndarray | pd.Series | None = None
) -> pd.DataFrame:
    """The rejects of one table: the rows with reasons (with their lead ids when known), plus the rows that
    did not parse at all, by data-row number."""
    pos = sorted(reasons)
    ids = None
    if lead_ids is not None and pos:  # only the rejected rows' ids become Python objects
        picked = lead_ids.iloc[pos] if isinstance(lead_ids, pd.Series) else np.asarray(lead_ids)[pos]
        ids = np.asarray(picked, dtype=object)
    rejects = pd.DataFrame(
        {
            "table": table,
            "row": raw.rows[pos] if pos else np.array([], dtype=np.int64),
            "lead_id": ids if ids is not None else np.full(len(pos), None, dtype=object),
            "reason": ["; ".join(reasons[p]) for p in pos],
        },
        columns=REJECT_COLUMNS,
    )
    if raw.malformed:
        bad = pd.DataFrame(
            {
                "table": table,
                "row": [r for r, _ in raw.malformed],
                "lead_id": None,
                "reason": [why for _, why in raw.malformed],
            }
        )
        rejects = pd.concat([rejects, bad], ignore_index=True).sort_values("row", ignore_index=True)
    return rejects
