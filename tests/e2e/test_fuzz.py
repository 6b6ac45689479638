"""Fuzzed exports through the real path: load + validate -> features -> score -> list and rejects files.

Each case starts from valid rows shaped like the synthetic export and applies one kind of damage (missing
and extra columns, wrong types, NaN and infinities, duplicate ids, unseen categories, timestamps out of
range, activities of unknown leads, empty files, a header only, non-UTF-8 bytes, huge strings, CSV quoting
traps). The invariant: either a ContractError whose message names the file (and the column, where one is
to blame), or a result where every input row is scored or rejected with a reason. Nothing else may escape.

The default suite runs a few examples per kind; `make test-slow` runs over 1,000 cases. Outcomes are
counted and printed at the end of the session (tests/e2e/conftest.py, ``pytest_terminal_summary``).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features
from features.contract import ContractError, load_export
from features.files import write_csv, write_parquet
from features.synthetic import generate
from serving.score import score_leads

KINDS = (
    "missing_column",
    "extra_column",
    "wrong_type",
    "nan_inf",
    "duplicate_ids",
    "unseen_category",
    "timestamp_range",
    "unknown_activity_lead",
    "empty_file",
    "header_only",
    "non_utf8",
    "huge_string",
    "quoting_trap",
)
QUICK_PER_KIND = 2  # default suite: 13 kinds x 2 = 26 cases (~1 s each on a busy 2-core machine)
SLOW_PER_KIND = 75  # make test-slow: 13 kinds x 75 = 975 cases, plus the mixed test
SLOW_MIXED = 100

LEAD_TS = {"MQL Date": "mql_at", "SQL Date": "sql_at", "Created Date": "created_at"}
CATEGORICAL = ["Industry", "Company Size", "Country", "Lead Source", "Campaign"]
BYTES_MARK = "\u2603BYTES\u2603"  # replaced by raw bytes after encoding
QUOTE_MARK = "\u2603QUOTE\u2603"  # replaced by a bare, unbalanced quote after encoding


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# --- the export a case writes -------------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    raw: bytes | None = None  # written as is (an empty file)
    eol: str = "\n"
    bom: bool = False
    quote_all: bool = False
    final_eol: bool = True
    blank_after: set[int] = field(default_factory=set)  # blank lines after these data rows
    swaps: dict[str, bytes] = field(default_factory=dict)  # marker -> raw bytes, after encoding
    typed: dict[str, pa.Array] = field(default_factory=dict)  # Parquet columns of another type

    def csv_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw

        def cell(v: str) -> str:
            if self.quote_all or any(ch in v for ch in ',"\n\r') or v != v.strip():
                return '"' + v.replace('"', '""') + '"'
            return v

        lines = [",".join(cell(v) for v in self.header)]
        for i, row in enumerate(self.rows):
            lines.append(",".join(cell(v) for v in row))
            if i in self.blank_after:
                lines.append("")
        text = self.eol.join(lines) + (self.eol if self.final_eol else "")
        data = text.encode("utf-8")
        for mark, raw in self.swaps.items():
            data = data.replace(mark.encode("utf-8"), raw)
        return (b"\xef\xbb\xbf" if self.bom else b"") + data

    def write_parquet(self, path: Path) -> None:
        cols = {h: pa.array([r[j] for r in self.rows], pa.string()) for j, h in enumerate(self.header)}
        cols.update({k: v for k, v in self.typed.items() if k in cols})
        pq.write_table(pa.table(cols), path)


@dataclass
class Case:
    kind: str
    leads: Table
    acts: Table
    lead_fmt: str = "csv"
    act_fmt: str = "csv"
    must_reject: dict[tuple[str, int], str] = field(default_factory=dict)  # (table, data row) -> reason part
    error_names: list[str | tuple[str, ...]] = field(default_factory=list)  # an error must name these (a column...)
    error_only: bool = False  # the damage must end in an error, never in a result

    def write(self, folder: Path) -> tuple[Path, Path]:
        paths = []
        for name, table, fmt in (("leads", self.leads, self.lead_fmt), ("activities", self.acts, self.act_fmt)):
            path = folder / f"{name}.{fmt}"
            if fmt == "parquet" and table.raw is None:
                table.write_parquet(path)
            else:
                path = folder / f"{name}.csv"
                path.write_bytes(table.csv_bytes())
            paths.append(path)
        return paths[0], paths[1]


# --- valid starting rows -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    """Valid leads (open, so they are scored) and their activities, as the export's text."""
    crm = generate(400, 6, 21)
    leads = crm.leads.astype("str")
    acts = crm.activities.astype("str")
    by_lead = {k: g.values.tolist() for k, g in acts.groupby("Lead ID")}
    return list(leads.columns), leads.values.tolist(), list(acts.columns), by_lead


