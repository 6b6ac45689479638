"""Reading an export's file (CSV, CSV.gz or Parquet) as text, with the rows that did not parse counted apart.

Text is read as Arrow ``large_string``, the storage of pandas' text columns, so the frame is made without
copying a byte (read as ``string``, pandas copied every column: 0.6 s and the whole text again in memory for
4M activities). A Parquet file's timestamp columns that the contract reads as timestamps stay typed.

A stray quote that joined rows into one value is refused: a CSV reader cannot see the rows it swallowed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.arrow_text import text_bytes


class ContractError(ValueError):
    """A file that cannot be loaded at all; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RawTable:
    """A file read as text: its parsed rows, their 1-based data-row numbers, and rows that did not parse."""

    frame: pd.DataFrame
    rows: np.ndarray
    malformed: list[tuple[int, str]]

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.malformed)


def _arrow_message(exc: Exception) -> str:
    # pyarrow quotes the offending row after the second colon: it may hold personal data, so drop it
    return ": ".join(str(exc).split(": ")[:2])[:200]


def read_table(
    path: str | Path, *, encoding: str = "utf-8", delimiter: str = ",", timestamps: Collection[str] = ()
) -> RawTable:
    """Read a CSV (optionally .gz) or Parquet file with every column as text.

    A CSV row with the wrong number of fields is kept out of the frame and reported in ``malformed``
    with its data-row number, never with its content. A Parquet column named in ``timestamps`` that is
    already a timestamp keeps its type (``features.timestamps.parse_ts`` reads it without text).
    """
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: file is empty")
    malformed: list[tuple[int, str]] = []
    try:
        if path.suffix == ".parquet":
            table = _read_parquet(path, timestamps)
        else:
            table = _read_csv(path, encoding, delimiter, malformed)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
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


def _read_parquet(path: Path, timestamps: Collection[str]) -> pa.Table:
    """A Parquet file's columns as they are stored: text read straight as ``large_string`` (no cast after),
    timestamps named in ``timestamps`` typed, any other column cast to text."""
    schema = pq.read_schema(path)
    wanted = pa.schema(
        [f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f for f in schema], metadata=schema.metadata
    )
    table = pq.read_table(path, schema=wanted)
    keep = {n for n, t in zip(table.schema.names, table.schema.types, strict=True) if n in timestamps}
    keep = {n for n in keep if pa.types.is_timestamp(table.schema.field(n).type)}
    return _as_text(table, path, keep)


def _as_text(table: pa.Table, path: Path, keep: Collection[str] = ()) -> pa.Table:
    """Every Parquet column as text (but those in ``keep``), one at a time so that a column that cannot be
    text is named."""
    columns = []
    for f, col in zip(table.schema, table.columns, strict=True):
        try:
            columns.append(col if f.name in keep or f.type == pa.large_string() else col.cast(pa.large_string()))
        except pa.ArrowNotImplementedError:  # lists, structs, maps: no single text value per cell
            raise ContractError(
                f"{path}: column {f.name!r} holds {f.type} values, not single values; export it as text"
            ) from None
        except pa.ArrowInvalid as exc:
            hint = "; set encoding (e.g. 'latin-1') in the dataset config" if "UTF8" in str(exc) else ""
            raise ContractError(
                f"{path}: column {f.name!r} cannot be read as text ({_arrow_message(exc)}){hint}"
            ) from None
    return pa.Table.from_arrays(columns, names=table.schema.names)


