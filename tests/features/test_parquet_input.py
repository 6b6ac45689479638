"""The same export given as CSV or as Parquet loads to the same tables, rejects and features.

Parquet text columns are read as they are stored; timestamp columns already typed are read without text.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from features.build import build_features
from features.contract import load_export

LEAD_TIMES = ["Created Date", "MQL Date", "SQL Date"]


def _as_text(table: pa.Table) -> pa.Table:
    return pa.table([c.cast(pa.string()) for c in table.columns], names=table.column_names)


def _typed(table: pa.Table, columns: list[str]) -> pa.Table:
    """The table with ``columns`` as naive timestamps (blank -> null), as a warehouse export writes them."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if name in columns:
            col = pc.strptime(pc.if_else(pc.equal(col, ""), None, col), format="%Y-%m-%d %H:%M:%S", unit="s")
        cols.append(col)
    return pa.table(cols, names=table.column_names)


@pytest.fixture(scope="module")
def exports(crm, tmp_path_factory):
    """One export with rejects of every kind, written as CSV, as Parquet text and as Parquet typed."""
    leads = pa.Table.from_pandas(crm.leads.head(1500).astype("str").fillna(""), preserve_index=False)
    ids = leads.column("Lead ID").to_pylist()
    acts = crm.activities[crm.activities["Lead ID"].isin(set(ids))].astype("str").fillna("")
    acts = pa.Table.from_pandas(acts.reset_index(drop=True), preserve_index=False)
    lead_rows = leads.to_pylist()
    lead_rows[3]["Lead ID"] = ids[4]  # a duplicate id: both rows rejected, their activities too
    lead_rows[7]["SQL Date"] = "2000-01-01 00:00:00"  # sql before mql
    lead_rows[9]["MQL Date"] = "1965-03-01 10:00:00"  # before 1970
    lead_rows[11]["Lead ID"] = ""  # missing id
    act_rows = acts.to_pylist()
    act_rows[0]["Lead ID"] = "nobody"  # no such lead
    act_rows[1]["Activity Type"] = ""  # missing type
    act_rows[2]["Timestamp"] = "2099-01-01 00:00:00"  # in the future
    act_rows[5]["Lead ID"] = " " + act_rows[5]["Lead ID"]  # stripped, then found
    leads, acts = pa.Table.from_pylist(lead_rows), pa.Table.from_pylist(act_rows)
    folder = tmp_path_factory.mktemp("parquet_input")
    out = {}
    for kind, (lt, at) in {
        "csv": (leads, acts),
        "text": (_as_text(leads), _as_text(acts)),
        "typed": (_typed(leads, LEAD_TIMES), _typed(acts, ["Timestamp"])),
    }.items():
        paths = folder / f"leads_{kind}", folder / f"activities_{kind}"
        if kind == "csv":
            pacsv.write_csv(lt, paths[0].with_suffix(".csv"))
            pacsv.write_csv(at, paths[1].with_suffix(".csv"))
            out[kind] = paths[0].with_suffix(".csv"), paths[1].with_suffix(".csv")
        else:
            pq.write_table(lt, paths[0].with_suffix(".parquet"))
            pq.write_table(at, paths[1].with_suffix(".parquet"))
            out[kind] = paths[0].with_suffix(".parquet"), paths[1].with_suffix(".parquet")
    return out


def _loaded(paths, config):
    export = load_export(*paths, config)
    return export, build_features(export.leads, export.activities, config=config)


def _reasons_without_values(rejects: pd.DataFrame) -> pd.DataFrame:
    # a typed timestamp shows as Arrow writes it ('1965-03-01 10:00:00.000'): the rule is what must agree
    out = rejects.copy()
    out["reason"] = out["reason"].str.replace(r" \(.*\)$", "", regex=True)
    return out