@pytest.fixture(scope="module")
def scorer(config):
    """A small real LightGBM model, trained with the project's own function on clean synthetic data."""
    from features.contract import canonical_activities, canonical_leads
    from models.train import TrainParams, default_as_of, labels_for, train_and_evaluate

    crm = generate(1500, 8, 3)
    leads, _ = canonical_leads(crm.leads, config)
    acts, _ = canonical_activities(crm.activities, config, leads["lead_id"])
    feats = build_features(leads, acts, config=config)
    params = TrainParams(num_threads=1, max_rounds=60, early_stopping_rounds=20, min_data_in_leaf=20)
    result = train_and_evaluate(
        feats, labels_for(leads, config, default_as_of(leads, acts)), config=config, params=params, logistic=False
    )
    return result.model, result.tier_cutoffs


@pytest.fixture(scope="module")
def tally(pytestconfig):
    counts = getattr(pytestconfig, "leadscore_fuzz", None)
    if counts is None:
        counts = pytestconfig.leadscore_fuzz = Counter()
    return counts


# --- mutations: one strategy per kind ----------------------------------------------------------------------

ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
TS_OUT_OF_RANGE = [
    "1969-12-31 23:59:59",
    "1900-01-01 00:00:00",
    "0001-01-01 00:00:00",
    "1677-09-21 00:12:43",
    "1600-02-29 12:00:00",
    "2199-01-01 00:00:00",
    "2262-04-11 23:47:17",
    "2263-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "1969-12-31T23:59:59Z",
    "2150-06-01T00:00:00+05:00",
]
NAN_LIKE = ["NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", "NULL", "null", "None", "NA", "#N/A", "", " "]
WRONG = ["12", "3.5", "-0", "1e308", "true", "2026-13-45", "01/02/2026", "1700000000", "[1, 2]", "{}", "0x1F", "١٢"]


def _row(draw, table: Table) -> int:
    return draw(st.integers(0, len(table.rows) - 1))


def _mark(case: Case, table: str, row: int, reason: str) -> None:
    case.must_reject[(table, row + 1)] = reason


def missing_column(draw, case: Case) -> None:
    which = draw(st.sampled_from(["leads", "acts"]))
    table = case.leads if which == "leads" else case.acts
    col = draw(st.sampled_from(table.header))
    j = table.header.index(col)
    table.header.pop(j)
    for r in table.rows:
        r.pop(j)
    if col != "Lead Status":  # an excluded column is never read, so it may be absent
        case.error_names = [col, "required column"]
        case.error_only = True


def extra_column(draw, case: Case) -> None:
    table = case.leads if draw(st.booleans()) else case.acts
    names = draw(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3, unique=True))
    for name in names:
        if name in table.header:
            continue
        table.header.append(name)
        for r in table.rows:
            r.append(draw(ODD_TEXT))


