"""Running it every week: retries on transient errors only, the feature cache, `leadscore serve`, prefect.yaml."""

from __future__ import annotations

import errno
import inspect
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE
from typer.testing import CliRunner

from features.config import ConfigError, load_config
from features.contract import ContractError
from models.leaks import LeakSuspected
from models.scorer import FeatureMismatchError
from models.tracking import CutoffError, ModelLoadError
from models.train import InsufficientData
from pipelines import feature_cache
from pipelines.retries import is_transient, retry_options
from pipelines.schedule import next_run, serve
from pipelines.settings import RetrySettings, ScheduleSettings
from tests.conftest import ROOT, SYNTHETIC_CONFIG

# ---------------------------------------------------------------------------------------------------
# retries


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.EIO, "Input/output error", "/mnt/crm/leads.csv"), True),
        (TimeoutError("timed out"), True),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), True),
        (MlflowException("database is locked", error_code=TEMPORARILY_UNAVAILABLE), True),
        (RestException({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}), True),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "leads.csv"), False),
        (PermissionError(errno.EACCES, "Permission denied", "workspace/lists"), False),
        (OSError(errno.ENOSPC, "No space left on device"), False),
        (RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no model"}), False),
        (MlflowException("Invalid value for param", error_code=INVALID_PARAMETER_VALUE), False),
        (ContractError("leads.csv: required column(s) ['MQL Date'] not found"), False),
        (ConfigError("mycrm.toml: invalid dataset config"), False),
        (InsufficientData("not enough history to train"), False),
        (LeakSuspected("Lead Status alone reaches AUC 0.99"), False),
        (CutoffError("A must exceed B"), False),
        (FeatureMismatchError("the model needs column x"), False),
        (ModelLoadError("cannot load model 'models:/x@champion'"), False),
        (KeyError("a bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_transient_errors_are_retried(exc, transient):
    assert is_transient(exc) is transient


def test_an_unreachable_mlflow_server_counts_as_transient(monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow's own retries would take minutes
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(MlflowException) as caught:
        MlflowClient("http://127.0.0.1:9").get_experiment_by_name("leadscore-synthetic")  # port 9: nobody there
    assert is_transient(caught.value)


def test_retry_options_back_off_exponentially_from_the_settings():
    opts = retry_options(RetrySettings(retries=3, delay_seconds=2, jitter=0.2))
    assert opts["retries"] == 3 and opts["retry_delay_seconds"] == [2, 4, 8] and opts["retry_jitter_factor"] == 0.2
    # Prefect only calls a retry condition that is a plain function; anything else would never retry
    assert inspect.isfunction(opts["retry_condition_fn"])
    assert retry_options(RetrySettings(retries=0))["retries"] == 0


def test_a_prefect_task_retries_a_transient_error_and_fails_fast_on_a_data_error(prefect_harness):
    from prefect import flow, task

    attempts: dict[str, int] = {"io": 0, "data": 0}

    @task(persist_result=False)
    def read_share() -> str:
        attempts["io"] += 1
        if attempts["io"] == 1:
            raise OSError(errno.EIO, "Input/output error", "/mnt/crm/leads.csv")
        return "read"

    @task(persist_result=False)
    def read_bad_export() -> str:
        attempts["data"] += 1
        raise ContractError("leads.csv: required column(s) ['MQL Date'] not found")

    policy = retry_options(RetrySettings(retries=2, delay_seconds=0.1))

    @flow
    def week() -> str:
        return read_share.with_options(**policy)()

    @flow
    def bad_week() -> str:
        return read_bad_export.with_options(**policy)()

    assert week() == "read" and attempts["io"] == 2
    with pytest.raises(ContractError, match=r"^leads.csv: required column\(s\) \['MQL Date'\] not found$"):
        bad_week()
    assert attempts["data"] == 1


# ---------------------------------------------------------------------------------------------------
# the feature cache


@pytest.fixture
def export_copy(export_files, tmp_path):
    leads, acts = tmp_path / "leads.csv", tmp_path / "activities.csv"
    leads.write_bytes(export_files[0].read_bytes())
    acts.write_bytes(export_files[1].read_bytes())
    return leads, acts


def test_the_cache_key_follows_the_files_the_config_and_nothing_else(export_copy, config, tmp_path):
    leads, acts = export_copy
    key = feature_cache.cache_key(leads, acts, config)
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(leads.read_bytes())
    assert feature_cache.cache_key(renamed, acts, config) == key  # the content counts, not the name
    assert feature_cache.cache_key(leads, None, config) != key
    changed_config = config.model_copy(update={"horizon_days": config.horizon_days + 1})
    assert feature_cache.cache_key(leads, acts, changed_config) != key
    with acts.open("a") as fh:  # one more activity row
        fh.write(acts.read_text().splitlines()[-1] + "\n")
    assert feature_cache.cache_key(leads, acts, config) != key


def test_a_cached_table_reads_back_exactly_and_the_folder_stays_bounded(canonical, config, tmp_path):
    from features.build import build_features

    leads, acts = canonical
    table = build_features(leads, acts, config=config)
    folder = tmp_path / "cache" / "features"
    assert feature_cache.read(folder, "k1") is None
    feature_cache.write(folder, "k1", table, keep=2)
    pd.testing.assert_frame_equal(feature_cache.read(folder, "k1"), table)  # dtypes and lead_id index too
    os.utime(folder / "k1.parquet", (1, 1))  # the oldest used
    feature_cache.write(folder, "k2", table.head(5), keep=2)
    feature_cache.write(folder, "k3", table.head(5), keep=2)
    assert sorted(p.name for p in folder.iterdir()) == ["k2.parquet", "k3.parquet"]
    (folder / "k3.parquet").write_bytes(b"not parquet")  # a damaged file is rebuilt, not trusted
    assert feature_cache.read(folder, "k3") is None


# ---------------------------------------------------------------------------------------------------
# the schedule


def test_the_weekly_cron_is_monday_six_local_time_across_daylight_saving():
    s = ScheduleSettings()
    # Friday 27 March 2026; Spain moves to summer time on Sunday 29 March
    due = next_run(s.cron, s.timezone, datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert due.isoformat() == "2026-03-30T06:00:00+02:00"
    winter = next_run(s.cron, s.timezone, datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert winter.isoformat() == "2026-11-30T06:00:00+01:00"
    assert next_run(s.cron, s.timezone, winter) == winter  # at the due moment, it is due


def test_prefect_yaml_deploys_the_same_schedule_and_flow_as_serve():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (deployment,) = spec["deployments"]
    (schedule,) = deployment["schedules"]
    defaults = ScheduleSettings()
    assert (schedule["cron"], schedule["timezone"]) == (defaults.cron, defaults.timezone)
    path, _, name = deployment["entrypoint"].partition(":")
    assert (ROOT / path).is_file() and name == "scheduled_weekly"


def test_bad_schedule_settings_are_refused_in_one_line(monkeypatch):
    from pipelines.cli import app

    monkeypatch.setenv("LEADSCORE_SCHEDULE__TIMEZONE", "Europe/Madird")
    r = CliRunner().invoke(app, ["serve", "--leads", "x.csv", "--json"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "LEADSCORE_SCHEDULE__TIMEZONE: Value error, unknown time zone 'Europe/Madird'" in " ".join(r.output.split())
    monkeypatch.delenv("LEADSCORE_SCHEDULE__TIMEZONE")
    r = CliRunner().invoke(app, ["serve", "--leads", "x.csv", "--cron", "0 6 * *", "--json"])
    assert r.exit_code == 2 and "--cron: invalid cron '0 6 * *'" in json.loads(r.stdout)["error"]


def test_serve_reports_a_failed_run_and_keeps_the_schedule():
    outcomes = iter([ContractError("leads.csv: file not found"), {"status": "ok"}])
    events: list[dict] = []

    def run() -> dict:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    failures = serve(run, cron="* * * * * *", timezone="UTC", max_runs=2, report=events.append)  # every second
    runs = [e for e in events if e["event"] == "run"]
    assert failures == 1 and [r["status"] for r in runs] == ["error", "ok"]
    assert runs[0]["error"] == "leads.csv: file not found" and runs[0]["kind"] == "ContractError"
    assert runs[1]["scheduled_for"] > runs[0]["scheduled_for"]  # the next due time, not the same one again


def test_serve_puts_a_drift_alert_on_the_run_event_and_on_the_console(capsys):
    from pipelines.cli import render

    summaries = iter([{"status": "ok", "drift": {"level": "ok"}}, _alert_summary()])
    events: list[dict] = []
    serve(lambda: next(summaries), cron="* * * * * *", timezone="UTC", max_runs=2, report=events.append)
    runs = [e for e in events if e["event"] == "run"]
    assert "drift" not in runs[0] and runs[1]["drift"] == "alert"
    render.print_serve_event(runs[1], "* * * * * *", "UTC")
    assert "DRIFT ALERT" in capsys.readouterr().err.upper()


def _alert_summary() -> dict:
    """A run summary whose drift section comes from the real check: the lead source mix turned over."""
    import numpy as np

    from models.reference import reference_profile
    from serving import drift

    rng = np.random.default_rng(0)
    then = pd.DataFrame({"lead_source": rng.choice(["web", "event"], 2000), "visits": rng.poisson(3, 2000)})
    now = then.assign(lead_source="partner")
    scores = rng.random(2000)
    ref = reference_profile(
        then, scores, categorical=["lead_source"], numeric=["visits"], features_by_gain=["lead_source", "visits"]
    )
    _, section = drift.check({"drift_reference": ref}, now, scores)
    assert section["level"] == "alert"
    return {"status": "ok", "list": {"rows": 2000}, "files": {"csv": "lists/latest.csv"}, "drift": section}


def test_serve_runs_the_weekly_flow_when_its_schedule_is_due(prefect_harness, tmp_path):
    from features.synthetic import generate
    from pipelines.cli import app

    small = generate(150, 12, 3)  # too little history to train: the persona week, a quick whole run
    small.leads.to_csv(tmp_path / "leads.csv", index=False)
    small.activities.to_csv(tmp_path / "acts.csv", index=False)
    ws = tmp_path / "ws"
    due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    cron = f"{due.minute} {due.hour} {due.day} {due.month} * {due.second}"  # sixth field: seconds
    args = ["serve", "--leads", str(tmp_path / "leads.csv"), "--activities", str(tmp_path / "acts.csv")]
    args += ["--workspace", str(ws), "--cron", cron, "--timezone", "UTC", "--max-runs", "1", "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    waiting, ran = (json.loads(line) for line in r.stdout.splitlines())
    assert waiting == {"event": "waiting", "next_run": due.isoformat()}
    assert ran["scheduled_for"] == due.isoformat() and ran["status"] == "persona_rule"
    assert datetime.fromisoformat(ran["started_at"]) >= due  # not before it was due
    listed = pd.read_csv(ws / "lists" / "latest.csv")
    assert set(listed["lead_id"]) == set(small.open_ids()) and ran["summary"]["list"]["rows"] == len(listed)


# ---------------------------------------------------------------------------------------------------
# the deployment


def test_prefect_deploy_registers_the_weekly_deployment_on_a_server(prefect_api_url, tmp_path):
    """`prefect deploy`, as the README runs it, against the test session's Prefect server on loopback."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.workers.process import ProcessWorker

    api = prefect_api_url
    assert api.startswith("http://127.0.0.1:")
    with get_client(sync_client=True) as client:
        template = ProcessWorker.get_default_base_job_template()
        client.create_work_pool(WorkPoolCreate(name="leadscore", type="process", base_job_template=template))
    env = os.environ | {
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PYTHONPATH": str(ROOT),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--name", "weekly"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Deployment 'weekly-scheduled/weekly' successfully created" in " ".join(done.stdout.split())
    assert time.perf_counter() - t0 < 60
    with get_client(sync_client=True) as client:
        d = client.read_deployment_by_name("weekly-scheduled/weekly")
        assert d.entrypoint == "pipelines/schedule.py:scheduled_weekly" and d.work_pool_name == "leadscore"
        assert d.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
        assert set(d.parameter_openapi_schema["properties"]) == {
            "leads",
            "activities",
            "config",
            "workspace",
            "capacity",
        }
        (schedule,) = d.schedules
        assert schedule.active and (schedule.schedule.cron, schedule.schedule.timezone) == (
            "0 6 * * 1",
            "Europe/Madrid",
        )
        # the server's own scheduling of the deployment lands where serve's computation does
        start = datetime(2026, 3, 27, 12, tzinfo=UTC)
        httpx.post(f"{api}/deployments/{d.id}/schedule", json={"start_time": start.isoformat(), "max_runs": 2})
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[d.id])))
    server_times = sorted(r.expected_start_time for r in runs)[:2]
    ours = next_run("0 6 * * 1", "Europe/Madrid", start)
    assert server_times[0] == ours and server_times[1] == next_run("0 6 * * 1", "Europe/Madrid", ours + timedelta(1))


def test_the_scheduled_flow_takes_its_files_from_the_settings(tmp_path, monkeypatch):
    from pipelines.schedule import scheduled_inputs
    from pipelines.settings import Settings

    with pytest.raises(ContractError, match="LEADSCORE_SCHEDULE__LEADS"):
        scheduled_inputs(Settings(), None, None, None)
    monkeypatch.setenv("LEADSCORE_SCHEDULE__LEADS", str(tmp_path / "leads.csv"))
    monkeypatch.setenv("LEADSCORE_SCHEDULE__CONFIG", str(SYNTHETIC_CONFIG))
    inputs = scheduled_inputs(Settings(), None, None, None)
    assert inputs.leads == tmp_path / "leads.csv" and inputs.activities is None
    assert load_config(inputs.config).name == "synthetic"
    given = scheduled_inputs(Settings(), "other.csv", "acts.csv", None)  # parameters win over settings
    assert (given.leads, given.activities) == (Path("other.csv"), Path("acts.csv"))


def test_an_unreachable_champion_is_an_outage_not_a_model_that_cannot_score(monkeypatch):
    """The gate replaces a champion that cannot score; an MLflow outage must not look like one."""
    from models.tracking import ModelLoadError, Tracking, load_scorer

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    tracking = Tracking("http://127.0.0.1:9", "leadscore-synthetic", "lead-scoring", None)
    with pytest.raises(ModelLoadError, match="cannot reach model") as caught:
        load_scorer(tracking, "models:/lead-scoring@champion")
    assert caught.value.transient


def test_a_tracking_password_never_reaches_prefects_stored_parameters(prefect_harness, tmp_path):
    """Settings is a flow parameter; Prefect keeps parameters in its database and shows them in its UI."""
    from prefect import flow, get_client
    from prefect.context import get_run_context

    from pipelines.settings import Settings

    @flow
    def uses_settings(settings: object) -> tuple[str, str]:  # the flows' annotation is Settings; the value counts
        return settings.resolved_tracking_uri(), str(get_run_context().flow_run.id)

    uri = "http://ana:s3cret@mlflow.example.com:5000"
    seen, run_id = uses_settings(Settings(workspace=tmp_path, tracking_uri=uri))
    assert seen == uri  # the flow itself still has the real URI

    async def stored() -> dict:
        async with get_client() as client:
            return (await client.read_flow_run(run_id)).parameters

    import asyncio

    params = asyncio.run(stored())
    assert "s3cret" not in repr(params)
    assert params["settings"]["tracking_uri"] == "http://ana:***@mlflow.example.com:5000"
