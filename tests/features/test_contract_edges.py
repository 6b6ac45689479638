"""Regression tests for the defects the fuzzed exports found (tests/e2e/test_fuzz.py): each is one exact case."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.contract import ContractError, canonical_activities, canonical_leads, load_export, read_table
from tests.features.test_contract import BASE, frame


def test_timestamps_outside_what_nanoseconds_hold_are_rejected_not_an_overflow(config):
    # year 1 and year 9999 used to raise OutOfBoundsDatetime out of the loader
    valid, rejects = canonical_leads(frame({}, {"MQL Date": "0001-01-01 00:00:00"}, {"SQL Date": "9999-12-31"}), config)
    assert list(valid["lead_id"]) == ["L0"]
    assert list(rejects["row"]) == [2, 3]
    assert rejects["reason"].iloc[0].startswith("mql_at: ")
    assert rejects["reason"].iloc[1].startswith("sql_at: ")
    acts = pd.DataFrame(
        {"Lead ID": ["L0", "L0"], "Timestamp": ["0001-01-01", "2026-01-04 10:00:00"], "Activity Type": ["x", "x"]},
        dtype="str",
    )
    kept, rej = canonical_activities(acts, config, pd.Series(["L0"]))
    assert len(kept) == 1 and list(rej["row"]) == [1] and rej["reason"].iloc[0].startswith("occurred_at: ")


def test_an_unclosed_quote_that_would_swallow_the_rows_after_it_is_refused(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b'id,name\n1,"Ana\n2,Luis\n3,Eva\n')  # rows 2 and 3 used to vanish into row 1's name
    with pytest.raises(ContractError, match=r"leads\.csv: a quoted value in the last row read is never closed"):
        read_table(path)


def test_a_stray_quote_joining_rows_into_one_is_refused(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b'id,name\n1,"Ana\n2,Luis\n3,"Eva,x\n4,Pedro\n')  # rows 1-3 read as one row of 3 fields
    with pytest.raises(ContractError, match=r"leads\.csv: data row 1 has the wrong number of fields and spans"):
        read_table(path)
    # the same with the right number of fields: rows 2 and 3 used to vanish into row 1's name
    path.write_bytes(b'id,name\n1,"Ana\n2,Luis\n3,"Eva\n4,Pedro\n')
    with pytest.raises(ContractError, match=r"leads\.csv: line 4: a quoted value is followed by more text"):
        read_table(path)


def test_multiline_values_and_literal_quotes_still_read(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b'id,name\n1,"Ana\nMaria"\n2,Lu"is\n3,"Eva ""E"""\n')
    raw = read_table(path)
    assert raw.frame["name"].tolist() == ["Ana\nMaria", 'Lu"is', 'Eva "E"']
    assert raw.rows.tolist() == [1, 2, 3] and raw.malformed == []


def test_a_value_longer_than_a_read_block_is_read(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"id,title\n1," + b"x" * 3_000_000 + b"\n2,CEO\n")  # was: "straddling object..."
    raw = read_table(path)
    assert raw.frame["title"].str.len().tolist() == [3_000_000, 3]


def test_a_header_without_line_end(tmp_path, config):
    leads = tmp_path / "leads.csv"
    leads.write_text(",".join(BASE))  # pyarrow used to call this an empty CSV file
    acts = tmp_path / "acts.csv"
    acts.write_text("Lead ID,Activity Type,Timestamp")
    assert read_table(acts).frame.columns.tolist() == ["Lead ID", "Activity Type", "Timestamp"]
    with pytest.raises(ContractError, match=r"leads\.csv: no leads in the file \(a header only\)"):
        load_export(leads, acts, config)
    frame({}).to_csv(leads, index=False)
    assert load_export(leads, acts, config).rows_in == {"leads": 1, "activities": 0}
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(ContractError, match=r"blank\.csv: no header and no rows, only blank lines"):
        read_table(blank)


def test_bytes_that_are_not_utf8_name_their_column(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"id,country\n1,Espa\xf1a\n")
    with pytest.raises(ContractError, match=r"leads\.csv: column 'country' holds bytes that are not utf-8 .*latin-1"):
        read_table(path)
    pq.write_table(pa.table({"id": ["1"], "country": pa.array([b"Espa\xf1a"], pa.binary())}), tmp_path / "l.parquet")
    with pytest.raises(ContractError, match=r"l\.parquet: column 'country' cannot be read as text .*latin-1"):
        read_table(tmp_path / "l.parquet")


def test_a_nested_parquet_column_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "leads.parquet"
    pq.write_table(pa.table({"id": ["1"], "tags": pa.array([["a", "b"]])}), path)  # was ArrowNotImplementedError
    with pytest.raises(ContractError, match=r"leads\.parquet: column 'tags' holds list<.*> values, not single values"):
        read_table(path)


def test_the_cli_refuses_bad_data_in_one_line_with_exit_code_2(tmp_path, prefect_api_url):
    # the real command in its own process (an in-process CliRunner run of a flow leaves Prefect's print
    # patch behind, and a later flow in the same test process then recurses in Prefect's log handler)
    leads = tmp_path / "leads.csv"
    leads.write_bytes(b'Lead ID,MQL Date\nL1,"2026-01-01\nL2,2026-01-02\n')  # an unclosed quote
    acts = tmp_path / "acts.csv"
    acts.write_text("Lead ID,Activity Type,Timestamp\n")
    args = ["features", "--leads", str(leads), "--activities", str(acts), "--out", str(tmp_path / "f.parquet")]
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}  # the session's server: no temporary one to start
    r = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args, "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stdout + r.stderr
    assert "Traceback" not in r.stdout
    err = json.loads(r.stdout)
    assert err["kind"] == "ContractError" and "\n" not in err["error"]
    assert "leads.csv: a quoted value in the last row read is never closed" in err["error"]
    assert not (tmp_path / "f.parquet").exists()


@pytest.mark.parametrize(
    ("data", "one_line"),
    [
        (b"a,b\n1,2\n3,4\n", True),
        (b"a,b\r\n1,2\r\n3,4\r\n", True),
        (b'a,b\n1,"x\ny"\n3,4\n', False),
        (b'a,b\n1,"x\ry"\n3,4\n', False),
        (b'a,b\r\n1,"x\r\ny"\r\n3,4\r\n', False),
        (b'a,b\n1,"x\ny"\n3,4', False),  # no line end after the last row: a LF may be missing there
        (b"a,b\n1,2\n\n3,4\n", False),  # a blank line: the count cannot tell, the values are scanned
    ],
)
def test_the_line_count_lets_only_files_without_line_breaks_in_values_skip_the_scan(tmp_path, data, one_line):
    from features.reader import _one_line_per_row

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert _one_line_per_row(path, read_table(path).rows_in, "utf-8") is one_line
