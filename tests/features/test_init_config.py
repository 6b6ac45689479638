"""init-config: guesses from an export, PII flagged, suspects excluded with evidence, a config that loads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import sniff
from features.config import load_config, parse_config
from features.contract import canonical_leads, read_table
from features.init_config import propose, sniff_delimiter


def export(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    won = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "Lead ID": [f"X{i:05d}" for i in range(n)],
            "Email": [f"p{i}@acme{i % 7}.es" for i in range(n)],
            "Full Name": [f"Persona {i}" for i in range(n)],
            "Do Not Email": rng.choice(["Yes", "No"], n),
            "Industry": rng.choice(["Retail", "Software", "Select"], n),
            "Visits": rng.poisson(3 + 2 * won).astype(str),
            "Job Title": [f"Analista {i}" for i in range(n)],
            "Notes After Call": np.where(won, "Closed won", "Closed lost"),  # written after the outcome
            "Converted": np.where(won, "1", "0"),
        },
        dtype="str",
    )


def test_roles_are_guessed_from_names_and_values():
    p = propose(export(), name="demo")
    roles = {a["source"]: a["role"] for a in p.config["leads"]["attributes"]}
    assert p.config["leads"]["lead_id"] == "Lead ID"
    assert p.config["outcome"] == {"kind": "flag", "column": "Converted", "positive": ["1"]}
    assert roles["Email"] == "pii" and roles["Full Name"] == "pii"
    assert roles["Do Not Email"] == "categorical"  # a yes/no consent flag, not an address
    assert roles["Industry"] == "categorical" and roles["Visits"] == "numeric"
    assert roles["Job Title"] == "text" and p.config["features"]["title_attribute"] == "job_title"
    assert p.config["time"] == "none"


def test_init_config_writes_a_config_that_loads_with_the_suspect_excluded(tmp_path):
    from pipelines.onboarding import init_config

    src = tmp_path / "crm.csv"
    export().to_csv(src, index=False, sep=";")
    out = tmp_path / "crm.toml"
    summary = init_config(src, None, out)
    config = load_config(out)
    roles = {a.source: a.role for a in config.leads.attributes}
    assert config.delimiter == ";" and roles["Notes After Call"] == "exclude"
    assert [s["column"] for s in summary["suspects"]] == ["Notes After Call"]
    audit = {a.column: a for a in config.field_audit}
    assert not audit["Notes After Call"].known_at_mql and "AUC alone 1.00" in audit["Notes After Call"].evidence
    assert audit["Industry"].known_at_mql and not audit["Industry"].confirmed


def test_delimiter_sniffing():
    assert sniff_delimiter('"a";"b";"c"\n') == ";" and sniff_delimiter("a,b\n") == "," and sniff_delimiter("x\n") == ","


# ---------------------------------------------------------------- reading values and files


def _config(**extra) -> dict:
    base = {
        "name": "t",
        "horizon_days": 30,
        "leads": {
            "lead_id": "id",
            "mql_at": "mql",
            "sql_at": "sql",
            "attributes": [{"source": "rev", "name": "rev", "role": "numeric"}],
        },
        "persona": {"description": "x", "conditions": [{"feature": "rev", "min": 1}]},
    }
    return {**base, **extra}


def test_decimal_comma_and_thousands_read_as_numbers():
    frame = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "mql": ["2025-01-02"] * 4, "sql": [""] * 4, "rev": ["126,0", "1.234,5", "", "7"]}
    )
    leads, rejects = canonical_leads(frame, parse_config(_config(decimal=",", thousands=".")))
    assert leads["rev"].tolist()[:2] == [126.0, 1234.5] and np.isnan(leads["rev"].iloc[2]) and leads["rev"].iloc[3] == 7
    assert rejects.empty
    # with the defaults the same values are not numbers: every one rejected with its value
    _, rejects = canonical_leads(frame, parse_config(_config()))
    assert rejects["reason"].tolist() == ["rev: not a finite number ('126,0')", "rev: not a finite number ('1.234,5')"]


def test_a_list_of_timestamp_formats_reads_date_times_and_dates():
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "mql": ["02/11/2025 11:45", "13/01/2025", "2025-01-13"], "sql": ["", "", ""]}
    )
    frame["rev"] = "1"
    leads, rejects = canonical_leads(frame, parse_config(_config(timestamp_format=["%d/%m/%Y %H:%M", "%d/%m/%Y"])))
    assert leads["mql_at"].tolist() == [pd.Timestamp("2025-11-02 11:45"), pd.Timestamp("2025-01-13")]
    assert rejects["reason"].tolist() == ["mql_at: not a timestamp ('2025-01-13', format %d/%m/%Y %H:%M or %d/%m/%Y)"]


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["03/04/2025", "13/04/2025"], "%d/%m/%Y"),  # 13 cannot be a month: day first
        (["04/03/2025 10:00", "04/13/2025 09:30"], "%m/%d/%Y %H:%M"),  # 13 second: month first
        (["01.02.2025 10:00:05", "28.02.2025 23:59:59"], "%d.%m.%Y %H:%M:%S"),
        (["2025-01-02T10:00:00Z", "2025-02-03T11:00:00+01:00"], "ISO8601"),
        (["2025-01-02", "2025-02-03"], "ISO8601"),
    ],
)
def test_date_formats_are_decided_from_the_values(values, fmt):
    assert sniff.guess_date(pd.Series(values)).format == fmt


def test_ambiguous_dates_follow_the_default_and_say_so():
    guess = sniff.guess_date(pd.Series(["01/02/2025", "03/04/2025"]), day_first_default=False)
    assert guess.format == "%m/%d/%Y" and "CHECK" in guess.why
    assert sniff.guess_date(pd.Series(["500-999", "51-200"])) is None


def test_encodings_utf8_with_bom_then_cp1252_then_latin1():
    assert sniff.sniff_encoding("Facturación (M€)".encode())[0] == "utf-8"
    assert sniff.sniff_encoding(b"\xef\xbb\xbfa,b")[0] == "utf-8"
    assert sniff.sniff_encoding("Facturación (M€)".encode("cp1252"))[0] == "cp1252"  # € is byte 0x80
    assert sniff.sniff_encoding(b"caf\xe9 \x81")[0] == "latin-1"  # 0x81 is no Windows-1252 character
    assert sniff.sniff_encoding("a\tb\n".encode("utf-16"))[0] == "utf-16"


def test_a_utf16_tab_separated_file_is_sniffed(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("Código\tValor\n1\t2,5\n".encode("utf-16"))
    fmt = sniff.sniff_file(path)
    assert (fmt.encoding, fmt.delimiter) == ("utf-16", "\t")
    assert read_table(path, encoding=fmt.encoding, delimiter=fmt.delimiter).frame.columns.tolist() == [
        "Código",
        "Valor",
    ]


def test_delimiter_is_the_one_every_line_agrees_on():
    text = 'ID;Fecha, hora;Tipo\n1;02/01/2025, 10:00;a\n2;"x;y";b\n'
    assert sniff.sniff_delimiter(text) == ";"
    assert sniff.sniff_delimiter('a,"b;c;d",e\n1,"2;3;4",5\n') == ","  # the ';' are inside quotes
    assert sniff.sniff_delimiter("a\tb\n1\t2\n") == "\t"


def test_cp1252_euro_header_round_trips(tmp_path):
    from pipelines.onboarding import init_config

    n = 300
    frame = pd.DataFrame(
        {
            "ID Prospecto": [f"P{i}" for i in range(n)],
            "Fecha MQL": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2025 10:{i % 60:02d}" for i in range(n)],
            "Facturación (M€)": [f"{i // 10},{i % 10}" for i in range(n)],
            "Sector": ["Software", "Retail", "Sanidad"] * (n // 3),
            "Convertido": ["sí", "no"] * (n // 2),
        }
    )
    src = tmp_path / "leads.csv"
    frame.to_csv(src, sep=";", index=False, encoding="cp1252")
    init_config(src, None, tmp_path / "c.toml")
    config = load_config(tmp_path / "c.toml")
    assert (config.encoding, config.delimiter, config.decimal, config.thousands) == ("cp1252", ";", ",", None)
    assert config.timestamp_format == "%d/%m/%Y %H:%M"
    attr = next(a for a in config.leads.attributes if a.source == "Facturación (M€)")
    assert attr.role == "numeric"
    leads, rejects = canonical_leads(read_table(src, encoding="cp1252", delimiter=";"), config)
    assert rejects.empty and leads[attr.name].iloc[126] == 12.6


@pytest.mark.parametrize(
    ("values", "role"),
    [
        (["500-999", "51-200", "1-10", "1000+", "<10"], "categorical"),
        (["$1M-$10M", "$10M-$50M", "<$1M", "$50M+"], "categorical"),
        (["201-1.000", "Más de 1.000", "1-10"], "categorical"),
        (["+34 600 123 456", "+52 (55) 1234 5678", "612-345-678"], "pii"),
    ],
)
def test_bands_are_categories_and_phones_pii(values, role):
    n = 400
    frame = pd.DataFrame({"Lead ID": [f"X{i}" for i in range(n)], "Size": [values[i % len(values)] for i in range(n)]})
    if role == "pii":
        frame["Size"] = [f"{values[i % 3]}{i:03d}" for i in range(n)]
    p = propose(frame, name="t")
    assert {a["source"]: a["role"] for a in p.config["leads"]["attributes"]}["Size"] == role


def _funnel(n: int = 1000, seed: int = 1) -> pd.DataFrame:
    """A marketing-funnel export: the only dated column carries no cue; a won date; many landing pages."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01")
    first = start + pd.to_timedelta(np.sort(rng.integers(0, 300 * 86400, n)), unit="s")
    won = rng.random(n) < 0.3
    days = rng.integers(1, 40, n)
    return pd.DataFrame(
        {
            "mql_id": [f"m{i:05d}" for i in range(n)],
            "first_contact_date": first.strftime("%Y-%m-%d"),
            "landing_page_id": [f"page{v}" for v in rng.integers(0, 400, n)],
            "origin": rng.choice(["organic_search", "paid_search", "social"], n),
            "won_date": np.where(won, (first + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d %H:%M:%S"), ""),
            "Cargo": rng.choice(["Director Comercial", "Analista", "CEO"], n),
        }
    )


def test_funnel_export_finds_mql_outcome_horizon_and_keeps_many_valued_categories():
    p = propose(_funnel(), name="funnel")
    c = p.config
    roles = {a["source"]: a["role"] for a in c["leads"]["attributes"]}
    assert c["leads"]["mql_at"] == "first_contact_date" and c["leads"]["sql_at"] == "won_date"
    assert c["outcome"] == {"kind": "sql_date"} and c["time"] == "timestamps"
    assert c["horizon_days"] == 45 and "within 3" in p.notes["horizon_days"]  # 95% within 37-38 days
    assert c["timestamp_format"] == "ISO8601"
    assert roles["landing_page_id"] == "categorical" and roles["origin"] == "categorical"
    assert roles["Cargo"] == "text" and c["features"]["title_attribute"] == "cargo"  # three titles: still text
    assert parse_config(c).outcome.kind == "sql_date"  # the proposal validates as it is


def test_status_column_becomes_the_outcome_when_there_is_no_date():
    n = 300
    frame = pd.DataFrame(
        {
            "Código": [f"c{i}" for i in range(n)],
            "Fecha de alta": [f"{1 + i % 28:02d}/03/2025" for i in range(n)],
            "Etapa": ["Ganado", "Perdido", "En curso"] * (n // 3),
            "Fuente": ["web", "feria"] * (n // 2),
        }
    )
    p = propose(frame, name="es")
    assert p.config["outcome"] == {"kind": "status", "column": "Etapa", "positive": ["Ganado"]}
    assert "Etapa" not in {a["source"] for a in p.config["leads"]["attributes"]}
    assert p.config["leads"]["mql_at"] == "Fecha de alta" and p.config["timestamp_format"] == "%d/%m/%Y"
    assert p.config["missing_values"][-1] == "En curso"  # still being worked: open, not a negative


def test_a_status_outcome_is_audited_and_open_leads_stay_open(tmp_path):
    from pipelines.onboarding import init_config

    rng = np.random.default_rng(0)
    n = 900
    won = rng.random(n) < 0.3
    frame = pd.DataFrame(
        {
            "Código": [f"c{i}" for i in range(n)],
            "Fecha de alta": pd.date_range("2025-01-01", periods=n, freq="7h").strftime("%d/%m/%Y %H:%M"),
            "Etapa": np.where(np.arange(n) > n - 100, "En curso", np.where(won, "Ganado", "Perdido")),
            "Motivo de pérdida": np.where(won, "-", rng.choice(["Precio", "Competencia"], n)),  # a leak
            "Fuente": rng.choice(["web", "feria", "referido"], n),
        }
    )
    src = tmp_path / "crm.csv"
    frame.to_csv(src, index=False, sep=";", encoding="cp1252")
    summary = init_config(src, None, tmp_path / "c.toml")
    config = load_config(tmp_path / "c.toml")
    assert summary["audited"] and config.outcome.kind == "status"
    assert [s["column"] for s in summary["suspects"]] == ["Motivo de pérdida"]
    leads, _ = canonical_leads(read_table(src, encoding="cp1252", delimiter=";"), config)
    assert leads["outcome"].isna().sum() == 99 and leads["outcome"].sum() == won[: n - 99].sum()


def test_every_activity_type_is_kept_rare_ones_pooled():
    n = 200
    frame = pd.DataFrame({"Lead ID": [f"L{i}" for i in range(n)], "MQL Date": ["2025-03-01 10:00:00"] * n})
    kinds = ["Page View: Pricing"] * 9000 + ["Email: Opened"] * 60 + ["Rare: One"] * 3
    acts = pd.DataFrame(
        {
            "Activity Date": ["2025-02-01 10:00:00"] * len(kinds),
            "Who": [f"L{i % n}" for i in range(len(kinds))],
            "What": kinds,
        }
    )
    p = propose(frame, name="t", activities=acts, activities_format=("\t", "utf-8"))
    assert p.config["activities"] == {
        "lead_id": "Who",
        "occurred_at": "Activity Date",
        "activity_type": "What",
        "delimiter": "\t",
    }
    assert p.config["features"]["activity_types"] == ["Page View: Pricing", "Email: Opened"]
    assert p.config["features"]["other_types"] == ["Rare: One"]


@pytest.mark.parametrize(
    ("values", "role"),
    [
        (["CEO", "Analista", "Director de Marketing"], "text"),  # few values, still titles: seniority reads them
        (["admin.", "blue-collar", "retired", "student"], "categorical"),  # an occupation category
    ],
)
def test_a_job_column_is_text_unless_its_values_are_category_codes(values, role):
    frame = pd.DataFrame(
        {"Lead ID": [f"X{i}" for i in range(200)], "job": [values[i % len(values)] for i in range(200)]}
    )
    p = propose(frame, name="t")
    assert p.config["leads"]["attributes"][0]["role"] == role
    assert ("title_attribute" in p.config.get("features", {})) == (role == "text")


def test_activities_file_with_its_own_separator_and_encoding(tmp_path):
    from features.contract import load_export

    pd.DataFrame({"id": ["a", "b"], "mql": ["2025-03-01 10:00:00"] * 2, "sql": ["", ""], "rev": ["1", "2"]}).to_csv(
        tmp_path / "leads.csv", index=False
    )
    acts = pd.DataFrame({"Quién": ["a", "b"], "Cuándo": ["2025-02-01 10:00:00"] * 2, "Qué": ["Página €", "Correo"]})
    acts.to_csv(tmp_path / "acts.csv", index=False, sep=";", encoding="cp1252")
    mapping = {"lead_id": "Quién", "occurred_at": "Cuándo", "activity_type": "Qué"}
    config = parse_config(_config(activities={**mapping, "delimiter": ";", "encoding": "cp1252"}))
    export = load_export(tmp_path / "leads.csv", tmp_path / "acts.csv", config)
    assert export.rejects.empty and export.activities["activity_type"].tolist() == ["Página €", "Correo"]


def test_a_file_sorted_by_date_is_read_day_first_from_its_later_rows():
    days = [f"{1 + i // 400:02d}/01/2025 10:00" for i in range(6000)]  # the first 4,800 rows: days 1-12
    frame = pd.DataFrame({"Lead ID": [f"L{i}" for i in range(6000)], "Fecha MQL": days})
    p = propose(frame, name="t")  # a ',' file: month-first unless a value says otherwise
    assert p.config["timestamp_format"] == "%d/%m/%Y %H:%M"
