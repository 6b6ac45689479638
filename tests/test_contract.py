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
        ({"MQL Date": "next tuesday"}, "mql_at: not a timestamp ('next tuesday')"),
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
        2: "lead_id: no valid lead with this id",
        3: "occurred_at: not a timestamp ('garbage')",
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
    result = load_export(header_only, None, config)
    assert result.leads.empty and result.rejects.empty and result.rows_in["leads"] == 0


def test_ids_keep_leading_zeros(tmp_path, config):
    path = tmp_path / "leads.csv"
    frame({"Lead ID": "00123"}).to_csv(path, index=False)
    assert load_export(path, None, config).leads["lead_id"].tolist() == ["00123"]


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
    ],
)
def test_invalid_configs_name_the_key_and_the_problem(config, mutate, message):
    data = config.model_dump(by_alias=True)
    mutate(data)
    with pytest.raises(ConfigError, match="invalid dataset config") as exc:
        parse_config(data)
    assert message in str(exc.value)