def wrong_type(draw, case: Case) -> None:
    which = draw(st.sampled_from(["leads", "acts"]))
    table = case.leads if which == "leads" else case.acts
    col = draw(st.sampled_from(table.header))
    j = table.header.index(col)
    fmt = case.lead_fmt if which == "leads" else case.act_fmt
    if fmt == "parquet" and draw(st.booleans()):
        n = len(table.rows)
        kind = draw(st.sampled_from(["int", "float", "bool", "timestamp", "date", "null", "list", "dictionary"]))
        table.typed[col] = {
            "int": lambda: pa.array(range(n), pa.int64()),
            "float": lambda: pa.array(np.linspace(-1e308, 1e308, n)),
            "bool": lambda: pa.array([i % 2 == 0 for i in range(n)]),
            "timestamp": lambda: pa.array(pd.to_datetime([r[j] for r in table.rows], errors="coerce")),
            "date": lambda: pa.array(pd.to_datetime([r[j] for r in table.rows], errors="coerce").date),
            "null": lambda: pa.nulls(n, pa.string()),
            "list": lambda: pa.array([[1, 2]] * n),
            "dictionary": lambda: pa.array([r[j] for r in table.rows]).dictionary_encode(),
        }[kind]()
        if kind == "list":
            case.error_names = [col]
            case.error_only = True
        if kind == "null" and which == "leads" and col in ("Lead ID", "MQL Date"):
            for i in range(n):
                _mark(case, "leads", i, "missing")
        return
    for i in draw(st.lists(st.integers(0, len(table.rows) - 1), min_size=1, max_size=4)):
        table.rows[i][j] = draw(st.one_of(st.sampled_from(WRONG), ODD_TEXT))
        if which == "leads" and col == "MQL Date":
            _mark(case, "leads", i, "mql_at:")


def nan_inf(draw, case: Case) -> None:
    which = draw(st.sampled_from(["leads", "acts"]))
    table = case.leads if which == "leads" else case.acts
    col = draw(st.sampled_from(table.header))
    j = table.header.index(col)
    fmt = case.lead_fmt if which == "leads" else case.act_fmt
    rows = draw(st.lists(st.integers(0, len(table.rows) - 1), min_size=1, max_size=3, unique=True))
    if fmt == "parquet" and draw(st.booleans()):
        values = [None if i in rows else r[j] for i, r in enumerate(table.rows)]
        if draw(st.booleans()) and all(v is None for v in values):
            table.typed[col] = pa.array([float("nan")] * len(values))
        else:
            table.typed[col] = pa.array(values, pa.string())
        if which == "leads" and col in ("Lead ID", "MQL Date"):
            for i in rows:
                _mark(case, "leads", i, "missing" if col == "Lead ID" else "mql_at:")
        return
    for i in rows:
        table.rows[i][j] = draw(st.sampled_from(NAN_LIKE))
        if which == "leads" and col == "MQL Date":
            _mark(case, "leads", i, "mql_at:")
        if which == "leads" and col == "Lead ID" and table.rows[i][j].strip() in ("", "-"):
            _mark(case, "leads", i, "lead_id: missing")


def duplicate_ids(draw, case: Case) -> None:
    leads = case.leads
    if len(leads.rows) < 2:
        leads.rows.append(list(leads.rows[0]))
    a, b = draw(st.lists(st.integers(0, len(leads.rows) - 1), min_size=2, max_size=2, unique=True))
    j = leads.header.index("Lead ID")
    # spacing differs; the id is the same once stripped
    leads.rows[b][j] = draw(st.sampled_from(["", " ", "  "])) + leads.rows[a][j] + draw(st.sampled_from(["", " "]))
    for i in (a, b):
        _mark(case, "leads", i, "duplicate lead_id")


def unseen_category(draw, case: Case) -> None:
    col = draw(st.sampled_from(CATEGORICAL + ["Job Title", "Email"]))
    j = case.leads.header.index(col)
    for i in draw(st.lists(st.integers(0, len(case.leads.rows) - 1), min_size=1, max_size=4)):
        case.leads.rows[i][j] = draw(st.one_of(ODD_TEXT, st.sampled_from(["spring-2027", "Narnia", "ÑANDÚ SA", "0"])))
    kind = draw(st.sampled_from(["", "page_view_v2", "PRICING_VIEW", "meeting_held", "\u200b"]))
    if kind and case.acts.rows:
        case.acts.rows[_row(draw, case.acts)][case.acts.header.index("Activity Type")] = kind


