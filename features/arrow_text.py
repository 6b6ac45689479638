"""Numpy views on Arrow text columns: scans over an export's raw bytes without making Python strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def arrow_chunks(text: pd.Series) -> list | None:
    """The Arrow string chunks behind a pandas text column, or None when it is not Arrow-backed."""
    arrow = getattr(text.array, "__arrow_array__", None)
    if arrow is None:
        return None
    chunks = arrow().chunks
    return chunks if all(c.type in (pa.string(), pa.large_string()) for c in chunks) else None


def text_buffers(chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets, bytes, valid) of one Arrow string chunk, as numpy views (no copy of the text)."""
    width = np.int64 if chunk.type == pa.large_string() else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = chunk.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    return offsets.astype(np.int64, copy=False), data, valid


def text_bytes(chunk) -> np.ndarray:
    """The bytes of one Arrow string chunk's values, back to back, as a numpy view (no offsets array made)."""
    data = chunk.buffers()[2]
    if not len(chunk) or data is None:
        return np.zeros(0, np.uint8)
    width = np.int64 if chunk.type == pa.large_string() else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)
    return np.frombuffer(data, dtype=np.uint8)[offsets[chunk.offset] : offsets[chunk.offset + len(chunk)]]


def _may_need_strip(chunk) -> bool:
    """Whether any value of one Arrow string chunk starts or ends with a byte that may be whitespace: ASCII
    9-13, 28-32, or any byte of a non-ASCII character (all of them >= 0x80 in UTF-8)."""
    offsets, data, valid = text_buffers(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    full = valid & (ends > starts)
    if not full.any():
        return False
    edges = np.concatenate([data[starts[full]], data[ends[full] - 1]])
    return bool((((edges >= 9) & (edges <= 13)) | ((edges >= 28) & (edges <= 32)) | (edges >= 0x80)).any())


def strip_text(text: pd.Series) -> pd.Series:
    """``text.astype("str").str.strip()``, skipped (the column as it is, no copy) when no value has a byte
    at either end that could be whitespace: an export's ids and types rarely do, and the strip copied 20M."""
    text = text.astype("str")
    chunks = arrow_chunks(text)
    if chunks is not None and not any(_may_need_strip(c) for c in chunks):
        return text
    return text.str.strip()


def blank_to_missing(text: pd.Series) -> pd.Series:
    """``text.where(text != "")``, skipped (the column as it is, no copy) when no value is empty."""
    chunks = arrow_chunks(text)
    if chunks is not None and not any((np.diff(text_buffers(c)[0]) == 0).any() for c in chunks):
        return text
    return text.where(text != "")
