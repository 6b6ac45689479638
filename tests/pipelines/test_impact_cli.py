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


def test_an_as_of_after_the_exports_end_is_refused_naming_its_last_moment(prefect_harness, tmp_path, export_files):
    """After its last moment the export cannot know any outcome: every listed lead would count as no SQL."""
    import pandas as pd
    import pytest

    from features.config import load_config
    from features.contract import load_export
    from models.train import default_as_of
    from pipelines.flows import impact_flow
    from pipelines.settings import Settings
    from serving.impact import ImpactError
    from tests.conftest import SYNTHETIC_CONFIG

    leads, acts = export_files
    folder = tmp_path / "ws" / "lists" / "archive" / "w1"
    folder.mkdir(parents=True)
    pd.DataFrame({"lead_id": ["L1"], "score": [50.0], "tier": ["B"]}).to_parquet(folder / "list.parquet")
    (folder / "list_summary.json").write_text(json.dumps({"as_of": "2026-01-05 06:00:00", "list": {}}))
    export = load_export(leads, acts, load_config(SYNTHETIC_CONFIG))
    end = default_as_of(export.leads, export.activities)
    settings = Settings(workspace=tmp_path / "ws", tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    with pytest.raises(ImpactError, match="--as-of") as err:
        impact_flow(leads, acts, SYNTHETIC_CONFIG, settings, as_of=(end + pd.Timedelta(days=1)).to_pydatetime())
    assert str(end) in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "ws" / "lists" / "latest_impact.json").exists()  # nothing written for a refusal


def test_the_console_says_a_pending_control_group_is_on_not_missing():
    from pipelines.cli.common import console
    from pipelines.cli.impact import print_impact
    from pipelines.results_impact import ImpactResult

    report = {
        "as_of": "2026-03-20 00:00:00", "horizon_days": 30, "minutes_per_lead": 15, "cost_per_hour": 30,
        "lists": 1, "realised_weeks": 0, "pending_weeks": 1, "total": None, "lift": None, "notes": [],
        "weeks": [{"week_of": "2026-03-09 06:00", "status": "pending", "leads": 10, "due": "2026-04-08"}],
        "control": {"since": "2026-03-09", "due": "2026-04-08", "lists": 1, "realised": 0},
    }  # fmt: skip
    with console.capture() as out:
        print_impact(ImpactResult.model_validate(report))
    text = " ".join(out.get().split())
    assert "control group on since 2026-03-09; first measurable on 2026-04-08" in text
    assert "LEADSCORE_CONTROL_SHARE" not in text