def timestamp_range(draw, case: Case) -> None:
    value = draw(
        st.one_of(
            st.sampled_from(TS_OUT_OF_RANGE),
            st.integers(2, 3000).map(lambda d: (pd.Timestamp.now() + pd.Timedelta(days=d)).strftime("%Y-%m-%d")),
        )
    )
    if draw(st.booleans()) or not case.acts.rows:
        col = draw(st.sampled_from(list(LEAD_TS)))
        i = _row(draw, case.leads)
        case.leads.rows[i][case.leads.header.index(col)] = value
        _mark(case, "leads", i, f"{LEAD_TS[col]}:")
    else:
        i = _row(draw, case.acts)
        case.acts.rows[i][case.acts.header.index("Timestamp")] = value
        _mark(case, "activities", i, "occurred_at:")


def unknown_activity_lead(draw, case: Case) -> None:
    if "Lead ID" not in case.leads.header or "Lead ID" not in case.acts.header:
        return  # an earlier mutation (mixed cases) removed the id column: nothing to point at
    known = {r[case.leads.header.index("Lead ID")].strip() for r in case.leads.rows}
    template = case.acts.rows[0] if case.acts.rows else ["x", "page_view", "2026-10-01 10:00:00"]
    for _ in range(draw(st.integers(1, 3))):
        lead = draw(st.one_of(st.sampled_from(["L999-0000000", "l007-0000001", "0", "NaN"]), ODD_TEXT))
        if lead.strip() in known:
            continue
        row = list(template)
        row[case.acts.header.index("Lead ID")] = lead
        case.acts.rows.append(row)
        _mark(case, "activities", len(case.acts.rows) - 1, "lead_id:")


def empty_file(draw, case: Case) -> None:
    table = case.leads if draw(st.booleans()) else case.acts
    table.raw = b""
    case.error_names = ["file is empty"]
    case.error_only = True


def header_only(draw, case: Case) -> None:
    leads = draw(st.booleans())
    table = case.leads if leads else case.acts
    table.rows = []
    table.final_eol = draw(st.booleans())
    table.eol = draw(st.sampled_from(["\n", "\r\n"]))
    if leads:
        case.error_names = ["header only"]
        case.error_only = True


def non_utf8(draw, case: Case) -> None:
    which = draw(st.sampled_from(["leads", "acts"]))
    table = case.leads if which == "leads" else case.acts
    if not table.rows:
        return
    col = draw(st.sampled_from(table.header))
    j = table.header.index(col)
    raw = draw(
        st.sampled_from([b"\xff", b"\xe9", b"\xc3\x28", b"\x80abc", "España".encode("latin-1"), b"\xed\xa0\x80"])
    )
    fmt = case.lead_fmt if which == "leads" else case.act_fmt
    if fmt == "parquet":
        values = [r[j].encode() for r in table.rows]
        values[_row(draw, table)] = raw
        table.typed[col] = pa.array(values, pa.binary())
    else:
        table.rows[_row(draw, table)][j] = BYTES_MARK
        table.swaps[BYTES_MARK] = raw
    case.error_names = [col, "latin-1"]
    case.error_only = True


