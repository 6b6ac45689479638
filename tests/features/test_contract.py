"""The data contract: bad rows go to rejects with the rule they broke; the rest go on."""

from __future__ import annotations

import pandas as pd
import pytest

from features.config import ConfigError, parse_config
from features.contract import ContractError, canonical_activities, canonical_leads, load_export, read_table

BASE = {
    "Lead ID": "L1",
    "Created Date": "2026-01-01 10:00:00",
    "MQL Date": "2026-01-05 10:00:00",
    "SQL Date": "",
    "First Name": "Ana",
    "Last Name": "Ruiz",
    "Email": "ana@acme.es",
    "Phone": "+34 1",
    "Company": "Acme SL",
    "Job Title": "CEO",
    "Industry": "Software",
    "Company Size": "51-200",
    "Country": "Spain",
    "Lead Source": "referral",
    "Campaign": "referral-always-on",
    "Lead Status": "Open",
}


def frame(*overrides: dict) -> pd.DataFrame:
    rows = []
    for i, o in enumerate(overrides):
        row = {**BASE, "Lead ID": f"L{i}"}
        row.update(o)
        rows.append(row)
    return pd.DataFrame(rows, dtype="str")


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"Lead ID": ""}, "lead_id: missing"),
        ({"MQL Date": ""}, "mql_at: missing"),
        ({"MQL Date": "next tuesday"}, "mql_at: not a timestamp ('next tuesday', format ISO8601)"),
        ({"MQL Date": "1969-12-31 23:00:00", "Created Date": ""}, "mql_at: before 1970"),
        ({"MQL Date": "2199-01-01 00:00:00"}, "mql_at: in the future"),
        ({"SQL Date": "2026-01-01 00:00:00"}, "sql_at is not before mql_at"),
        ({"Created Date": "2026-02-01 00:00:00"}, "created_at is not after mql_at"),
    ],
)
def test_bad_lead_rows_are_rejected_with_their_rule(config, override, reason):
    raw = frame({}, override, {})
    valid, rejects = canonical_leads(raw, config)
    assert list(valid["lead_id"]) == ["L0", "L2"]
    assert list(rejects["row"]) == [2]
    assert reason in rejects["reason"].iloc[0]


def test_duplicate_ids_are_all_rejected_and_nothing_is_lost(config):
    raw = frame({}, {"Lead ID": "DUP"}, {"Lead ID": "DUP"}, {})
    valid, rejects = canonical_leads(raw, config)
    assert list(valid["lead_id"]) == ["L0", "L3"]
    assert list(rejects["row"]) == [2, 3]
    assert all("duplicate lead_id" in r for r in rejects["reason"])
    assert len(valid) + len(rejects) == len(raw)


def test_placeholders_become_missing_and_excluded_columns_are_dropped(config):
    valid, rejects = canonical_leads(frame({"Industry": "Select", "Company Size": "unknown"}), config)
    assert rejects.empty
    assert valid["industry"].isna().all() and valid["company_size"].isna().all()
    assert "lead_status" not in valid.columns  # an excluded leak never enters the canonical table


def test_missing_required_column_names_file_and_column(config):
    raw = frame({}).drop(columns=["MQL Date"])
    with pytest.raises(ContractError, match=r"export\.csv: required column\(s\) \['MQL Date'\]"):
        canonical_leads(raw, config, source="export.csv")


def test_numeric_attribute_that_is_not_a_number_is_rejected(config):
    data = config.model_dump(by_alias=True)
    data["leads"]["attributes"].append({"source": "Employees", "name": "employees", "role": "numeric"})
    cfg = parse_config(data)
    raw = frame({"Employees": "120"}, {"Employees": "lots"}, {"Employees": "inf"}, {"Employees": ""})
    valid, rejects = canonical_leads(raw, cfg)
    assert list(valid["employees"].fillna(-1)) == [120.0, -1]
    assert list(rejects["row"]) == [2, 3]
    assert "employees: not a finite number ('lots')" in rejects["reason"].iloc[0]


def test_activities_of_unknown_leads_and_bad_rows_are_rejected(config):
    raw = pd.DataFrame(
        {
            "Lead ID": ["L0", "NOPE", "L0", "L0"],
            "Timestamp": ["2026-01-04 00:00:00", "2026-01-04 00:00:00", "garbage", "2026-01-03"],
            "Activity Type": ["page_view", "page_view", "page_view", ""],
        },
        dtype="str",
    )
    valid, rejects = canonical_activities(raw, config, pd.Series(["L0"]))
    assert len(valid) == 1
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == {
        2: "lead_id: no lead with this id",
        3: "occurred_at: not a timestamp ('garbage', format ISO8601)",
        4: "activity_type: missing",
    }


