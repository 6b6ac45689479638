"""Related tables: lookups joined by key (chained), event tables with values, point in time, rejects, cache key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features, feature_columns
from features.config import ConfigError, parse_config
from features.contract import ContractError, load_export

BASE = {
    "name": "rel",
    "horizon_days": 30,
    "leads": {
        "lead_id": "Lead ID",
        "mql_at": "MQL Date",
        "sql_at": "SQL Date",
        "attributes": [{"source": "Source", "name": "source", "role": "categorical"}],
    },
    "lookups": [
        {
            "name": "contacts",
            "file": "contacts.csv",
            "key": "Contact ID",
            "id": "Contact ID",
            "attributes": [
                {"source": "Email", "name": "email", "role": "pii"},
                {"source": "Job Title", "name": "job_title", "role": "categorical"},
            ],
        },
        {
            "name": "accounts",
            "file": "accounts.csv",
            "via": "contacts",
            "key": "Account",
            "id": "Account ID",
            "attributes": [
                {"source": "Industry", "name": "industry", "role": "categorical"},
                {"source": "Employees", "name": "employees", "role": "numeric"},
                {"source": "Stage", "name": "stage", "role": "exclude"},
            ],
        },
    ],
    "events": [
        {
            "name": "web_sessions",
            "file": "web.csv",
            "key": "Lead",
            "occurred_at": "Start",
            "values": ["Pages Viewed", "Pricing Pages"],
        },
        {
            "name": "email_events",
            "file": "emails.csv",
            "key": "Contact",
            "matches": "contacts",
            "occurred_at": "When",
            "activity_type": "Event",
        },
    ],
    "features": {"windows": [7, 30], "activity_types": ["web_sessions", "open", "click"]},
    "persona": {"description": "x", "conditions": [{"feature": "source", "in": ["web"]}]},
}

LEADS = """Lead ID,Contact ID,MQL Date,SQL Date,Source
L1,C1,2026-03-10 12:00:00,,web
L2,C2,2026-03-20 12:00:00,2026-03-25 00:00:00,ads
L3,C9,2026-03-20 12:00:00,,web
L4,,2026-03-21 12:00:00,,web
"""
CONTACTS = """Contact ID,Account,Email,Job Title
C1,A1,a@x.es,CEO
C2,A2,b@y.es,Analyst
C2,A1,dup@y.es,Intern
,A1,none@y.es,Nobody
"""
ACCOUNTS = """Account ID,Industry,Employees,Stage
A1,Software,120,Customer
A2,Retail,,Prospect
"""
WEB = """Lead,Start,Pages Viewed,Pricing Pages
L1,2026-03-09 12:00:00,3,1
L1,2026-03-01 12:00:00,5,0
L1,2026-03-11 12:00:00,9,9
L2,2026-03-19 12:00:00,2,
L2,2026-03-19 13:00:00,many,1
L7,2026-03-19 13:00:00,1,1
"""
EMAILS = """Contact,When,Event
C1,2026-03-09 00:00:00,open
C1,2026-02-01 00:00:00,click
C2,2026-03-20 12:00:00,open
C2,2026-03-20 12:00:01,click
C5,2026-03-20 12:00:00,open
"""


def write_export(folder: Path, **overrides: str) -> Path:
    files = {"leads.csv": LEADS, "contacts.csv": CONTACTS, "accounts.csv": ACCOUNTS, "web.csv": WEB}
    files["emails.csv"] = EMAILS
    files.update({k.replace("_", "."): v for k, v in overrides.items()})
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "leads.csv"


@pytest.fixture
def rel_config():
    return parse_config(BASE)


def test_lookups_join_in_a_chain_with_missing_and_duplicate_keys(tmp_path, rel_config):
    export = load_export(write_export(tmp_path), None, rel_config)
    got = export.leads.set_index("lead_id")[["source", "email", "job_title", "industry", "employees"]]
    expected = pd.DataFrame(
        {
            "source": ["web", "ads", "web", "web"],
            "email": ["a@x.es", "b@y.es", None, None],  # C2's first row wins; C9 has no contact; L4 none at all
            "job_title": ["CEO", "Analyst", None, None],
            "industry": ["Software", "Retail", None, None],
            "employees": [120.0, np.nan, np.nan, np.nan],
        },
        index=pd.Index(["L1", "L2", "L3", "L4"], name="lead_id"),
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert "stage" not in export.leads.columns  # exclude: never read
    assert rel_config.names_with_role("categorical") == ["source", "job_title", "industry"]
    assert rel_config.names_with_role("pii") == ["email"]
    contacts = export.rejects[export.rejects["table"] == "contacts"]
    assert contacts[["row", "reason"]].values.tolist() == [
        [3, "Contact ID: duplicate key, the first row with it is used"],
        [4, "Contact ID: missing"],
    ]
    assert any("contacts: 1 rows repeat an id" in w for w in export.warnings)
    assert any("contacts: 1 leads have a Contact ID with no row in contacts.csv" in w for w in export.warnings)
    assert export.rows_in == {
        "leads": 4,
        "activities": 0,
        "contacts": 4,
        "accounts": 2,
        "web_sessions": 6,
        "email_events": 5,
    }


def test_events_become_activities_with_values_and_rejects_name_their_table(tmp_path, rel_config):
    export = load_export(write_export(tmp_path), None, rel_config)
    rej = export.rejects[export.rejects["table"].isin(["web_sessions", "email_events"])]
    assert rej[["table", "row", "reason"]].values.tolist() == [
        ["web_sessions", 5, "Pages Viewed: not a finite number ('many')"],
        ["web_sessions", 6, "lead_id: no lead with this id"],
        ["email_events", 5, "Contact: no lead with this contacts id"],
    ]
    acts = export.activities.sort_values(["lead_id", "occurred_at"]).reset_index(drop=True)
    assert acts["activity_type"].tolist() == [
        "click",
        "web_sessions",
        "open",
        "web_sessions",
        "web_sessions",
        "web_sessions",
        "open",
        "click",
    ]
    assert acts["web_sessions_pages_viewed"].fillna(-1).tolist() == [-1, 5, -1, 3, 9, 2, -1, -1]


def test_event_values_are_summed_per_window_as_of_the_cutoff(tmp_path, rel_config):
    export = load_export(write_export(tmp_path), None, rel_config)
    f = build_features(export.leads, export.activities, config=rel_config)
    # L1 (cutoff 03-10 12:00): sessions 03-09 (3 pages, 1 pricing) and 03-01 (5, 0); 03-11 is after the cutoff
    assert f.loc["L1", ["web_sessions_pages_viewed_sum_7d", "web_sessions_pages_viewed_sum_30d"]].tolist() == [3, 8]
    assert f.loc["L1", ["web_sessions_pricing_pages_sum_7d", "web_sessions_pricing_pages_sum_30d"]].tolist() == [1, 1]
    assert f.loc["L1", ["web_sessions_7d", "web_sessions_30d", "open_7d", "click_30d"]].tolist() == [1, 2, 1, 0]
    # L2 (03-20 12:00): one session (2 pages, pricing blank = 0); the email open at the cutoff counts, the click
    # one second later does not
    assert f.loc["L2", ["web_sessions_pages_viewed_sum_7d", "web_sessions_pricing_pages_sum_7d"]].tolist() == [2, 0]
    assert f.loc["L2", ["open_7d", "click_7d"]].tolist() == [1, 0]
    assert f.loc["L3", ["web_sessions_pages_viewed_sum_30d", "activities_30d"]].tolist() == [0, 0]
    cats, nums = feature_columns(rel_config)
    assert list(f.columns) == cats + nums


def test_a_changed_related_file_changes_the_cache_key(tmp_path, rel_config):
    from pipelines.feature_cache import cache_key

    leads = write_export(tmp_path)
    before = cache_key(leads, None, rel_config)
    assert cache_key(leads, None, rel_config) == before
    (tmp_path / "accounts.csv").write_text(ACCOUNTS.replace("120", "121"), encoding="utf-8")
    after_lookup = cache_key(leads, None, rel_config)
    (tmp_path / "web.csv").write_text(WEB.replace(",3,1", ",4,1"), encoding="utf-8")
    assert len({before, after_lookup, cache_key(leads, None, rel_config)}) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["lookups"][1].update(via="accounts"), "via 'accounts' must be 'leads' or an earlier lookup"),
        (lambda c: c["events"][1].update(matches="people"), "matches 'people' must be 'lead_id' or a lookup"),
        (
            lambda c: c["lookups"][0]["attributes"].append({"source": "X", "name": "source", "role": "categorical"}),
            "attribute names used twice (leads and lookups together): ['source']",
        ),
        (lambda c: c["events"][0].update(type="visit", activity_type="Kind"), "not both"),
    ],
)
def test_bad_references_are_refused_with_the_key_named(change, message):
    import copy

    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_config(data)


def test_a_missing_related_file_or_column_is_one_line(tmp_path, rel_config):
    leads = write_export(tmp_path)
    (tmp_path / "web.csv").write_text(WEB.replace("Pages Viewed", "Pages"), encoding="utf-8")
    with pytest.raises(ContractError, match=r"web\.csv: web_sessions: required column\(s\) \['Pages Viewed'\]"):
        load_export(leads, None, rel_config)
    (tmp_path / "accounts.csv").unlink()
    with pytest.raises(ContractError, match=r"accounts\.csv: file not found"):
        load_export(leads, None, rel_config)


def test_dask_scoring_refuses_related_tables(rel_config):
    from features.related import refuse_distributed

    with pytest.raises(ContractError, match="does not support yet"):
        refuse_distributed(rel_config)


# --- point in time, drawn: events with values after a lead's cutoff never change a feature --------------


@st.composite
def histories(draw):
    n = draw(st.integers(1, 4))
    cut = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(n) * 5, unit="D")
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "mql_at": cut.astype("datetime64[ns]"),
            "sql_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
            "created_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
            "source": ["web"] * n,
        }
    )

    def events(sign: int, low: int):
        rows = draw(
            st.lists(
                st.tuples(
                    st.integers(0, n - 1),
                    st.integers(low, 100 * 24),
                    st.sampled_from(["web_sessions", "open", "click"]),
                    st.floats(0, 1e6, allow_nan=False),
                    st.one_of(st.none(), st.floats(0, 50, allow_nan=False)),
                ),
                max_size=20,
            )
        )
        return pd.DataFrame(
            {
                "lead_id": pd.Series([f"L{i}" for i, *_ in rows], dtype=object),
                "occurred_at": pd.Series(
                    [cut[i] + sign * pd.Timedelta(hours=h) for i, h, *_ in rows], dtype="datetime64[ns]"
                ),
                "activity_type": pd.Series([t for _, _, t, _, _ in rows], dtype=object),
                "web_sessions_pages_viewed": pd.Series([p for *_, p, _ in rows], dtype=float),
                "web_sessions_pricing_pages": pd.Series([q for *_, q in rows], dtype=float),
            }
        )

    return leads, events(-1, 0), events(+1, 1)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_events_with_values_after_the_cutoff_never_change_any_feature(data):
    rel_config = parse_config(BASE)
    leads, before, after = data
    leads = leads.assign(email=None, job_title=None, industry=None, employees=np.nan)
    without = build_features(leads, before, config=rel_config)
    with_future = build_features(leads, pd.concat([before, after], ignore_index=True), config=rel_config)
    pd.testing.assert_frame_equal(without, with_future)


# --- the relational style and init-config on several files ----------------------------------------------


@pytest.fixture(scope="module")
def relational(tmp_path_factory):
    from features.style_relational import relational_tables
    from features.synthetic import generate

    crm = generate(1500, 12, 3)
    folder = tmp_path_factory.mktemp("relational")
    for stem, frame in relational_tables(crm).items():  # as `generate --style relational` writes them
        frame.to_csv(folder / f"{stem}.csv", index=False)
    return crm, folder


def test_the_relational_style_carries_every_activity_once(relational):
    crm, folder = relational
    kinds = crm.activities["Activity Type"].value_counts()
    emails = pd.read_csv(folder / "email_events.csv")["Event Type"].value_counts()
    web = pd.read_csv(folder / "web_sessions.csv")
    engagements = pd.read_csv(folder / "engagements.csv")["Type"].value_counts()
    assert emails.to_dict() == kinds[["email_open", "email_click", "unsubscribe"]].to_dict()
    assert len(web) == kinds["page_view"] + kinds["pricing_view"]
    assert web["Pricing Pages"].sum() == kinds["pricing_view"]
    assert engagements.sum() + emails.sum() + len(web) == len(crm.activities)
    leads = pd.read_csv(folder / "leads.csv")
    assert leads["Lead ID"].tolist() == pd.read_csv(folder / "truth.csv")["lead_id"].tolist()


def test_init_config_proposes_the_joins_of_a_relational_export(relational, tmp_path):
    from features.config import load_config
    from pipelines.onboarding import init_config

    _, folder = relational
    files = ["contacts", "accounts", "email_events", "web_sessions", "engagements"]
    out = tmp_path / "rel.toml"
    init_config(folder / "leads.csv", None, out, related=[folder / f"{f}.csv" for f in files])
    config = load_config(out)
    joins = [(t.name, t.via, t.key, t.id) for t in config.lookups]
    assert joins == [
        ("contacts", "leads", "Contact ID", "Contact ID"),
        ("accounts", "contacts", "Account ID", "Account ID"),
    ]
    events = {e.name: (e.key, e.matches, e.occurred_at, e.activity_type, e.values) for e in config.events}
    assert events == {
        "email_events": ("Contact ID", "contacts", "Event Time", "Event Type", []),
        "web_sessions": ("Lead ID", "lead_id", "Session Start", None, ["Pages Viewed", "Pricing Pages"]),
        "engagements": ("Lead ID", "lead_id", "Date", "Type", []),
    }
    roles = {a.source: a.role for a in config.attributes}
    assert roles["accounts.Account Stage"] == "exclude"  # written after the outcome: the audit caught it
    assert roles["contacts.Email"] == "pii" and roles["Contact ID"] == "exclude"
    assert {"email_click", "web_sessions", "demo_request"} <= set(config.features.activity_types)
    export = load_export(folder / "leads.csv", None, config)
    assert len(export.leads) == 1500 and export.rejects.empty


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("web_sessions_pricing_pages_sum_7d", 2.0, "web sessions pricing pages: 2 in the last 7 days"),
        ("web_sessions_pages_viewed_sum_30d", 0.0, "no web sessions pages viewed in the last 30 days"),
        ("web_sessions_7d", 3.0, "3 web sessions in the last 7 days"),
    ],
)
def test_event_features_read_as_plain_words(feature, value, text):
    from serving.reasons import describe

    assert describe(feature, value) == text


def test_generate_relational_and_init_config_related_from_the_cli(tmp_path):
    import json

    from typer.testing import CliRunner

    from pipelines.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["generate", "--out", str(tmp_path), "--leads", "300", "--style", "relational", "--json"])
    assert r.exit_code == 0, r.output
    files = json.loads(r.output)["files"]
    stems = ["accounts", "contacts", "email_events", "engagements", "leads", "truth", "web_sessions"]
    assert sorted(files) == [f"{s}.csv" for s in stems]
    bad = runner.invoke(app, ["generate", "--out", str(tmp_path / "x"), "--style", "salesforce"])
    assert bad.exit_code == 2 and "is not one of" in bad.output
    missing = runner.invoke(
        app,
        [
            "init-config",
            "--leads",
            files["leads.csv"],
            "--related",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "c.toml"),
        ],
    )
    assert missing.exit_code == 2 and "file not found (--related)" in missing.output
    assert not (tmp_path / "c.toml").exists()


def test_an_activities_file_and_event_tables_are_counted_together(tmp_path):
    import copy

    data = copy.deepcopy(BASE)
    data["activities"] = {"lead_id": "Lead", "occurred_at": "At", "activity_type": "Type"}
    config = parse_config(data)
    leads = write_export(tmp_path)
    (tmp_path / "acts.csv").write_text("Lead,At,Type\nL1,2026-03-10 11:00:00,open\nL1,2026-03-10 13:00:00,open\n")
    export = load_export(leads, tmp_path / "acts.csv", config)
    f = build_features(export.leads, export.activities, config=config)
    # one open from the activities file (the other is after the cutoff) and one from email_events
    assert f.loc["L1", ["open_7d", "web_sessions_7d", "web_sessions_pages_viewed_sum_7d"]].tolist() == [2, 1, 3]
    assert export.rows_in["activities"] == 2


def test_each_related_table_is_read_with_its_own_date_format_and_decimal_mark(tmp_path):
    import copy

    data = copy.deepcopy(BASE)
    data["timestamp_format"] = "%d/%m/%Y %H:%M:%S"
    data["decimal"], data["thousands"] = ",", "."
    data["lookups"][1].update(decimal=".", thousands=",")
    data["events"][0].update(timestamp_format="ISO8601", decimal=".")
    data["events"][1].update(timestamp_format="%m/%d/%Y")
    config = parse_config(data)
    leads = write_export(
        tmp_path,
        leads_csv=LEADS.replace("2026-03-10 12:00:00", "10/03/2026 12:00:00")
        .replace("2026-03-20 12:00:00", "20/03/2026 12:00:00")
        .replace("2026-03-21 12:00:00", "21/03/2026 12:00:00")
        .replace("2026-03-25 00:00:00", "25/03/2026 00:00:00"),
        accounts_csv=ACCOUNTS.replace(",120,", ',"1,234.5",'),
        web_csv=WEB.replace("L1,2026-03-09 12:00:00,3,1", "L1,2026-03-09 12:00:00,2.5,1"),
        emails_csv="Contact,When,Event\nC1,03/09/2026,open\nC1,02/01/2026,click\nC2,03/20/2026,open\n",
    )
    export = load_export(leads, None, config)
    # only the rows that were bad before: a missing and a duplicate contact, 'many', an unknown lead
    assert sorted(export.rejects["table"]) == ["contacts", "contacts", "web_sessions", "web_sessions"], export.rejects
    assert export.leads.set_index("lead_id").loc["L1", "employees"] == 1234.5
    f = build_features(export.leads, export.activities, config=config)
    assert f.loc["L1", ["web_sessions_pages_viewed_sum_7d", "open_7d", "click_30d"]].tolist() == [2.5, 1, 0]


def test_two_event_value_columns_that_fold_alike_keep_their_own_sums(tmp_path, rel_config):
    import copy

    from features.feature_ids import value_ids

    data = copy.deepcopy(BASE)
    data["events"][1] = {"name": "web", "file": "web2.csv", "key": "Lead", "occurred_at": "Start"}
    data["events"][1]["values"] = ["Sessions Pages"]
    data["events"][0]["values"] = ["Pages Viewed"]
    data["events"][0]["name"] = "web_sessions"
    data["events"][0]["values"] = ["Pages"]
    data["features"]["activity_types"] = ["web_sessions", "web"]
    config = parse_config(data)
    ids = value_ids(config)
    assert ids[("web_sessions", "Pages")] == "web_sessions_pages"
    assert ids[("web", "Sessions Pages")].startswith("web_sessions_pages_") and len(set(ids.values())) == 2
    leads = write_export(tmp_path, web_csv="Lead,Start,Pages\nL1,2026-03-09 12:00:00,3\n")
    (tmp_path / "web2.csv").write_text("Lead,Start,Sessions Pages\nL1,2026-03-09 13:00:00,5\n", encoding="utf-8")
    export = load_export(leads, None, config)
    f = build_features(export.leads, export.activities, config=config)
    assert f.loc["L1", ["web_sessions_pages_sum_7d", f"{ids[('web', 'Sessions Pages')]}_sum_7d"]].tolist() == [3, 5]


def test_an_activity_type_named_like_a_value_sum_gets_its_own_id():
    import copy

    data = copy.deepcopy(BASE)
    data["features"]["activity_types"].append("web_sessions_pages_viewed_sum")
    cats, nums = feature_columns(parse_config(data))
    assert len(set(cats + nums)) == len(cats + nums)
    assert nums.count("web_sessions_pages_viewed_sum_7d") == 1


def test_a_related_table_with_an_unknown_encoding_is_refused_in_one_line():
    import copy

    for table in ("lookups", "events"):
        data = copy.deepcopy(BASE)
        data[table][0]["encoding"] = "foo"
        with pytest.raises(ConfigError, match="unknown encoding 'foo'"):
            parse_config(data)


def test_init_config_reads_each_related_table_its_own_way_and_pools_rare_types_once(tmp_path):
    """dd/mm/yyyy leads with ISO events, a lookup and an event table with a decimal comma, an emoji column, and a
    rare type found in both the activities file and an event table."""
    from features.config import load_config
    from pipelines.onboarding import init_config

    n = 120
    rows = ["Lead ID,Account,Source,MQL Date,Converted"]
    rows += [
        f"L{i},A{i % 10},{'ab'[i % 3 // 2]},{1 + i % 28:02d}/{1 + i % 6:02d}/2026 10:00,{'yes' if i % 4 == 0 else 'no'}"
        for i in range(n)
    ]
    (tmp_path / "leads.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    accounts = ["Account ID;Revenue;📝 Tier;Email"]
    accounts += [f"A{i};{i * 1000 + 7},5;{'ab'[i % 2]};a{i}@x{i}.es" for i in range(10)]
    (tmp_path / "accounts.csv").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    web = ["Lead;Start;Pages"] + [f"L{i % n};2026-01-{1 + i % 28:02d}T09:00:00;{i % 7},5" for i in range(300)]
    (tmp_path / "web.csv").write_text("\n".join(web) + "\n", encoding="utf-8")
    calls = ["Lead,Date,Type"] + [f"L{i % n},2026-01-{1 + i % 28:02d}T09:00:00,call" for i in range(200)]
    (tmp_path / "calls.csv").write_text("\n".join(calls + ["L1,2026-01-02T09:00:00,fax"]) + "\n", encoding="utf-8")
    acts = ["Lead,At,Kind"] + [f"L{i % n},{1 + i % 28:02d}/01/2026 09:00,open" for i in range(400)]
    (tmp_path / "acts.csv").write_text("\n".join(acts + ["L2,03/01/2026 09:00,fax"]) + "\n", encoding="utf-8")
    out = tmp_path / "c.toml"
    related = [tmp_path / f"{f}.csv" for f in ("accounts", "web", "calls")]
    summary = init_config(tmp_path / "leads.csv", tmp_path / "acts.csv", out, related=related)
    config = load_config(out)  # valid TOML with the emoji column, and a config that validates
    assert config.features.other_types == ["fax"] and "fax" not in config.features.activity_types
    assert {"open", "call", "web"} <= set(config.features.activity_types)
    web_table = next(e for e in config.events if e.name == "web")
    assert (web_table.timestamp_format, web_table.decimal) == ("ISO8601", ",")
    assert config.lookups[0].decimal == ","
    assert any(a.source == "📝 Tier" for a in config.lookups[0].attributes)
    export = load_export(tmp_path / "leads.csv", tmp_path / "acts.csv", config)
    assert export.rejects.empty, export.rejects.head()
    assert len(export.activities) == 300 + 201 + 401
    revenue = next(a.name for a in config.attributes if a.source == "accounts.Revenue")
    assert export.leads.set_index("lead_id").loc["L3", revenue] == 3007.5
    assert summary["pii"] == ["accounts.Email"] and summary["roles"]["pii"] == 1


def test_the_feature_cache_code_fingerprint_covers_every_features_module_it_imports():
    import re

    from pipelines.feature_cache import CODE_FILES, FEATURES_DIR

    imported = set()
    for name in CODE_FILES:
        text = (FEATURES_DIR / name).read_text(encoding="utf-8")
        imported |= {f"{m}.py" for m in re.findall(r"from features\.(\w+) import", text)}
        imported |= {f"{m}.py" for m in re.findall(r"from features import (\w+)", text)}
    assert imported <= set(CODE_FILES), sorted(imported - set(CODE_FILES))


def test_value_sums_and_lookup_columns_read_in_the_exports_words(rel_config):
    from features.names import feature_words
    from models.leaks import time_proxy_lever
    from serving.review import feature_label

    words = feature_words(rel_config)
    sums = "web_sessions_pages_viewed_sum_7d"
    assert feature_label(sums, "en", words) == "Pages Viewed (web sessions): sum over the last 7 days"
    assert feature_label(sums, "es", words) == "Pages Viewed (web sessions): suma de los últimos 7 días"
    assert words.named(sums) == "'Pages Viewed (web sessions), sum over the last 7 days'"
    assert feature_label("industry", "en", words) == "Industry (accounts)"
    levers = {f: time_proxy_lever(f, rel_config) for f in ("industry", sums, "open_30d")}
    assert levers == {
        "industry": "consider leaving it out (role = 'exclude' on column 'accounts.Industry')",
        sums: "to leave it out, remove 'Pages Viewed' from the values of event table 'web_sessions'",
        "open_30d": "to pool it with the rare types, move 'open' to features.other_types",
    }


def test_related_names_fold_accents_like_the_leads_columns():
    from features.relations import _fold

    assert [_fold("Categoría"), _fold("Contact ID"), _fold("2024 Pedidos")] == [
        "categoria",
        "contact_id",
        "c_2024_pedidos",
    ]


def test_a_related_table_with_the_same_decimal_and_thousands_mark_is_refused():
    import copy

    data = copy.deepcopy(BASE)
    data["lookups"][1].update(decimal=",", thousands=",")
    with pytest.raises(ConfigError, match="'accounts': thousands and decimal are both ','"):
        parse_config(data)