@pytest.mark.parametrize("kind", ["text", "typed"])
def test_parquet_and_csv_inputs_load_the_same_tables_rejects_and_features(exports, config, kind):
    csv, csv_features = _loaded(exports["csv"], config)
    other, other_features = _loaded(exports[kind], config)
    assert len(csv.rejects) >= 8 and set(csv.rejects["table"]) == {"leads", "activities"}
    pd.testing.assert_frame_equal(other.leads, csv.leads, check_exact=True)
    pd.testing.assert_frame_equal(other.activities, csv.activities, check_exact=True)
    if kind == "text":
        pd.testing.assert_frame_equal(other.rejects, csv.rejects, check_exact=True)
    else:
        pd.testing.assert_frame_equal(_reasons_without_values(other.rejects), _reasons_without_values(csv.rejects))
    assert other.rows_in == csv.rows_in and other.warnings == csv.warnings
    pd.testing.assert_frame_equal(other_features, csv_features, check_exact=True)
    assert list(other_features.dtypes) == list(csv_features.dtypes)


def test_typed_timestamps_with_a_zone_are_read_from_it(tmp_path, config):
    # a zoned Parquet column is converted from its zone, as text with an offset is
    leads = pa.table(
        {
            "Lead ID": ["L0", "L1"],
            "Created Date": ["2026-01-01 10:00:00+01:00", ""],
            "MQL Date": ["2026-01-05 10:00:00+01:00", "2026-01-05 23:30:00-05:00"],
            "SQL Date": ["", ""],
            **{c: ["x", "y"] for c in ["First Name", "Last Name", "Email", "Phone", "Company", "Job Title"]},
            **{c: ["a", "b"] for c in ["Industry", "Company Size", "Country", "Lead Source", "Campaign"]},
            "Lead Status": ["Open", "Open"],
        }
    )
    pacsv.write_csv(leads, tmp_path / "leads.csv")
    zoned = []
    for name, col in zip(leads.column_names, leads.columns, strict=True):
        if name in LEAD_TIMES:
            text = pc.if_else(pc.equal(col, ""), None, col)
            col = pc.strptime(text, format="%Y-%m-%d %H:%M:%S%z", unit="s").cast(pa.timestamp("s", tz="UTC"))
        zoned.append(col)
    pq.write_table(pa.table(zoned, names=leads.column_names), tmp_path / "leads.parquet")
    acts = pa.table({"Lead ID": ["L0"], "Activity Type": ["email_open"], "Timestamp": ["2026-01-04 10:00:00Z"]})
    pacsv.write_csv(acts, tmp_path / "acts.csv")
    from_csv = load_export(tmp_path / "leads.csv", tmp_path / "acts.csv", config)
    from_parquet = load_export(tmp_path / "leads.parquet", tmp_path / "acts.csv", config)
    pd.testing.assert_frame_equal(from_parquet.leads, from_csv.leads, check_exact=True)
    assert from_parquet.leads["mql_at"].tolist() == [pd.Timestamp("2026-01-05 09:00"), pd.Timestamp("2026-01-06 04:30")]
    assert from_parquet.warnings == from_csv.warnings == ()


def test_the_lookup_shared_with_the_features_gives_the_features_a_fresh_lookup_gives(exports, config):
    # load_export's activity -> lead positions are reused by build_features only for the very same columns
    from features.canonical import lead_positions

    export = load_export(*exports["csv"], config)
    assert lead_positions(export.leads["lead_id"], export.activities["lead_id"]) is not None
    shared = build_features(export.leads, export.activities, config=config)
    leads, acts = export.leads.copy(deep=True), export.activities.copy(deep=True)
    assert lead_positions(leads["lead_id"], acts["lead_id"]) is None
    pd.testing.assert_frame_equal(shared, build_features(leads, acts, config=config), check_exact=True)
    # a leads table in another order must not reuse positions into the first one
    shuffled = export.leads.iloc[::-1].reset_index(drop=True)
    assert lead_positions(shuffled["lead_id"], export.activities["lead_id"]) is None
    again = build_features(shuffled, export.activities, config=config)
    pd.testing.assert_frame_equal(again.loc[shared.index], shared, check_exact=True)