def test_files_that_cannot_be_read_raise_a_clear_error(tmp_path, config):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ContractError, match="empty.csv: file is empty"):
        read_table(empty)
    with pytest.raises(ContractError, match="nope.csv: file not found"):
        read_table(tmp_path / "nope.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(BASE) + "\n")
    acts = tmp_path / "acts.csv"
    acts.write_text("Lead ID,Timestamp,Activity Type\n")
    with pytest.raises(ContractError, match="header.csv: no leads in the file"):
        load_export(header_only, acts, config)
    dup = tmp_path / "dup.csv"
    frame({}).assign(Country2="x").rename(columns={"Country2": "Country"}).to_csv(dup, index=False)
    with pytest.raises(ContractError, match=r"dup.csv: column name\(s\) used more than once: \['Country'\]"):
        read_table(dup)


def test_ids_keep_leading_zeros(tmp_path, config):
    path, acts = tmp_path / "leads.csv", tmp_path / "acts.csv"
    frame({"Lead ID": "00123"}).to_csv(path, index=False)
    acts.write_text("Lead ID,Timestamp,Activity Type\n")
    assert load_export(path, acts, config).leads["lead_id"].tolist() == ["00123"]


def test_a_row_with_extra_fields_is_rejected_by_number_and_its_content_never_shown(tmp_path, config):
    path = tmp_path / "leads.csv"
    frame({}, {}, {}).to_csv(path, index=False)
    lines = path.read_text().splitlines()
    lines[2] += ",maria.secret@example.com"  # data row 2 gains a field
    path.write_text("\n".join(lines) + "\n")
    raw = read_table(path)
    valid, rejects = canonical_leads(raw, config)
    assert valid["lead_id"].tolist() == ["L0", "L2"] and raw.rows.tolist() == [1, 3]
    assert rejects[["row", "reason"]].values.tolist() == [[2, "row has 17 fields, expected 16"]]
    assert "secret" not in rejects.to_csv()


def test_all_rows_rejected_says_why_instead_of_failing_later(tmp_path, config):
    path, acts = tmp_path / "leads.csv", tmp_path / "acts.csv"
    frame({"MQL Date": "05/01/2026"}, {"MQL Date": "06/01/2026"}).to_csv(path, index=False)
    acts.write_text("Lead ID,Timestamp,Activity Type\n")
    with pytest.raises(ContractError, match=r"all 2 leads were rejected; most common reasons: mql_at: not a timestamp"):
        load_export(path, acts, config)


def test_a_config_with_activities_refuses_to_run_without_them(tmp_path, config):
    path = tmp_path / "leads.csv"
    frame({}).to_csv(path, index=False)
    with pytest.raises(ContractError, match="no activities file was given; pass --activities"):
        load_export(path, None, config)


def test_offsets_are_converted_and_naive_times_read_in_the_configured_zone(config):
    madrid = parse_config({**config.model_dump(by_alias=True), "timezone": "Europe/Madrid"})
    raw = frame({"MQL Date": "2026-01-05T10:00:00+01:00"}, {"MQL Date": "2026-01-05 10:00:00", "Created Date": ""})
    utc, _ = canonical_leads(raw, config)
    local, _ = canonical_leads(raw, madrid)
    assert utc["mql_at"].tolist() == [pd.Timestamp("2026-01-05 09:00"), pd.Timestamp("2026-01-05 10:00")]
    assert local["mql_at"].tolist() == [pd.Timestamp("2026-01-05 09:00"), pd.Timestamp("2026-01-05 09:00")]


def test_mixing_zoned_and_naive_tables_raises_a_warning(tmp_path, config):
    path, acts = tmp_path / "leads.csv", tmp_path / "acts.csv"
    frame({"MQL Date": "2026-01-05T10:00:00+01:00"}).to_csv(path, index=False)
    acts.write_text("Lead ID,Timestamp,Activity Type\nL0,2026-01-05 09:00:00,form_fill\n")
    loaded = load_export(path, acts, config)
    assert len(loaded.warnings) == 1 and "set timezone in the dataset config" in loaded.warnings[0]


def test_latin1_files_read_with_the_configured_encoding(tmp_path, config):
    path = tmp_path / "leads.csv"
    frame({"Company": "Peña y Cía"}).to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(ContractError, match="set encoding"):
        read_table(path)
    latin = parse_config({**config.model_dump(by_alias=True), "encoding": "latin-1"})
    assert read_table(path, encoding=latin.encoding).frame["Company"].tolist() == ["Peña y Cía"]


def test_activities_of_a_rejected_lead_say_so(config):
    raw = pd.DataFrame({"Lead ID": ["BAD"], "Timestamp": ["2026-01-04"], "Activity Type": ["page_view"]}, dtype="str")
    _, rejects = canonical_activities(raw, config, pd.Series(["L0"]), rejected_ids={"BAD"})
    assert rejects["reason"].tolist() == ["lead_id: its lead was rejected (see the leads rows)"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(horizon_days=0), "horizon_days: Input should be greater than 0"),
        (lambda d: d["features"].update(title_attribute="industry"), "must name a text attribute"),
        (
            lambda d: d["leads"]["attributes"].append({"source": "X", "name": "industry", "role": "numeric"}),
            "attribute names used twice: ['industry']",
        ),
        (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda d: d["features"].update(monotone_increasing=["pricing_7d"]), "not features: ['pricing_7d']"),
        (lambda d: d["persona"]["conditions"].append({"feature": "budget", "min": 1}), "not features: ['budget']"),
    ],
)
def test_invalid_configs_name_the_key_and_the_problem(config, mutate, message):
    data = config.model_dump(by_alias=True)
    mutate(data)
    with pytest.raises(ConfigError, match="invalid dataset config") as exc:
        parse_config(data)
    assert message in str(exc.value)


def test_a_damaged_gzip_export_is_a_data_error_naming_the_file_not_a_retry(tmp_path):
    import gzip

    from models.transient import is_transient

    data = gzip.compress(b"Lead ID,MQL Date\n" + b"L1,2026-01-01\n" * 50_000)
    path = tmp_path / "leads.csv.gz"
    path.write_bytes(data[: len(data) // 2])  # an upload cut half way
    with pytest.raises(ContractError, match=r"leads\.csv\.gz: cannot be read \(.*\); is the file complete") as caught:
        read_table(path)
    assert not is_transient(caught.value)
