"""`leadscore impact` on the command line: its options documented, a clear error when there is nothing to measure."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_impact_documents_its_options():
    r = runner.invoke(app, ["impact", "--help"], terminal_width=200)
    assert r.exit_code == 0
    for option in ("--leads", "--activities", "--config", "--workspace", "--as-of", "--json"):
        assert option in r.output
    assert "lists/archive" in r.output and "control group" in r.output


def test_an_empty_archive_is_one_line_saying_what_to_do(tmp_path, export_files):
    leads, acts = export_files
    args = ["impact", "--leads", str(leads), "--activities", str(acts), "--workspace", str(tmp_path / "ws")]
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    error = json.loads(r.stdout)
    assert error["kind"] == "ImpactError"
    assert "no archived list to measure" in error["error"] and "leadscore weekly" in error["error"]
    r = runner.invoke(app, args, terminal_width=200)
    assert r.exit_code == 2 and "Error:" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "ws" / "lists").exists()  # nothing written for nothing measured
