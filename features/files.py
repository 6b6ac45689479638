"""Atomic, spreadsheet-safe file writers: every layer writes its CSV, Parquet and JSON files through these."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.arrow_text import arrow_chunks, text_buffers

# what a spreadsheet may read as the start of a formula (OWASP CSV injection), full-width forms included
# (Excel in East Asian locales reads them as their ASCII twins)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
UTF8_BOM = b"\xef\xbb\xbf"
# a value's first byte says: 1 risky (an ASCII formula start), 2 maybe (a character Python's str.lstrip removes
# other than tab and CR: LF, VT, FF, 0x1c-0x1f, space; or a non-ASCII byte: full-width forms, Unicode spaces),
# 0 safe
_FIRST_BYTE = np.zeros(256, dtype=np.uint8)
_FIRST_BYTE[[ord(c) for c in "=+-@\t\r"]] = 1
_FIRST_BYTE[[10, 11, 12, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = 2
_FIRST_BYTE[0x80:] = 2


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a shared list should follow the umask
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def neutralise_text(value: str) -> str:
    """One cell or header: a quote before text a spreadsheet could run as a formula, else unchanged."""
    risky = value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START)
    return "'" + value if risky else value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Text, object and category columns are all checked, and so are the column names. Leading spaces do
    not hide a formula: some spreadsheets trim them on import (LibreOffice's "trim spaces"). Numbers
    held as text ("-5", "+34 600 000 000") are quoted too: a spreadsheet cannot tell them from formulas.
    """
    out = df.copy()
    out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)  # categories are text too; neutralised values may collide, so drop them
        elif not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        risky = _risky_arrow(s)  # the same verdicts from Arrow's bytes, much faster (most values start safe)
        if risky is None or risky.any():
            text = s.astype("str")
        if risky is None:
            risky = s.notna() & (text.str.startswith(FORMULA_START) | text.str.lstrip().str.startswith(FORMULA_START))
        if risky.any():
            s = s.where(~risky, "'" + text)
        out.isetitem(i, s)
    return out


def _risky_arrow(s: pd.Series) -> pd.Series | None:
    """Which values of an Arrow-backed text column ``neutralise_text`` would quote, or None for other columns.

    The first byte of every value is read from the Arrow buffers (numpy, no Python strings); only values whose
    first byte could start a formula or a space are checked in Python, with ``neutralise_text``'s own test.
    """
    chunks = arrow_chunks(s)
    if chunks is None:
        return None
    marks = []
    for chunk in chunks:
        offsets, data, valid = text_buffers(chunk)
        starts, filled = offsets[:-1], (offsets[1:] > offsets[:-1]) & valid
        kind = np.zeros(len(chunk), dtype=np.uint8)
        kind[filled] = _FIRST_BYTE[data[starts[filled]]]
        at = np.flatnonzero(kind == 2)
        risky = kind == 1
        if len(at):
            values = chunk.take(pa.array(at)).to_pylist()
            risky[at] = [v.startswith(FORMULA_START) or v.lstrip().startswith(FORMULA_START) for v in values]
        marks.append(risky)
    risky = np.concatenate(marks) if marks else np.zeros(0, dtype=bool)
    return pd.Series(risky, index=s.index)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV via pyarrow (~9x faster than pandas), UTF-8 with BOM so Excel shows accents right."""
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(UTF8_BOM)
            pacsv.write_csv(table, fh)

    return atomic_write(path, _write)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    table = pa.Table.from_pandas(df, preserve_index=False)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(obj: dict, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8"))
