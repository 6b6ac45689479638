"""Timestamps of an export read to naive UTC: a vectorised reader for fixed-layout values, pandas for the rest.

A value with its own offset (``Z``, ``+01:00``) is converted from it; one without is read in the config's
``timezone``. Values that do not parse, or fall before 1970 or in the future, become reject reasons.
A column already typed as timestamps (a Parquet export's) is read as it is, without text: naive values in
the config's ``timezone``, zoned ones from their zone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from features.arrow_text import arrow_chunks, text_buffers
from features.config import DatasetConfig

MIN_TS = pd.Timestamp("1970-01-01")
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def has_offset(raw: pd.Series) -> bool:
    """Whether any value of a timestamp column carries its own time-zone offset."""
    if is_typed(raw):  # a typed column: its values carry a zone exactly when the column does
        return isinstance(raw.dtype, pd.DatetimeTZDtype)
    text = raw.astype("str")
    maybe = _maybe_offset(text)
    if maybe is not None:  # the regex below only on values whose last bytes could be an offset
        text = text[maybe]
    return bool(text.str.strip().str.contains(_OFFSET, regex=True).fillna(False).any())


def is_typed(raw: pd.Series) -> bool:
    """Whether a timestamp column is already typed (a Parquet timestamp column), not text."""
    return pd.api.types.is_datetime64_any_dtype(raw.dtype)


def _maybe_offset(text: pd.Series) -> np.ndarray | None:
    """Rows whose value could end in an offset (Z, +hh:mm, -hhmm, or anything non-ASCII or blank at the
    end): a superset of the offset regex's matches found from three bytes per value; None if not Arrow."""
    chunks = arrow_chunks(text)
    if chunks is None:
        return None
    parts = []
    for chunk in chunks:
        offsets, data, valid = text_buffers(chunk)
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
_BLOCK = 1 << 20  # values read at once by the vectorised reader
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
    chunks = arrow_chunks(raw) if pieces is not None else None
    if chunks is None:
        return None
    width = sum(w for _, _, w in pieces)
    if fmt == "ISO8601":  # the date-time separator may be a space or T
        pieces = [p if p != (" ", 10, 1) else ("T ", 10, 1) for p in pieces]
    total = sum(len(c) for c in chunks)
    # one result array filled chunk by chunk: a part per chunk and their concatenation held it twice
    ok_all = np.zeros(total, bool)
    values_all = np.empty(total, "datetime64[ns]")  # every value is written below: NaT where not read
    start = 0
    for chunk in chunks:
        offsets, data, valid = text_buffers(chunk)
        fits = valid & (np.diff(offsets) == width)
        ok, values = ok_all[start : start + len(chunk)], values_all[start : start + len(chunk)]
        start += len(chunk)
        if fits.all() and len(chunk):  # the usual export: every value one width, read in place
            matrix = data[offsets[0] : offsets[0] + len(chunk) * width].reshape(-1, width)
            for lo in range(0, len(chunk), _BLOCK):  # in blocks: the field arrays of 20M values took 1 GB
                ok[lo : lo + _BLOCK], values[lo : lo + _BLOCK] = _read_fixed(matrix[lo : lo + _BLOCK], pieces)
        else:
            values[:] = np.datetime64("NaT")
            rows = np.flatnonzero(fits)
            for lo in range(0, len(rows), _BLOCK):  # in blocks: bounded memory for the byte matrix
                block = rows[lo : lo + _BLOCK]
                ok[block], values[block] = _read_fixed(data[offsets[block][:, None] + np.arange(width)], pieces)
    return ok_all, values_all


def parse_ts(
    raw: pd.Series, config: DatasetConfig, name: str, reasons: dict[int, list[str]], *, required: bool
) -> pd.Series:
    """Parse timestamps to naive UTC; unparseable or out-of-range values are noted as reasons.

    A value with its own offset (``Z``, ``+01:00``) is converted from it; one without is read in the
    config's ``timezone``. Values written exactly in the format's fixed-width form are read vectorised
    (``_fast_timestamps``); the rest go through ``pd.to_datetime`` as they always did.
    """
    formats = [config.timestamp_format] if isinstance(config.timestamp_format, str) else config.timestamp_format
    fmt = " or ".join(formats)
    if is_typed(raw):
        utc, empty = _typed_utc(raw, config)
    else:
        utc, empty = _parse_with(raw, formats[0], config)
        for other in formats[1:]:  # a list: each value read by the first format that fits it
            left = np.flatnonzero(~empty & np.isnat(utc))
            if not len(left):
                break
            utc[left] = _parse_with(raw.iloc[left], other, config)[0]
    # the checks in numpy on the naive-UTC values (NaT compares false): no pandas Series of 20M values
    bad = ~empty & np.isnat(utc)
    early = utc < MIN_TS.to_datetime64()
    future = utc > (pd.Timestamp.now() + pd.Timedelta(days=1)).to_datetime64()

    def shown(idx: int) -> str:
        if is_typed(raw):  # as the value reads as text, the way the file's text columns are read
            return str(pa.array(raw.iloc[[idx]]).cast(pa.string())[0]).strip()[:40]
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
    out_of_range = early | future
    if out_of_range.any():
        utc[out_of_range] = np.datetime64("NaT")
    return pd.Series(utc.astype("datetime64[ns]", copy=False), index=raw.index)


def _typed_utc(raw: pd.Series, config: DatasetConfig) -> tuple[np.ndarray, np.ndarray]:
    """(naive UTC datetime64[us], missing) of a typed timestamp column: no text, no parsing."""
    values = pd.DatetimeIndex(raw)
    if values.tz is None and config.timezone != "UTC":
        values = values.tz_localize(config.timezone, ambiguous="NaT", nonexistent="shift_forward")
    if values.tz is not None:
        values = values.tz_convert("UTC").tz_localize(None)
    return values.as_unit("us").to_numpy().copy(), raw.isna().to_numpy()


def _parse_with(raw: pd.Series, fmt: str, config: DatasetConfig) -> tuple[np.ndarray, np.ndarray]:
    """(naive UTC datetime64[us], or [ns] when the fast path read every value; blank) of every value read with
    one format; NaT where it does not fit."""
    fast = _fast_timestamps(raw, fmt)
    if fast is not None and config.timezone == "UTC" and fast[0].all():
        return fast[1], np.zeros(len(raw), bool)  # every value read (years 1900-2200): nanoseconds hold them
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
