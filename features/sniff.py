"""Read what an export is made of, from its bytes and values: encoding, separator, numbers, dates, bands.

Used by ``init-config``. Each file is sniffed on its own (a leads file saved by Excel and an activities
file dumped by a script rarely agree); each column's kind is decided from its values before its name.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class FileFormat:
    """How one CSV file is written."""

    encoding: str
    delimiter: str
    why_encoding: str  # one line each, for the config's comments
    why_delimiter: str


def _head(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.read(_SAMPLE_BYTES)


def sniff_encoding(head: bytes) -> tuple[str, str]:
    """(encoding, why): UTF-16 or UTF-8 by their BOM, UTF-8, else Windows-1252 ('€' is byte 0x80), else latin-1."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return "utf-16", "UTF-16 with a byte-order mark (Excel's 'Unicode text')"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", "UTF-8 with a byte-order mark (read as UTF-8)"
    try:
        head.decode("utf-8")
        return "utf-8", "valid UTF-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4 and len(head) == _SAMPLE_BYTES:  # a multi-byte character cut by the sample
            return "utf-8", "valid UTF-8"
    try:
        head.decode("cp1252")
        return "cp1252", "not UTF-8; every byte is Windows-1252 (what Excel on Windows writes)"
    except UnicodeDecodeError:
        return "latin-1", "neither UTF-8 nor Windows-1252: read as latin-1"


def sniff_delimiter(text: str, *, lines: int = 50) -> str:
    """The separator that splits the first lines into the same number of fields (>1), quote-aware.

    Counting one line is not enough: a header such as ``ID;Fecha, hora;Tipo`` holds a comma, but only
    ``;`` gives every row the same field count. Ties go to the separator giving more fields.
    """
    best, best_score = ",", (0.0, 0)
    rows = text.splitlines()[: lines + 1]
    if rows and len(text) >= _SAMPLE_BYTES - 1:
        rows = rows[:-1]  # the last line of a cut sample is partial
    sample = "\n".join(rows)
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=d) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        same = sum(c == counts[0] for c in counts) / len(counts)
        score = (same, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def sniff_file(path: Path) -> FileFormat:
    """Encoding and separator of one CSV file (Parquet needs neither)."""
    if path.suffix == ".parquet":
        return FileFormat("utf-8", ",", "Parquet", "Parquet")
    head = _head(path)
    encoding, why = sniff_encoding(head)
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    delimiter = sniff_delimiter(text)
    shown = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[delimiter]
    return FileFormat(encoding, delimiter, why, f"{shown} splits every sampled line into the same number of fields")


# ------------------------------------------------------------------ values

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(:\d{2})?)?$")


@dataclass(frozen=True)
class DateGuess:
    format: str  # 'ISO8601' or a strftime format
    share: float  # of the non-missing values that read with it
    why: str


def guess_date(values: pd.Series, *, day_first_default: bool = True) -> DateGuess | None:
    """The date or date-time format of a text column, decided from its values; None if it is not dates.

    Day-first vs month-first: a first number above 12 means day-first, a second above 12 month-first;
    when no value tells, ``day_first_default`` decides (and the reason says so).
    """
    v = values
    if not len(v):
        return None
    iso = v.str.fullmatch(_ISO.pattern).mean()
    if iso > 0.9:
        kind = "with a time" if v.str.len().max() > 10 else "dates only"
        zoned = " and an offset" if v.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).any() else ""
        return DateGuess("ISO8601", float(iso), f"ISO dates ({kind}{zoned})")
    parts = v.str.extract(_DMY.pattern)
    ok = parts[0].notna()
    if ok.mean() <= 0.9:
        return None
    p = parts[ok]
    first, second = p[0].astype(int), p[2].astype(int)
    if (first > 31).any() or (second > 31).any() or ((first > 12) & (second > 12)).any():
        return None
    sep = p[1].mode().iloc[0]
    year = "%Y" if p[3].str.len().max() == 4 else "%y"
    if (first > 12).any():
        day_first, how = True, f"day first (values such as {v[ok][first > 12].iloc[0]!r})"
    elif (second > 12).any():
        day_first, how = False, f"month first (values such as {v[ok][second > 12].iloc[0]!r})"
    else:
        day_first = day_first_default
        how = f"{'day' if day_first else 'month'} first assumed: no value tells (CHECK)"
    date = sep.join(["%d", "%m", year] if day_first else ["%m", "%d", year])
    timed = p[4].notna()
    if timed.mean() > 0.5:
        fmt = date + (" %H:%M:%S" if p[6].notna()[timed].mean() > 0.5 else " %H:%M")
        what = "date-times"
    else:
        fmt, what = date, "dates"
    return DateGuess(fmt, float(ok.mean()), f"{what} {fmt.replace('%', '')}, {how}")