def huge_string(draw, case: Case) -> None:
    table = case.leads if draw(st.booleans()) else case.acts
    if not table.rows:
        return
    size = draw(st.sampled_from([5_000, 100_000, 1_500_000]))
    unit = draw(st.sampled_from(["x", "ñ", "a,b", 'q"', "line\n", "\u4e2d"]))
    j = draw(st.integers(0, len(table.header) - 1))
    table.rows[_row(draw, table)][j] = (unit * (size // len(unit) + 1))[:size]


def quoting_trap(draw, case: Case) -> None:
    trap = draw(
        st.sampled_from(
            [
                "embedded",
                "quote_all",
                "crlf",
                "bom",
                "blank_lines",
                "extra_field",
                "short_row",
                "unclosed",
                "closed_later",
                "mid_quote",
            ]
        )
    )
    which = draw(st.sampled_from(["leads", "acts"]))
    table = case.leads if which == "leads" else case.acts
    name = "leads" if which == "leads" else "activities"
    if not table.rows:
        return
    i, j = _row(draw, table), draw(st.integers(0, len(table.header) - 1))
    if trap == "embedded":
        table.rows[i][j] = draw(st.sampled_from(['say "hi"', "a,b", "two\nlines", "cr\rlf\r\n", '"', '""', ", "]))
        table.rows[i][j] = (table.rows[i][j] + " " + table.rows[i][j]) if draw(st.booleans()) else table.rows[i][j]
    elif trap == "quote_all":
        table.quote_all = True
    elif trap == "crlf":
        table.eol = draw(st.sampled_from(["\r\n", "\r"]))
    elif trap == "bom":
        table.bom = True
    elif trap == "blank_lines":
        table.blank_after = set(draw(st.lists(st.integers(0, len(table.rows) - 1), max_size=3)))
    elif trap == "extra_field":
        table.rows[i] = table.rows[i] + [draw(ODD_TEXT)]
        _mark(case, name, i, "fields, expected")
    elif trap == "short_row":
        del table.rows[i][j]
        _mark(case, name, i, "fields, expected")
    elif trap == "unclosed":
        # a bare quote opening a field that is never closed: the rows after it would vanish into one value
        table.rows[i][j] = QUOTE_MARK + table.rows[i][j]
        table.swaps[QUOTE_MARK] = b'"'
        # named as a quote, or (one row swallowed whole) as a row with too few fields
        case.error_names = [("quote", "fields, expected")]
        # in the last row there are no rows after it to swallow: rejecting that row alone is right too
        case.error_only = i < len(table.rows) - 1
    elif trap == "closed_later" and len(table.rows) >= 2:
        # a bare quote opening a value, and another rows later: the rows between become one value
        k = draw(st.integers(i + 1, len(table.rows))) if i + 1 < len(table.rows) else None
        if k is None or k >= len(table.rows):
            i, k = 0, len(table.rows) - 1
        table.rows[i][j] = QUOTE_MARK + table.rows[i][j]
        # a quote inside a later value (O"Brien). One that ends a value exactly is valid CSV, a value spanning
        # rows, which no reader can tell from a real one: not generated
        table.rows[k][j] = "O" + QUOTE_MARK + "Brien"
        table.swaps[QUOTE_MARK] = b'"'
        # named as a quote, or (one row swallowed whole) as a row with too few fields
        case.error_names = [("quote", "fields, expected")]
        case.error_only = True
    elif trap == "mid_quote":
        table.rows[i][j] = "ab" + QUOTE_MARK + "cd"
        table.swaps[QUOTE_MARK] = b'"'  # a literal quote inside an unquoted value: read as it stands


MUTATE = {k: globals()[k] for k in KINDS}


@st.composite
def cases(draw, pool, kind: str | None = None) -> Case:
    lead_cols, lead_rows, act_cols, acts_by_lead = pool
    picks = draw(st.lists(st.integers(0, len(lead_rows) - 1), min_size=1, max_size=6, unique=True))
    leads = [list(lead_rows[i]) for i in picks]
    acts = [list(a) for i in picks for a in acts_by_lead.get(lead_rows[i][0], [])[:4]]
    case = Case(
        kind or "mixed",
        Table(list(lead_cols), leads),
        Table(list(act_cols), acts),
        lead_fmt=draw(st.sampled_from(["csv", "csv", "parquet"])),
        act_fmt=draw(st.sampled_from(["csv", "csv", "parquet"])),
    )
    kinds = [kind] if kind else draw(st.lists(st.sampled_from(KINDS), min_size=2, max_size=3, unique=True))
    for k in kinds:
        MUTATE[k](draw, case)
    if not kind:  # several kinds at once: only the generic invariant holds
        case.error_names, case.error_only, case.must_reject = [], False, {}
    # quoting traps (field counts, quotes) only mean something in a CSV: Parquet has neither
    if "quoting_trap" in kinds:
        case.lead_fmt = case.act_fmt = "csv"
    # the unclosed-quote marker only means something in a CSV
    if any(QUOTE_MARK in t.swaps for t in (case.leads, case.acts)):
        case.lead_fmt = "csv" if QUOTE_MARK in case.leads.swaps else case.lead_fmt
        case.act_fmt = "csv" if QUOTE_MARK in case.acts.swaps else case.act_fmt
    for t in (case.leads, case.acts):
        # a typed Parquet column drawn before a later kind added or removed rows no longer fits the table
        t.typed = {k: v for k, v in t.typed.items() if len(v) == len(t.rows)}
    for t, fmt in ((case.leads, "lead_fmt"), (case.acts, "act_fmt")):
        if t.swaps or t.raw is not None or t.bom or t.blank_after or t.eol != "\n" or t.quote_all:
            setattr(case, fmt, "csv")  # damage that only a CSV can carry
    return case


# --- running a case through the real path ------------------------------------------------------------------


def _data_rows(table: Table, fmt: str) -> int:
    return 0 if table.raw is not None else len(table.rows)


def _error_rule(message: str) -> str:
    for part, rule in [
        ("file is empty", "empty file"),
        ("header only", "header only"),
        ("required column", "missing required column"),
        ("not utf-8 text", "not UTF-8 (column named)"),
        ("set encoding", "not UTF-8"),
        ("never closed", "unclosed quote"),
        ("stray quote", "stray quote joined rows"),
        ("leads were rejected", "every lead rejected"),
        ("used more than once", "duplicate column name"),
        ("not single values", "nested Parquet column"),
        ("only blank lines", "no header"),
    ]:
        if part in message:
            return rule
    return "other: " + message[:60]


def run_case(case: Case, model, cutoffs, config, folder: Path, tally: Counter | None = None) -> str:
    """Run one case and check the invariant; return its outcome for the tally."""
    leads_path, acts_path = case.write(folder)
    try:
        export = load_export(leads_path, acts_path, config)
    except ContractError as exc:
        message = str(exc)
        assert str(leads_path) in message or str(acts_path) in message, f"error names no file: {message}"
        for name in case.error_names:
            alternatives = name if isinstance(name, tuple) else (name,)
            assert any(a in message for a in alternatives), f"error does not name {name!r}: {message}"
        assert "\n" not in message.strip() or "never closed" in message, message
        return f"error: {_error_rule(message)}"
    assert not case.error_only, f"{case.kind}: expected an error, got a result"

    features = build_features(export.leads, export.activities, config=config)
    scored = score_leads(
        model,
        features,
        export.leads,
        cutoffs=cutoffs,
        model_version="1",
        pii_columns=config.names_with_role("pii"),
    )
    write_csv(scored, folder / "out" / "list.csv")
    write_parquet(scored, folder / "out" / "list.parquet")
    write_csv(export.rejects, folder / "out" / "list_rejects.csv")

    # the invariant, exactly: every input row of each table is scored (leads) / kept (activities) or rejected
    rej = export.rejects
    assert rej["reason"].map(lambda r: isinstance(r, str) and r.strip() != "").all(), "a reject without reason"
    n_leads, n_acts = _data_rows(case.leads, case.lead_fmt), _data_rows(case.acts, case.act_fmt)
    rl, ra = rej[rej["table"] == "leads"], rej[rej["table"] == "activities"]
    if tally is not None:  # counted before the checks below fail the case
        tally["rows lost"] += abs(n_leads - len(scored) - len(rl)) + abs(n_acts - len(export.activities) - len(ra))
        tally["lead rows in"] += n_leads
        tally["lead rows scored"] += len(scored)
        tally["lead rows rejected with a reason"] += len(rl)
        tally["activity rows in"] += n_acts
        tally["activity rows rejected with a reason"] += len(ra)
    assert export.rows_in == {"leads": n_leads, "activities": n_acts}, (export.rows_in, n_leads, n_acts)
    for part, n in ((rl, n_leads), (ra, n_acts)):
        rows = part["row"].tolist()
        assert len(set(rows)) == len(rows) and all(1 <= r <= n for r in rows), rows
    assert len(scored) + len(rl) == n_leads, "lead rows lost"
    assert len(export.activities) + len(ra) == n_acts, "activity rows lost"
    assert scored["lead_id"].is_unique
    if "Lead ID" in case.leads.header and case.lead_fmt == "csv" and not case.leads.swaps:
        j = case.leads.header.index("Lead ID")
        rejected = set(rl["row"])
        for r, row in enumerate(case.leads.rows, start=1):
            if r not in rejected and len(row) == len(case.leads.header):
                assert row[j].strip() in set(scored["lead_id"]), (
                    f"row {r}: id {row[j][:40]!r} neither scored nor rejected"
                )
    by_row = {("leads", r.row): r.reason for r in rl.itertuples()} | {
        ("activities", r.row): r.reason for r in ra.itertuples()
    }
    for key, part in case.must_reject.items():
        assert key in by_row, f"{case.kind}: {key} should be rejected ({part})"
        assert part in by_row[key], f"{case.kind}: {key} reason {by_row[key]!r} lacks {part!r}"

    # the files an SDR and a CRM import read hold every scored lead, and the rejects every reject
    back = pacsv.read_csv(
        folder / "out" / "list.csv",
        read_options=pacsv.ReadOptions(block_size=max(1 << 20, 2 * (folder / "out" / "list.csv").stat().st_size)),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=False, column_types={"lead_id": pa.string()}),
    )
    assert back.num_rows == len(scored)
    assert pq.read_table(folder / "out" / "list.parquet").num_rows == len(scored)
    # a rejected value may be longer than pyarrow's default 1 MB block
    big = pacsv.ReadOptions(block_size=max(1 << 20, 2 * (folder / "out" / "list_rejects.csv").stat().st_size))
    back_rej = pacsv.read_csv(
        folder / "out" / "list_rejects.csv", read_options=big, parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    assert back_rej.num_rows == len(rej)
    return "result: scored and rejected add up" if len(rej) else "result: all scored"


def _check(case, scorer, config, tally) -> None:
    model, cutoffs = scorer
    with tempfile.TemporaryDirectory() as tmp:
        outcome = run_case(case, model, cutoffs, config, Path(tmp), tally)
    tally["cases"] += 1
    tally[f"kind {case.kind}"] += 1
    tally[outcome] += 1


def _fuzz_test(kind: str | None, n: int):
    @_settings(n)
    @given(data=st.data())
    def test(pool, scorer, config, tally, data):
        _check(data.draw(cases(pool, kind)), scorer, config, tally)

    return test


@pytest.mark.parametrize("kind", KINDS)
def test_fuzzed_exports_are_scored_or_rejected_or_refused_clearly(kind, pool, scorer, config, tally):
    _fuzz_test(kind, QUICK_PER_KIND)(pool, scorer, config, tally)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_fuzzed_exports_many_cases(kind, pool, scorer, config, tally):
    _fuzz_test(kind, SLOW_PER_KIND)(pool, scorer, config, tally)


@pytest.mark.slow
def test_fuzzed_exports_with_several_kinds_of_damage_at_once(pool, scorer, config, tally):
    _fuzz_test(None, SLOW_MIXED)(pool, scorer, config, tally)