def _read_csv(path: Path, encoding: str, delimiter: str, malformed: list[tuple[int, str]]) -> pa.Table:
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

    def source() -> Path | pa.BufferReader:
        return path if data is None else pa.BufferReader(data)

    def read_once(block_size: int | None) -> pa.Table:
        nonlocal data
        read = pacsv.ReadOptions(encoding=encoding, block_size=block_size)
        # read the header first so that every column is read as text: ids such as 00123 keep their zeros
        try:
            with pacsv.open_csv(source(), read_options=read, parse_options=parse) as reader:
                names = reader.schema.names
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" not in str(exc) or data is not None:
                raise
            # pyarrow reads a header without a line end as no file at all
            with pa.input_stream(str(path), compression="detect") as fh:
                data = fh.read()
            if not data.strip():
                raise ContractError(f"{path}: no header and no rows, only blank lines") from None
            data += b"\n"
            return read_once(block_size)
        malformed.clear()  # the header pass may have met a bad row too; the full read below counts them all
        multiline.clear()
        convert = pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, strings_can_be_null=False)
        try:
            table = pacsv.read_csv(source(), read_options=read, parse_options=parse, convert_options=convert)
            if malformed:  # rare: read again on one thread to learn which rows they were
                malformed.clear()
                multiline.clear()
                one = pacsv.ReadOptions(encoding=encoding, block_size=block_size, use_threads=False)
                table = pacsv.read_csv(source(), read_options=one, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            column = re.search(r"CSV column #(\d+)", str(exc))
            if column and re.search(r"conversion error to (large_)?string", str(exc)):
                raise ContractError(
                    f"{path}: column {names[int(column.group(1))]!r} holds bytes that are not {encoding} text; "
                    "set encoding (e.g. 'latin-1') in the dataset config"
                ) from None
            raise
        return table

    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad_row, newlines_in_values=True)
    try:
        table = read_once(None)
    except pa.ArrowInvalid as exc:
        if "straddling object" not in str(exc):
            raise
        # one value longer than pyarrow's 1 MB block: read again in blocks as large as the file
        size = path.stat().st_size if data is None else len(data)
        table = read_once(min(2 * max(size, 1 << 20), 2**31 - 1))
    _refuse_unclosed_quote(path, table, malformed, multiline, encoding, delimiter)
    return table


def _has_line_break(column: pa.ChunkedArray) -> bool:
    """Whether any value holds a line break (LF or CR), from the column's text bytes in one numpy pass
    per chunk (pyarrow's match_substring took 7.7 s for the 20M activities of a 1M-lead export)."""
    if column.type not in (pa.string(), pa.large_string()):
        return pc.any(pc.match_substring_regex(column.cast(pa.string()), "[\r\n]")).as_py() or False
    for chunk in column.chunks:
        text = text_bytes(chunk)
        if (text <= 13).any() and ((text == 10) | (text == 13)).any():  # bytes <= 13 are rare: tab, CR, LF
            return True
    return False


def _one_line_per_row(path: Path, rows: int, encoding: str) -> bool:
    """Whether no value can hold a line break, from the file's bytes counted (numpy, memchr): as many
    LFs as the header and the rows, the last byte a LF, and no CR but in CRLF pairs. A value with a LF adds
    one; a CR alone (or a LF alone in a CRLF file) breaks the pairing. False (so the values are scanned)
    whenever the count cannot tell: a compressed file, an encoding where LF is not the byte 10, blank lines."""
    if path.suffix == ".gz" or "\n".encode(encoding) != b"\n" or "\r".encode(encoding) != b"\r":
        return False
    lf = cr = crlf = 0
    last = tail = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            lf += np.count_nonzero(np.frombuffer(block, np.uint8) == 10)  # vectorised: 3x bytes.count's speed
            if b"\r" in block or tail == b"\r":  # memchr; CRs are counted only in a file that has them
                cr, crlf = cr + block.count(b"\r"), crlf + block.count(b"\r\n")
                crlf += tail == b"\r" and block[:1] == b"\n"  # a pair split between two blocks
            tail = last = block[-1:]
    return bool(last == b"\n" and lf == rows + 1 and cr in (0, lf) and crlf == cr)


def _refuse_unclosed_quote(
    path: Path,
    table: pa.Table,
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
    if _one_line_per_row(path, table.num_rows + len(malformed), encoding):
        return
    spans_lines = any(_has_line_break(col) for col in table.columns)
    if not spans_lines:
        return
    with (
        pa.input_stream(str(path), compression="detect") as raw,
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