_BAND = re.compile(
    r"^(?:[<>≤≥]=?\s*[$€£]?\d[\d.,]*\s*[kKmMbB]?"
    r"|[$€£]?\d[\d.,]*\s*[kKmMbB]?\s*(?:-|–|to|a)\s*[$€£]?\d[\d.,]*\s*[kKmMbB]?"
    r"|[$€£]?\d[\d.,]*\s*[kKmMbB]?\s*\+"
    r"|(?:more than|less than|over|under|up to|m[aá]s de|menos de|hasta|mais de|at[eé])\s*[$€£]?\d[\d.,]*\s*[kKmMbB]?"
    r"|[$€£]?\d[\d.,]*\s*[kKmMbB]?)"
    r"(?:\s*[a-záéíóúñ]+)?$",
    re.IGNORECASE,
)
_RANGE_ONLY = re.compile(r"[-–+<>≤≥]|\bto\b|\ba\b|m[aá]s|menos|hasta|more|less|over|under|up|mais|at[eé]", re.I)


def looks_like_bands(values: pd.Series, unique: int) -> bool:
    """Ranges such as '51-200', '$1M-$10M', '1000+', '<10', 'Más de 1.000': few distinct, ordered categories."""
    if unique > 60 or not len(values):
        return False
    distinct = pd.Series(values.unique())
    fits = distinct.str.fullmatch(_BAND.pattern, case=False)
    ranged = distinct.str.contains(_RANGE_ONLY.pattern, regex=True)
    return bool(fits.mean() >= 0.8 and ranged.mean() >= 0.5)


def looks_like_phones(values: pd.Series) -> float:
    """Share of values with a phone's shape: digits, spaces, dots, dashes, brackets, 7+ digits in all."""
    shape = values.str.fullmatch(r"\+?[\d\s().-]{7,}")
    digits = values.str.count(r"\d") >= 7
    return float((shape & digits).mean()) if len(values) else 0.0


_DOT_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$")


def number_marks(values: pd.Series) -> tuple[float, float, int, int]:
    """(share read as dot-decimal, share read as comma-decimal, evidence for comma, evidence for dot).

    '126,0' and '1.234,5' are evidence for a decimal comma; '126.05' and '1,234.5' for a dot; '1.234'
    alone could be either and counts for neither.
    """
    if not len(values):
        return 0.0, 0.0, 0, 0
    dot = float(values.str.fullmatch(_DOT_DECIMAL.pattern).mean())
    comma = float(values.str.fullmatch(_COMMA_DECIMAL.pattern).mean())
    comma_ev = int(values.str.contains(r"\d,(?:\d{1,2}|\d{4,})$|\.\d{3},", regex=True).sum())
    dot_ev = int(values.str.contains(r"\d\.(?:\d{1,2}|\d{4,})$|,\d{3}\.", regex=True).sum())
    return dot, comma, comma_ev, dot_ev


def dot_decimal(values: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Number texts rewritten with a dot decimal and no thousands mark: '1.234,5' -> '1234.5' under decimal ','
    and thousands '.'; untouched with the defaults."""
    if thousands:
        values = values.str.replace(thousands, "", regex=False)
    return values.str.replace(decimal, ".", regex=False) if decimal != "." else values
