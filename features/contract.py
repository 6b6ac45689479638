"""The canonical tables as pandera schemas, and loading a CRM export onto them.

Rows that break the contract go to a rejects table (table, data-row number, lead id, reasons); the
rest go on. Problems with a whole file (missing, empty, unreadable, a required column absent, no valid
lead left) raise ContractError with a message that names the file and what to do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_mod
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.config import DatasetConfig

MIN_TS = pd.Timestamp("1970-01-01")
REJECT_COLUMNS = ["table", "row", "lead_id", "reason"]
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


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
    if config.outcome.kind != "sql_date":
        columns["outcome"] = pa.Column(float, nullable=True, checks=pa.Check.isin([0.0, 1.0]))
    for attr in config.attributes:
        if attr.role == "numeric":
            columns[attr.name] = pa.Column(float, nullable=True)
        elif attr.role != "exclude":
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


ACTIVITIES_SCHEMA = pa.DataFrameSchema(
    {
        "lead_id": pa.Column(str, nullable=False),
        "occurred_at": pa.Column("datetime64[ns]", nullable=False),
        "activity_type": pa.Column(str, nullable=False),
    },
    strict=False,
)


@dataclass(frozen=True)
class RawTable:
    """A file read as text: its parsed rows, their 1-based data-row numbers, and rows that did not parse."""

    frame: pd.DataFrame
    rows: np.ndarray
    malformed: list[tuple[int, str]]

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.malformed)


@dataclass(frozen=True)
class LoadedExport:
    leads: pd.DataFrame
    activities: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: dict[str, int]
    warnings: tuple[str, ...] = ()


def _arrow_message(exc: Exception) -> str:
    # pyarrow quotes the offending row after the second colon: it may hold personal data, so drop it
    return ": ".join(str(exc).split(": ")[:2])[:200]


def read_table(path: str | Path, *, encoding: str = "utf-8", delimiter: str = ",") -> RawTable:
    """Read a CSV (optionally .gz) or Parquet file with every column as text.

    A CSV row with the wrong number of fields is kept out of the frame and reported in ``malformed``
    with its data-row number, never with its content.
    """
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: file is empty")
    malformed: list[tuple[int, str]] = []
    try:
        if path.suffix == ".parquet":
            table = _as_text(pq.read_table(path), path)
        else:
            table = _read_csv(path, encoding, delimiter, malformed)
    except (pyarrow_mod.ArrowInvalid, UnicodeDecodeError) as exc:
        hint = (
            "; set encoding (e.g. 'latin-1') in the dataset config"
            if "UTF8" in str(exc) or isinstance(exc, UnicodeDecodeError)
            else ""
        )
        raise ContractError(f"{path}: cannot be read as a table ({_arrow_message(exc)}){hint}") from None
    except OSError as exc:
        if exc.errno is not None:  # an operating-system I/O error (a network share...): may pass, keep it
            raise
        # pyarrow's decoding errors are OSErrors without errno: a damaged or mislabelled file, which a
        # retry would meet again
        raise ContractError(f"{path}: cannot be read ({_arrow_message(exc)}); is the file complete?") from None
    names = table.schema.names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ContractError(f"{path}: column name(s) used more than once: {dupes}")
    rows = np.arange(1, table.num_rows + len(malformed) + 1, dtype=np.int64)
    if malformed:
        rows = rows[~np.isin(rows, [r for r, _ in malformed])]
    return RawTable(table.to_pandas(), rows, malformed)


def _as_text(table: pyarrow_mod.Table, path: Path) -> pyarrow_mod.Table:
    """Every Parquet column as text, one at a time so that a column that cannot be text is named."""
    columns = []
    for f, col in zip(table.schema, table.columns, strict=True):
        try:
            columns.append(col.cast(pyarrow_mod.string()))
        except pyarrow_mod.ArrowNotImplementedError:  # lists, structs, maps: no single text value per cell
            raise ContractError(
                f"{path}: column {f.name!r} holds {f.type} values, not single values; export it as text"
            ) from None
        except pyarrow_mod.ArrowInvalid as exc:
            hint = "; set encoding (e.g. 'latin-1') in the dataset config" if "UTF8" in str(exc) else ""
            raise ContractError(
                f"{path}: column {f.name!r} cannot be read as text ({_arrow_message(exc)}){hint}"
            ) from None
    return pyarrow_mod.Table.from_arrays(columns, names=table.schema.names)


def _read_csv(path: Path, encoding: str, delimiter: str, malformed: list[tuple[int, str]]) -> pyarrow_mod.Table:
    multiline: list[int] = []  # malformed rows whose text spans lines: maybe an unclosed quote

    def on_bad_row(row) -> str:
        # row.number counts the header as row 1; pyarrow knows it only when reading on one thread
        malformed.append(
            (
                row.number - 1 if row.number is not None else -1,
                f"row has {row.actual_columns} fields, expected {row.expected_columns}",
            )
        )
        if row.text and ("\n" in row.text or "\r" in row.text):
            multiline.append(len(malformed))
        return "skip"

    data: bytes | None = None  # the file's bytes, when they must be amended before pyarrow reads them

    def source() -> Path | pyarrow_mod.BufferReader:
        return path if data is None else pyarrow_mod.BufferReader(data)

    def read_once(block_size: int | None) -> pyarrow_mod.Table:
        nonlocal data
        read = pacsv.ReadOptions(encoding=encoding, block_size=block_size)
        # read the header first so that every column is read as text: ids such as 00123 keep their zeros
        try:
            with pacsv.open_csv(source(), read_options=read, parse_options=parse) as reader:
                names = reader.schema.names
        except pyarrow_mod.ArrowInvalid as exc:
            if "Empty CSV file" not in str(exc) or data is not None:
                raise
            # pyarrow reads a header without a line end as no file at all
            with pyarrow_mod.input_stream(str(path), compression="detect") as fh:
                data = fh.read()
            if not data.strip():
                raise ContractError(f"{path}: no header and no rows, only blank lines") from None
            data += b"\n"
            return read_once(block_size)
        malformed.clear()  # the header pass may have met a bad row too; the full read below counts them all
        multiline.clear()
        convert = pacsv.ConvertOptions(column_types={n: pyarrow_mod.string() for n in names}, strings_can_be_null=False)
        try:
            table = pacsv.read_csv(source(), read_options=read, parse_options=parse, convert_options=convert)
            if malformed:  # rare: read again on one thread to learn which rows they were
                malformed.clear()
                multiline.clear()
                one = pacsv.ReadOptions(encoding=encoding, block_size=block_size, use_threads=False)
                table = pacsv.read_csv(source(), read_options=one, parse_options=parse, convert_options=convert)
        except pyarrow_mod.ArrowInvalid as exc:
            column = re.search(r"CSV column #(\d+)", str(exc))
            if column and "conversion error to string" in str(exc):
                raise ContractError(
                    f"{path}: column {names[int(column.group(1))]!r} holds bytes that are not {encoding} text; "
                    "set encoding (e.g. 'latin-1') in the dataset config"
                ) from None
            raise
        return table

    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad_row, newlines_in_values=True)
    try:
        table = read_once(None)
    except pyarrow_mod.ArrowInvalid as exc:
        if "straddling object" not in str(exc):
            raise
        # one value longer than pyarrow's 1 MB block: read again in blocks as large as the file
        size = path.stat().st_size if data is None else len(data)
        table = read_once(min(2 * max(size, 1 << 20), 2**31 - 1))
    _refuse_unclosed_quote(path, table, malformed, multiline, encoding, delimiter)
    return table


def _has_line_break(column: pyarrow_mod.ChunkedArray) -> bool:
    """Whether any value holds a line break (LF or CR), from the column's text bytes in one numpy pass
    per chunk (pyarrow's match_substring took 7.7 s for the 20M activities of a 1M-lead export)."""
    if column.type not in (pyarrow_mod.string(), pyarrow_mod.large_string()):
        return pc.any(pc.match_substring_regex(column.cast(pyarrow_mod.string()), "[\r\n]")).as_py() or False
    for chunk in column.chunks:
        offsets, data, _ = _buffers(chunk)
        if len(offsets) < 2 or not len(data):
            continue
        text = data[offsets[0] : offsets[-1]]
        if (text <= 13).any() and ((text == 10) | (text == 13)).any():  # bytes <= 13 are rare: tab, CR, LF
            return True
    return False


def _refuse_unclosed_quote(
    path: Path,
    table: pyarrow_mod.Table,
    malformed: list[tuple[int, str]],
    multiline: list[int],
    encoding: str,
    delimiter: str,
) -> None:
    """Refuse a file where a stray quote made rows vanish into one value (a CSV reader cannot see them).

    A quote that opens a value and is never closed swallows every line after it; one closed in a later
    row joins the rows between into one value. Either way the value spans lines, so the exact check
    (Python's csv module, strict: slower than pyarrow) runs only when some value spans lines, and a row
    with the wrong number of fields that spans lines is refused at once.
    """
    if multiline:
        row = malformed[multiline[0] - 1][0]
        raise ContractError(
            f'{path}: data row {row} has the wrong number of fields and spans several lines: a stray quote (") '
            "probably joined the rows after it into one; fix the quoting"
        )
    spans_lines = any(_has_line_break(col) for col in table.columns)
    if not spans_lines:
        return
    with (
        pyarrow_mod.input_stream(str(path), compression="detect") as raw,
        io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text,
    ):
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        limit = csv.field_size_limit(2**31 - 1)  # pyarrow reads values of any length; so must this check
        try:
            for _ in reader:
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise ContractError(
                    f"{path}: a quoted value in the last row read is never closed, so every line after it was "
                    'read into that one value; close or remove the stray quote (")'
                ) from None
            raise ContractError(
                f"{path}: line {reader.line_num}: a quoted value is followed by more text ({exc}); with values "
                'that span lines this means a stray quote (") may have joined rows into one value; fix the quoting'
            ) from None
        finally:
            csv.field_size_limit(limit)


def _require(df: pd.DataFrame, columns: list[str], path: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ContractError(f"{path}: required column(s) {missing} not found; columns present: {list(df.columns)}")


def has_offset(raw: pd.Series) -> bool:
    """Whether any value of a timestamp column carries its own time-zone offset."""
    text = raw.astype("str")
    maybe = _maybe_offset(text)
    if maybe is not None:  # the regex below only on values whose last bytes could be an offset
        text = text[maybe]
    return bool(text.str.strip().str.contains(_OFFSET, regex=True).fillna(False).any())


def _arrow_chunks(text: pd.Series) -> list | None:
    """The Arrow string chunks behind a pandas text column, or None when it is not Arrow-backed."""
    arrow = getattr(text.array, "__arrow_array__", None)
    if arrow is None:
        return None
    chunks = arrow().chunks
    return chunks if all(c.type in (pyarrow_mod.string(), pyarrow_mod.large_string()) for c in chunks) else None


def _buffers(chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets, bytes, valid) of one Arrow string chunk, as numpy views (no copy of the text)."""
    width = np.int64 if chunk.type == pyarrow_mod.large_string() else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = chunk.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    return offsets.astype(np.int64), data, valid


def _maybe_offset(text: pd.Series) -> np.ndarray | None:
    """Rows whose value could end in an offset (Z, +hh:mm, -hhmm, or anything non-ASCII or blank at the
    end): a superset of the offset regex's matches found from three bytes per value; None if not Arrow."""
    chunks = _arrow_chunks(text)
    if chunks is None:
        return None
    parts = []
    for chunk in chunks:
        offsets, data, valid = _buffers(chunk)
        ends, length = offsets[1:], np.diff(offsets)

        def byte(back: int, ends=ends, length=length, data=data) -> np.ndarray:
            ok = length >= back
            return np.where(ok, data[np.where(ok, ends - back, 0)] if len(data) else 0, 0)

        last = byte(1)
        sign5, sign6 = byte(5), byte(6)
        signed = np.isin(sign5, (43, 45)) | np.isin(sign6, (43, 45))  # '+' or '-'
        parts.append(valid & ((last <= 32) | (last >= 127) | (last == ord("Z")) | signed))
    return np.concatenate(parts) if parts else np.zeros(0, bool)


# fixed-width fields a fast path can read digit by digit: (width, lowest, highest)
_FIELDS = {"%Y": (4, 1900, 2200), "%m": (2, 1, 12), "%d": (2, 1, 31), "%H": (2, 0, 23), "%M": (2, 0, 59)}
_FIELDS["%S"] = (2, 0, 59)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _layout(fmt: str) -> list[tuple[str, int, int]] | None:
    """``fmt`` as fixed-width pieces (directive or literal, start, width), or None if it has others.

    ISO8601 reads its most common form, ``YYYY-MM-DD HH:MM:SS`` (or a ``T``); other forms take the slow path.
    """
    if fmt == "ISO8601":
        fmt = "%Y-%m-%d %H:%M:%S"
    pieces, pos, i = [], 0, 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i : i + 2]
            if d not in _FIELDS or d in [p[0] for p in pieces]:
                return None
            pieces.append((d, pos, _FIELDS[d][0]))
            pos, i = pos + _FIELDS[d][0], i + 2
        else:
            if not (32 < ord(fmt[i]) < 127) and fmt[i] != " ":
                return None
            pieces.append((fmt[i], pos, 1))
            pos, i = pos + 1, i + 1
    names = [p[0] for p in pieces]
    if not {"%Y", "%m", "%d"} <= set(names) or fmt[0] == " " or fmt[-1] == " ":
        return None
    sample = "".join("0" * w if n.startswith("%") else n for n, _, w in pieces)
    if re.search(_OFFSET, sample) or re.search(_OFFSET, sample.replace("0", "1")):
        return None  # values of this form would read as carrying an offset: the slow path decides
    return pieces


def _read_fixed(chars: np.ndarray, pieces: list[tuple[str, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(valid, datetime64[ns]) for a (rows, width) byte matrix laid out as ``pieces``."""
    cols = np.ascontiguousarray(chars.T) - np.uint8(48)  # one row per character position; wraps below '0'
    good = np.ones(len(chars), bool)
    field = {}
    for name, start, w in pieces:
        if name.startswith("%"):
            number = np.zeros(len(chars), np.int32)
            for k in range(start, start + w):
                good &= cols[k] <= 9
                number = number * 10 + cols[k]
            good &= (number >= _FIELDS[name][1]) & (number <= _FIELDS[name][2])
            field[name] = number
        else:
            allowed = np.frombuffer(name.encode(), np.uint8) - np.uint8(48)
            good &= cols[start] == allowed[0] if len(allowed) == 1 else np.isin(cols[start], allowed)
    # days since 1970 in integer arithmetic (H. Hinnant's days_from_civil): no per-value calendar calls
    y, m, d = field["%Y"].astype(np.int64), np.clip(field["%m"], 1, 12).astype(np.int64), field["%d"]
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    good &= d <= _MONTH_DAYS[m - 1] + ((m == 2) & leap)
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = days * 86400
    seconds += field.get("%H", 0) * 3600 + field.get("%M", 0) * 60 + field.get("%S", 0)
    values = np.where(good, seconds * 1_000_000_000, np.iinfo(np.int64).min).view("datetime64[ns]")
    return good, values


def _fast_timestamps(raw: pd.Series, fmt: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows read, their datetime64[ns] values) for values written exactly in ``fmt``'s fixed-width form.

    Vectorised over the Arrow bytes: digits where the format has fields, its literals elsewhere, every
    field in range, the day within its month. Every other value (blank, offset, other widths, out of range,
    garbage) is left to ``pd.to_datetime``, which decides as before. None when no fast path applies.
    """
    pieces = _layout(fmt)
    chunks = _arrow_chunks(raw) if pieces is not None else None
    if chunks is None:
        return None
    width = sum(w for _, _, w in pieces)
    if fmt == "ISO8601":  # the date-time separator may be a space or T
        pieces = [p if p != (" ", 10, 1) else ("T ", 10, 1) for p in pieces]
    ok_parts, value_parts = [], []
    for chunk in chunks:
        offsets, data, valid = _buffers(chunk)
        fits = valid & (np.diff(offsets) == width)
        if fits.all() and len(chunk):  # the usual export: every value one width, read in place
            ok, values = _read_fixed(data[offsets[0] : offsets[0] + len(chunk) * width].reshape(-1, width), pieces)
        else:
            ok = np.zeros(len(chunk), bool)
            values = np.full(len(chunk), np.datetime64("NaT"), "datetime64[ns]")
            rows = np.flatnonzero(fits)
            for lo in range(0, len(rows), 1 << 20):  # blocks of 1M values: bounded memory for the byte matrix
                block = rows[lo : lo + (1 << 20)]
                ok[block], values[block] = _read_fixed(data[offsets[block][:, None] + np.arange(width)], pieces)
        ok_parts.append(ok)
        value_parts.append(values)
    if not ok_parts:
        return np.zeros(0, bool), np.zeros(0, "datetime64[ns]")
    return np.concatenate(ok_parts), np.concatenate(value_parts)


def _parse_ts(
    raw: pd.Series, config: DatasetConfig, name: str, reasons: dict[int, list[str]], *, required: bool
) -> pd.Series:
    """Parse timestamps to naive UTC; unparseable or out-of-range values are noted as reasons.

    A value with its own offset (``Z``, ``+01:00``) is converted from it; one without is read in the
    config's ``timezone``. Values written exactly in the format's fixed-width form are read vectorised
    (``_fast_timestamps``); the rest go through ``pd.to_datetime`` as they always did.
    """
    formats = [config.timestamp_format] if isinstance(config.timestamp_format, str) else config.timestamp_format
    utc, empty = _parse_with(raw, formats[0], config)
    for other in formats[1:]:  # a list: each value read by the first format that fits it
        left = np.flatnonzero(~empty & np.isnat(utc))
        if not len(left):
            break
        utc[left] = _parse_with(raw.iloc[left], other, config)[0]
    fmt = " or ".join(formats)
    parsed = pd.Series(utc, index=raw.index)
    bad = ~empty & parsed.isna().to_numpy()
    early = (parsed < MIN_TS).to_numpy()
    future = (parsed > pd.Timestamp.now() + pd.Timedelta(days=1)).to_numpy()

    def shown(idx: int) -> str:
        return str(raw.iloc[idx]).strip()[:40]

    for idx in np.flatnonzero(bad):
        reasons.setdefault(idx, []).append(f"{name}: not a timestamp ({shown(idx)!r}, format {fmt})")
    for idx in np.flatnonzero(early):
        reasons.setdefault(idx, []).append(f"{name}: before 1970 ({shown(idx)!r})")
    for idx in np.flatnonzero(future):
        reasons.setdefault(idx, []).append(f"{name}: in the future ({shown(idx)!r})")
    if required:
        for idx in np.flatnonzero(empty):
            reasons.setdefault(idx, []).append(f"{name}: missing")
    return parsed.where(~(early | future)).astype("datetime64[ns]")


def _parse_with(raw: pd.Series, fmt: str, config: DatasetConfig) -> tuple[np.ndarray, np.ndarray]:
    """(naive UTC datetime64[us], blank) of every value read with one format; NaT where it does not fit."""
    fast = _fast_timestamps(raw, fmt)
    # microseconds hold years 1-9999: a year-1 or year-9999 value must become a reject, not an overflow
    utc = np.full(len(raw), np.datetime64("NaT"), "datetime64[us]")  # naive UTC
    empty = np.zeros(len(raw), bool)
    slow = np.ones(len(raw), bool)
    if fast is not None:
        read, values = fast
        slow = ~read
        if read.any() and config.timezone != "UTC":
            local = pd.DatetimeIndex(values[read])
            local = local.tz_localize(config.timezone, ambiguous="NaT", nonexistent="shift_forward")
            utc[read] = local.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")
        elif read.any():
            utc[read] = values[read]
    if slow.any():
        sub = raw[slow] if not slow.all() else raw
        text = sub.astype("str").where(sub.notna(), "").str.strip()
        zoned = text.str.contains(_OFFSET, regex=True)
        naive = ~zoned & (text != "")
        part = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        if zoned.any():
            part[zoned] = pd.to_datetime(text[zoned], format=fmt, errors="coerce", utc=True).dt.as_unit("us")
        if naive.any():
            local = pd.to_datetime(text[naive], format=fmt, errors="coerce")
            if config.timezone != "UTC":
                local = local.dt.tz_localize(config.timezone, ambiguous="NaT", nonexistent="shift_forward")
            local = local.dt.tz_localize("UTC") if config.timezone == "UTC" else local.dt.tz_convert("UTC")
            part[naive] = local.dt.as_unit("us")
        utc[slow] = part.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
        empty[slow] = (text == "").to_numpy(dtype=bool)
    return utc, empty


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


def rejects_frame(
    table: str, raw: RawTable, reasons: dict[int, list[str]], lead_ids: np.ndarray | pd.Series | None = None
) -> pd.DataFrame:
    """The rejects of one table: the rows with reasons (with their lead ids when known), plus the rows that
    did not parse at all, by data-row number."""
    pos = sorted(reasons)
    ids = np.asarray(lead_ids, dtype=object)[pos] if lead_ids is not None and pos else None
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
    _require(df, needed + [a.source for a in config.attributes if a.role != "exclude"], source)
    missing = set(config.missing_values)
    reasons: dict[int, list[str]] = {}

    def text(col: str) -> pd.Series:
        s = df[col].astype("str").str.strip()
        return s.where(~s.isin(missing) & df[col].notna())

    ids = text(m.lead_id) if m.lead_id else pd.Series([f"row-{r}" for r in raw.rows], dtype="str")
    out = pd.DataFrame({"lead_id": ids})
    if m.mql_at:
        out["mql_at"] = _parse_ts(df[m.mql_at], config, "mql_at", reasons, required=True)
    else:
        # no timestamps: a stand-in that keeps the file's row order, used only to order and split leads
        out["mql_at"] = (pd.Timestamp("2000-01-01") + pd.to_timedelta(raw.rows, unit="s")).astype("datetime64[ns]")
    out["sql_at"] = (
        _parse_ts(df[m.sql_at], config, "sql_at", reasons, required=False)
        if m.sql_at
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    )
    out["created_at"] = (
        _parse_ts(df[m.created_at], config, "created_at", reasons, required=False)
        if m.created_at
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    )
    if config.outcome.kind != "sql_date":
        flag = text(config.outcome.column).str.lower()
        positive = {p.lower() for p in config.outcome.positive}
        out["outcome"] = np.where(flag.isna(), np.nan, flag.isin(positive).astype(float))
    for attr in config.attributes:
        if attr.role == "exclude":
            continue
        values = text(attr.source)
        if attr.role == "numeric":
            num = pd.to_numeric(_as_dot_decimal(values, config), errors="coerce")
            bad = values.notna() & (num.isna() | ~np.isfinite(num.fillna(0)))
            for idx in np.flatnonzero(bad.to_numpy()):
                reasons.setdefault(idx, []).append(f"{attr.name}: not a finite number ({values.iloc[idx][:40]!r})")
            out[attr.name] = num.where(~bad).astype(float)
        else:
            out[attr.name] = values
    _schema_reasons(leads_schema(config), out, reasons)
    return _split("leads", raw, out, reasons)


def _as_dot_decimal(values: pd.Series, config: DatasetConfig) -> pd.Series:
    """'1.234,5' -> '1234.5' under decimal ',' and thousands '.'; untouched with the defaults."""
    from features.sniff import dot_decimal

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
    _require(df, [m.lead_id, m.occurred_at, m.activity_type], source)
    reasons: dict[int, list[str]] = {}
    ids = df[m.lead_id].astype("str").str.strip()
    kind = df[m.activity_type].astype("str").str.strip()
    out = pd.DataFrame(
        {
            "lead_id": ids.where(ids != ""),
            "occurred_at": _parse_ts(df[m.occurred_at], config, "occurred_at", reasons, required=True),
            "activity_type": kind.where(kind != ""),
        }
    )
    _schema_reasons(ACTIVITIES_SCHEMA, out, reasons)
    known = pd.Series(lead_ids, dtype="str").dropna().unique()
    chunks = _arrow_chunks(out["lead_id"])
    if chunks is not None:  # Arrow's hash set (pandas' isin on Arrow text first walks the ids in Python)
        value_set = pyarrow_mod.array(np.asarray(known, dtype=object), type=pyarrow_mod.large_string())
        # one call over all chunks: the hash set of known ids is built once (a call per chunk rebuilt it
        # for each of the ~1,200 chunks of a 20M-row CSV read: minutes instead of seconds)
        wide = pyarrow_mod.large_string()
        found = pc.is_in(pyarrow_mod.chunked_array([c.cast(wide) for c in chunks], type=wide), value_set=value_set)
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
    from features import related  # lookups and event tables: their own module

    raw_leads = read_table(leads_path, encoding=config.encoding, delimiter=config.delimiter)
    raw_leads, rej_lookups, lookup_rows, warnings = related.join_lookups(raw_leads, config, leads_path)
    leads, rej_l = canonical_leads(raw_leads, config, source=str(leads_path))
    if leads.empty:
        raise _all_rejected(leads_path, raw_leads, rej_l)
    rows_in = {"leads": raw_leads.rows_in, "activities": 0, **lookup_rows}
    if activities_path is not None:
        m = config.activities
        raw_acts = read_table(
            activities_path, encoding=m.encoding or config.encoding, delimiter=m.delimiter or config.delimiter
        )
        rows_in["activities"] = raw_acts.rows_in
        rejected = set(rej_l["lead_id"].dropna())
        acts, rej_a = canonical_activities(
            raw_acts, config, leads["lead_id"], rejected_ids=rejected, source=str(activities_path)
        )
        lead_zoned = has_offset(raw_leads.frame[config.leads.mql_at])
        act_zoned = config.activities.occurred_at in raw_acts.frame and has_offset(
            raw_acts.frame[config.activities.occurred_at]
        )
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
