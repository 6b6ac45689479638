"""The vectorised timestamp reading gives exactly what the pandas-only reading gave, reasons included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import features.contract as contract
from features import timestamps
from features.arrow_text import arrow_chunks
from features.timestamps import MIN_TS, has_offset, parse_ts

OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _old_parse_ts(raw, config, name, reasons, *, required):
    """The reading before it was vectorised (features/contract.py up to this change), kept as the reference."""
    text = raw.astype("str").where(raw.notna(), "").str.strip()
    empty = text == ""
    zoned = text.str.contains(OFFSET, regex=True)
    naive = ~zoned & ~empty
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    fmt = config.timestamp_format
    if zoned.any():
        parsed[zoned] = pd.to_datetime(text[zoned], format=fmt, errors="coerce", utc=True)
    if naive.any():
        local = pd.to_datetime(text[naive], format=fmt, errors="coerce")
        if config.timezone != "UTC":
            local = local.dt.tz_localize(config.timezone, ambiguous="NaT", nonexistent="shift_forward")
        parsed[naive] = local.dt.tz_localize("UTC") if config.timezone == "UTC" else local.dt.tz_convert("UTC")
    parsed = parsed.dt.tz_convert(None)
    bad = ~empty & parsed.isna()
    early = parsed < MIN_TS
    future = parsed > pd.Timestamp.now() + pd.Timedelta(days=1)
    for idx in np.flatnonzero(bad.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: not a timestamp ({text.iloc[idx][:40]!r}, format {fmt})")
    for idx in np.flatnonzero(early.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: before 1970 ({text.iloc[idx][:40]!r})")
    for idx in np.flatnonzero(future.to_numpy()):
        reasons.setdefault(idx, []).append(f"{name}: in the future ({text.iloc[idx][:40]!r})")
    if required:
        for idx in np.flatnonzero(empty.to_numpy()):
            reasons.setdefault(idx, []).append(f"{name}: missing")
    return parsed.where(~(early | future)).astype("datetime64[ns]")


# not here: years outside pandas' nanosecond range (0999, -024) and "+02" offsets, which the old reading
# raised on (a separate bug); the new one passes them to the same code and raises alike
TRICKY = [
    "2024-01-05 10:00:00",
    "2024-01-05T10:00:00",
    "2024-01-05 10:00:00Z",
    "2024-01-05T10:00:00+01:00",
    "2024-01-05T10:00:00-0500",
    "  2024-01-05 10:00:00 ",
    "2024-01-05 10:00:00\u3000",
    "2024-01-05",
    "2024-01-05 10:00",
    "2024-01-05 10:00:00.250",
    "2024-02-29 23:59:59",
    "2023-02-29 00:00:00",
    "2024-02-30 10:00:00",
    "2024-04-31 00:00:00",
    "2024-13-01 00:00:00",
    "2024-00-10 00:00:00",
    "2024-01-00 00:00:00",
    "2024-01-05 24:00:00",
    "2024-01-05 23:60:00",
    "2024-01-05 23:59:60",
    "1969-12-31 23:59:59",
    "1970-01-01 00:00:00",
    "2199-01-01 00:00:00",
    "2024-10-27 02:30:00",  # ambiguous in Europe/Madrid
    "2024-03-31 02:30:00",  # does not exist in Europe/Madrid
    "05/01/2024 10:00",
    "2024/01/05 10:00:00",
    "2024-01-05x10:00:00",
    "2024-01-05 10:00:0a",
    "２０２４-01-05 10:00:00",
    "+024-01-05 10:00:00",
    "yesterday",
    "Select",
    "",
    "   ",
    None,
]


@pytest.mark.parametrize(
    ("fmt", "tz"),
    [
        ("ISO8601", "UTC"),
        ("ISO8601", "Europe/Madrid"),
        ("%Y-%m-%d %H:%M:%S", "America/New_York"),
        ("%d/%m/%Y %H:%M", "UTC"),
        ("%Y-%m-%d-%H%M", "UTC"),  # its values end like an offset: only the old reading may decide them
    ],
)
@pytest.mark.parametrize("required", [True, False])
def test_vectorised_timestamps_match_the_pandas_reading(config, fmt, tz, required):
    cfg = config.model_copy(update={"timestamp_format": fmt, "timezone": tz})
    extra = ["2024-01-05-1030", "2024-01-05-10:30", "05/01/2024 10:00", "5/1/2024 10:00", "31/02/2024 10:00"]
    raw = pd.Series(TRICKY + extra, dtype="str")
    # many canonical values too, so the fast path is taken in blocks alongside the odd ones
    many = pd.Series(pd.date_range("2023-01-01", periods=3000, freq="37min").strftime("%Y-%m-%d %H:%M:%S"), dtype="str")
    for values in (raw, pd.concat([many, raw, many], ignore_index=True)):
        old_reasons: dict[int, list[str]] = {}
        new_reasons: dict[int, list[str]] = {}
        old = _old_parse_ts(values, cfg, "occurred_at", old_reasons, required=required)
        new = parse_ts(values, cfg, "occurred_at", new_reasons, required=required)
        pd.testing.assert_series_equal(new, old)
        assert new_reasons == old_reasons
    assert has_offset(raw) == bool(raw.str.strip().str.contains(OFFSET, regex=True).fillna(False).any())


@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-05 10:00:00", "2024-01-05 11:00:00"],
        ["2024-01-05 10:00:00", "2024-01-05T10:00:00+01:00"],
        ["2024-01-05 10:00:00", " 2024-01-05 10:00:00Z "],
        ["2024-01-05 10:00:00", "2024-01-05 10:00-0100"],
        ["2024-01-05 10:00:00", "2024-01-05 10:00:00\u3000+01:00\u3000"],
        ["", None],
    ],
)
def test_has_offset_matches_the_regex_on_every_value(values):
    raw = pd.Series(values * 50, dtype="str")
    expected = bool(raw.str.strip().str.contains(OFFSET, regex=True).fillna(False).any())
    assert has_offset(raw) == expected
    assert has_offset(raw.astype(object)) == expected  # not Arrow-backed: the plain regex


def test_the_fast_path_reads_canonical_values_and_leaves_the_rest(config):
    raw = pd.Series(["2024-01-05 10:00:00", "2024-01-05T10:00:00", "2024-02-30 10:00:00", None, "x"], dtype="str")
    read, values = timestamps._fast_timestamps(raw, "ISO8601")
    assert read.tolist() == [True, True, False, False, False]
    assert values[:2].tolist() == [pd.Timestamp("2024-01-05 10:00").value] * 2
    assert timestamps._fast_timestamps(raw, "%Y-%m-%d %H:%M:%S.%f") is None  # fields it cannot read: no fast path


def test_activity_ids_are_matched_over_every_arrow_chunk_alike(config):
    # a big CSV is read in ~1,000 Arrow chunks: the membership test runs once over all of them and must
    # decide every row as the plain (not Arrow-backed) path does
    m = config.activities
    known = pd.Series([f"L{i}" for i in range(50)], dtype="str")
    parts = [[f"L{i}" for i in range(k, 80, 7)] for k in range(7)]
    ids = pd.concat([pd.Series(p, dtype="str") for p in parts], ignore_index=True)
    assert len(arrow_chunks(ids.str.strip())) == 7
    frame = pd.DataFrame({m.lead_id: ids, m.occurred_at: "2024-01-05 10:00:00", m.activity_type: "email_open"})
    kept, rejects = contract.canonical_activities(frame, config, known, rejected_ids={"L60"})
    plain_kept, plain_rejects = contract.canonical_activities(frame.astype(object), config, known, rejected_ids={"L60"})
    assert sorted(kept["lead_id"]) == sorted(i for i in ids if int(i[1:]) < 50)
    pd.testing.assert_frame_equal(rejects, plain_rejects)
    assert len(rejects) == 30 and rejects["reason"].str.contains("no lead with this id").sum() == 29
    assert list(kept["lead_id"]) == list(plain_kept["lead_id"])
