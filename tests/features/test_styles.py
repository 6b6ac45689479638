"""`generate --style`: the same history in real export shapes, and init-config reading each of them right."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.build import build_features
from features.config import load_config
from features.contract import load_export
from features.styles import STYLES, es_number
from features.synthetic import generate


@pytest.fixture(scope="module")
def crm():
    return generate(2500, months=12, seed=3)


def write(crm, style: str, folder: Path) -> Path:
    for stem, f in STYLES[style](crm).items():
        f.frame.to_csv(folder / f"{stem}.csv", index=False, sep=f.sep, encoding=f.encoding)
    return folder


def test_leadscore_style_is_the_generator_itself(crm):
    files = STYLES["leadscore"](crm)
    assert files["leads"].frame is crm.leads and files["activities"].frame is crm.activities
    assert (files["leads"].sep, files["leads"].encoding) == (",", "utf-8")


@pytest.mark.parametrize("style", ["hubspot", "excel-es"])
def test_every_style_keeps_the_leads_and_truth(crm, style):
    files = STYLES[style](crm)
    ids = files["leads"].frame.iloc[:, 0]
    assert ids.tolist() == files["truth"].frame["lead_id"].tolist() == crm.leads["Lead ID"].tolist()
    assert files["truth"].frame["p_true"].equals(crm.truth["p_true"])
    assert len(files["activities"].frame) == len(crm.activities)
    assert files["activities"].frame.iloc[:, 2].notna().all()  # every activity type has its styled name


def test_spanish_numbers():
    assert [es_number(v) for v in (126.04, 1234.5, 0.8, float("nan"))] == ["126,0", "1.234,5", "0,8", ""]


EXPECTED = {
    "hubspot": {
        "lead_id": "Record ID",
        "mql_at": "Became a Marketing Qualified Lead Date",
        "sql_at": "Became a Sales Qualified Lead Date",
        "created_at": "Create Date",
        "format": (",", "utf-8", ".", None, "ISO8601"),
        "title": "Job Title",
        "pii": {"First Name", "Last Name", "Email", "Phone Number", "Company Name"},
        "status": "Lifecycle Stage",
        "band": "Company size",
        "numeric": "Annual Revenue",
        "acts": {"lead_id": "Record ID", "occurred_at": "Activity Date", "activity_type": "Activity Type"},
    },
    "excel-es": {
        "lead_id": "ID Prospecto",
        "mql_at": "Fecha MQL",
        "sql_at": "Fecha SQL",
        "created_at": "Fecha de creación",
        "format": (";", "cp1252", ",", ".", ["%d/%m/%Y %H:%M", "%d/%m/%Y"]),
        "title": "Cargo",
        "pii": {"Nombre", "Apellidos", "Correo electrónico", "Teléfono", "Empresa"},
        "status": "Estado",
        "band": "Tamaño de empresa",
        "numeric": "Facturación (M€)",
        "acts": {"lead_id": "ID Prospecto", "occurred_at": "Fecha", "activity_type": "Actividad"},
    },
}


@pytest.mark.parametrize("style", ["hubspot", "excel-es"])
def test_init_config_reads_each_style_right_and_the_config_loads_every_row(crm, style, tmp_path):
    from pipelines.onboarding import init_config

    folder = write(crm, style, tmp_path)
    summary = init_config(folder / "leads.csv", folder / "activities.csv", tmp_path / "c.toml")
    want = EXPECTED[style]
    config = load_config(tmp_path / "c.toml")  # unedited
    m = config.leads
    assert (m.lead_id, m.mql_at, m.sql_at, m.created_at) == (
        want["lead_id"],
        want["mql_at"],
        want["sql_at"],
        want["created_at"],
    )
    assert config.outcome.kind == "sql_date" and config.horizon_days == 30 and config.time == "timestamps"
    assert (config.delimiter, config.encoding, config.decimal, config.thousands, config.timestamp_format) == want[
        "format"
    ]
    roles = {a.source: a.role for a in m.attributes}
    names = {a.source: a.name for a in m.attributes}
    assert {s for s, r in roles.items() if r == "pii"} == want["pii"]
    assert roles[want["title"]] == "text" and config.features.title_attribute == names[want["title"]]
    assert roles[want["status"]] == "exclude" and want["status"] in [s["column"] for s in summary["suspects"]]
    assert roles[want["band"]] == "categorical" and roles[want["numeric"]] == "numeric"
    assert config.activities.model_dump(exclude_none=True) == {**want["acts"]}
    styled_types = set(STYLES[style](crm)["activities"].frame.iloc[:, 2])
    assert set(config.features.activity_types) | set(config.features.other_types) == styled_types
    assert summary["audited"]

    export = load_export(folder / "leads.csv", folder / "activities.csv", config)
    assert export.rejects.empty and len(export.leads) == len(crm.leads)
    assert len(export.activities) == len(crm.activities)
    numeric = export.leads[names[want["numeric"]]]
    assert numeric.notna().mean() > 0.5 and numeric.min() > 0
    # the styled timestamps are the same moments (Excel keeps minutes only)
    mql = pd.to_datetime(crm.leads["MQL Date"]).dt.floor("min")
    assert (export.leads["mql_at"].dt.floor("min").to_numpy() == mql.to_numpy()).all()
    feats = build_features(export.leads, export.activities, config=config)
    assert len(feats) == len(crm.leads) and feats["seniority"].nunique() > 3


def test_generate_style_option_writes_the_shape_and_refuses_an_unknown_one(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["generate", "--out", str(tmp_path), "--leads", "300", "--style", "excel-es", "--json"])
    assert r.exit_code == 0, r.output
    head = (tmp_path / "leads.csv").read_bytes().split(b"\n")[0]
    assert head.startswith(b"ID Prospecto;Fecha de creaci\xf3n;") and b"Facturaci\xf3n (M\x80)" in head  # cp1252
    assert (tmp_path / "truth.csv").read_text().startswith("lead_id,p_true,converted")
    r = runner.invoke(app, ["generate", "--out", str(tmp_path / "x"), "--leads", "300", "--style", "sap"])
    assert r.exit_code == 2 and "--style 'sap' is not one of leadscore, hubspot, excel-es" in r.output
    assert not (tmp_path / "x").exists()
