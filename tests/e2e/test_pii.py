"""PII never leaves the SDR list: one real weekly run on an export whose PII columns hold marker strings.

Every column the dataset config declares ``pii`` is overwritten with a unique marker per row; after the
run the MLflow store (database and artifacts), Prefect's database, the run's console and log output,
the review pages and every other file the run writes outside the SDR list are searched byte-wise for
the marker. The SDR list itself must hold it (SDRs need to reach the lead): the control that shows the
search can find what it looks for.
"""

from __future__ import annotations

import gzip
import io
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG

MARK = "PIIMARK"
# what the search looks for: case-folded, so a lower-cased email or an upper-cased name still counts
NEEDLE = MARK.lower().encode()


def mark_pii(leads: pd.DataFrame, pii_sources: list[str]) -> pd.DataFrame:
    """Each PII cell becomes a unique marker; emails stay emails (the email-type feature reads the domain)."""
    out = leads.copy()
    n = [f"{MARK}{i:06d}" for i in range(len(out))]
    for col in pii_sources:
        if col == "Email":
            domain = out[col].astype("str").str.split("@").str[-1]
            out[col] = [f"{m.lower()}.{i}@{d}" for i, (m, d) in enumerate(zip(n, domain, strict=True))]
        elif col == "Phone":
            out[col] = [f"+34 600 {m}" for m in n]
        else:
            out[col] = [f"{m}-{col.replace(' ', '')}" for m in n]
    return out


def _blobs(path: Path):
    """Byte contents to search in one file: the file itself, plus decompressed gz/zip members and the
    text cells of Parquet files (whose pages may be compressed, hiding a marker from a byte search)."""
    data = path.read_bytes()
    yield data
    if data[:2] == b"\x1f\x8b":
        yield gzip.decompress(data)
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                yield name.encode() + b"\n" + z.read(name)
    elif data[:4] == b"PAR1":
        table = pq.read_table(path)
        yield "\n".join(map(str, table.schema.names)).encode()
        for col in table.columns:
            yield "\n".join(str(v) for v in col.to_pylist()).encode()


def search(paths: list[Path]) -> tuple[int, int, list[str]]:
    """(files searched, bytes searched, files with a hit) over files and folders (recursively)."""
    files = sorted({f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()})
    n_bytes, hits = 0, []
    for f in files:
        for blob in _blobs(f):
            n_bytes += len(blob)
            if NEEDLE in blob.lower():
                hits.append(str(f))
                break
    return len(files), n_bytes, hits


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


@pytest.fixture(scope="module")
def marked_run(prefect_harness, config, tmp_path_factory):
    from _pytest.capture import FDCapture
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    from features.synthetic import generate
    from pipelines.flows import weekly_flow

    pii_sources = [a.source for a in config.leads.attributes if a.role == "pii"]
    assert pii_sources, "the synthetic config declares PII columns"
    crm = generate(3000, 12, 11)
    leads = mark_pii(crm.leads, pii_sources)
    leads.loc[[3, 4], "MQL Date"] = "not a date"  # two rejected rows carry PII markers too
    folder = tmp_path_factory.mktemp("pii_export")
    leads.to_csv(folder / "leads.csv", index=False)
    crm.activities.to_csv(folder / "activities.csv", index=False)
    ws = tmp_path_factory.mktemp("pii_workspace")
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", train={"num_threads": 1})
    # the run's console (fd level: Prefect's and rich's handlers write to the real streams) and every
    # log record, Prefect's flow and task loggers included
    keep, loggers = _Keep(), [logging.getLogger(), logging.getLogger("prefect")]
    cap_out, cap_err = FDCapture(1), FDCapture(2)
    cap_out.start(), cap_err.start()
    for lg in loggers:
        lg.addHandler(keep)
    try:
        summary = weekly_flow(folder / "leads.csv", folder / "activities.csv", SYNTHETIC_CONFIG, settings)
    finally:
        for lg in loggers:
            lg.removeHandler(keep)
        console = cap_out.snap() + cap_err.snap()
        cap_out.done(), cap_err.done()
    APILogHandler().flush()  # the run's log records reach Prefect's database in batches: send them now
    prefect_db = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
    return ws, summary, console + "\n".join(keep.lines), prefect_db, pii_sources


def test_the_run_scored_the_marked_leads(marked_run):
    ws, summary, *_ = marked_run
    assert summary["list"]["rows"] > 0 and summary.get("mlflow", {}).get("run_id", "x")
    assert (ws / "mlflow.db").is_file() and any((ws / "mlartifacts").rglob("*.html"))


def test_the_sdr_list_keeps_pii_as_the_control_of_the_search(marked_run):
    ws, _, _, _, pii_sources = marked_run
    files, n_bytes, hits = search([ws / "lists" / "latest.csv", ws / "lists" / "latest.parquet"])
    assert sorted(Path(h).name for h in hits) == ["latest.csv", "latest.parquet"]
    listed = pd.read_csv(ws / "lists" / "latest.csv", encoding="utf-8-sig")
    for col in ("first_name", "last_name", "email", "phone", "company"):
        assert listed[col].astype("str").str.contains(MARK, case=False).all(), col
    # the email-type feature still saw corporate and free domains through the markers
    assert listed["email"].str.contains("@").all()


def test_no_pii_in_mlflow_prefect_logs_or_reports(marked_run):
    ws, summary, console, prefect_db, _ = marked_run
    sdr_list = {ws / "lists" / "latest.csv", ws / "lists" / "latest.parquet"}
    archived = [f for f in (ws / "lists" / "archive").rglob("list.*") if f.suffix in (".csv", ".parquet")]
    assert archived, "the run archives a dated copy of the list"
    sdr_list |= set(archived)  # the dated copies of the list; the archived rejects and summary are searched
    mlflow_files = [ws / "mlartifacts"] + sorted(ws.glob("mlflow.db*"))
    other = [f for f in ws.rglob("*") if f.is_file() and f not in sdr_list and f not in mlflow_files]
    prefect_files = sorted(prefect_db.parent.glob(prefect_db.name + "*"))
    assert prefect_files, f"Prefect's database not found at {prefect_db}"
    report = {}
    for name, paths in {
        "MLflow store": mlflow_files,
        "Prefect database": prefect_files,
        "workspace outside the SDR list": other,
    }.items():
        report[name] = search(paths)
    console_hits = console.lower().count(NEEDLE.decode())
    assert console, "the run's console and log output was captured"
    assert MARK not in str(summary)
    for name, (files, n_bytes, hits) in report.items():
        print(f"PII search, {name}: {files} files, {n_bytes:,} bytes, {len(hits)} hits {hits[:5]}")
    print(f"PII search, console and logs: {len(console):,} characters, {console_hits} hits")
    assert {name: hits for name, (_, _, hits) in report.items()} == {name: [] for name in report}
    assert console_hits == 0
    # the rejects file (data team, stays in the workspace, never logged) holds row, lead id and reason only
    rejects = pd.read_csv(ws / "lists" / "latest_rejects.csv", encoding="utf-8-sig")
    assert list(rejects.columns) == ["table", "row", "lead_id", "reason"] and len(rejects) >= 2
