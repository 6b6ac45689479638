"""MLflow-facing fixes: credentials in a tracking URI, registry reads during an outage, masked URIs,
drift logged under the model that scored, MLflow errors as one-line CLI errors.

Real MLflow stores (SQLite in tmp_path) and, for servers, a plain http.server on loopback that answers
like an MLflow server would (404 "does not exist", 500 "the database is down") or a closed port.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from models import tracking as trk
from models.tracking.history import _append_champion_history
from pipelines.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fast_mlflow_http(monkeypatch):
    # no minutes of MLflow back-off against a server that fails on purpose
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("LEADSCORE_TRACKING_URI", raising=False)


def _serve(status: int, body: dict, seen: list | None = None) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            if seen is not None:
                seen.append((self.path, self.headers.get("Authorization")))
            payload = json.dumps(body).encode()
            self.send_response(200 if self.path == "/health" else status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A tracking server whose database is down: /health answers, every API call is a 500."""
    yield from _serve(500, {"error_code": "INTERNAL_ERROR", "message": "database is locked"})


@pytest.fixture
def empty_server() -> Iterator[str]:
    """A tracking server with no registered model: every API call is a 404 RESOURCE_DOES_NOT_EXIST."""
    yield from _serve(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model not found"})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# 1. credentials in the tracking URI


def test_a_tracking_uri_with_credentials_is_probed_with_basic_auth():
    seen: list = []
    server = _serve(200, {}, seen)
    host = next(server)
    try:
        trk.check_reachable(f"http://ana:s3cr%40t@{host}/")  # raised "does not answer" before the fix
    finally:
        server.close()
    token = base64.b64encode(b"ana:s3cr@t").decode()
    assert seen == [("/health", f"Basic {token}")]


def test_a_server_down_with_credentials_is_named_without_its_password():
    with pytest.raises(trk.TrackingUnavailable) as caught:
        trk.check_reachable(f"http://ana:s3cret@127.0.0.1:{_closed_port()}")
    assert "ana:***@127.0.0.1" in str(caught.value) and "s3cret" not in str(caught.value)


def test_mask_secrets_hides_every_password_in_a_message():
    text = "API request to http://ana:s3cret@10.0.0.2:5000/api/2.0/x failed; see https://bo:pw@h/ too"
    masked = trk.mask_secrets(text)
    assert masked == "API request to http://ana:***@10.0.0.2:5000/api/2.0/x failed; see https://bo:***@h/ too"
    assert trk.mask_secrets("http://127.0.0.1:5000/api and ana@example.com") == (
        "http://127.0.0.1:5000/api and ana@example.com"
    )


# 2. "does not exist" is none; an outage is an error


def test_a_missing_model_or_alias_reads_as_none(tmp_path):
    tracking = trk.Tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "e", "lead-scoring")
    assert trk.champion_version(tracking) is None  # no registered model
    assert trk.champion_history(tracking) == []
    assert trk.list_versions(tracking)["versions"] == []
    tracking.client().create_registered_model("lead-scoring")
    assert trk.champion_version(tracking) is None  # a model without the champion alias


def test_registry_reads_during_an_outage_raise_instead_of_reading_as_empty(failing_server):
    tracking = trk.Tracking(f"http://{failing_server}", "e", "lead-scoring")
    # before the fix: None (the gate then promoted a "first model"), [] (the next append overwrote the
    # history with one entry) and a list with no versions
    for read in (trk.champion_version, trk.champion_history, trk.list_versions):
        with pytest.raises(MlflowException, match="500"):
            read(tracking)
    with pytest.raises(MlflowException):
        _append_champion_history(tracking, {"version": "3", "how": "gate", "by": "test"})


def test_models_json_on_a_failing_server_is_a_one_line_error_without_the_password(failing_server):
    r = runner.invoke(app, ["models", "--json"], env={"MLFLOW_TRACKING_URI": f"http://ana:s3cret@{failing_server}"})
    # before the fix: a traceback (exit 1) from the first registry read, or status ok with no versions
    assert r.exit_code == 2, r.output
    err = json.loads(r.stdout)
    assert err["status"] == "error" and err["kind"] == "MlflowException"
    assert "500" in err["error"] and "\n" not in err["error"] and "s3cret" not in r.output


def test_models_on_a_server_that_is_down_stops_at_the_reachability_check():
    r = runner.invoke(
        app, ["models", "--json"], env={"MLFLOW_TRACKING_URI": f"http://ana:s3cret@127.0.0.1:{_closed_port()}"}
    )
    assert r.exit_code == 2, r.output
    err = json.loads(r.stdout)
    assert err["kind"] == "TrackingUnavailable" and "ana:***@127.0.0.1" in err["error"]
    assert "s3cret" not in r.output


# 3. the tracking URI is printed masked


def test_models_json_prints_the_tracking_uri_masked(empty_server):
    r = runner.invoke(app, ["models", "--json"], env={"MLFLOW_TRACKING_URI": f"http://ana:s3cret@{empty_server}"})
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["status"] == "ok" and s["versions"] == []  # a 404 from a server is "no model yet"
    assert s["tracking_uri"] == f"http://ana:***@{empty_server}" and "s3cret" not in r.output


# 4. drift is logged under the model that scored; a logging failure is a warning


@pytest.fixture
def registry(tmp_path):
    """A SQLite store with version 1 of 'lead-scoring', registered from a finished run."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    exp = client.create_experiment("e", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(exp)
    client.set_terminated(run.info.run_id)
    client.create_registered_model("lead-scoring")
    client.create_model_version("lead-scoring", (tmp_path / "art").as_uri(), run_id=run.info.run_id)
    return uri, client, exp


def _drift_table() -> tuple[pd.DataFrame, dict]:
    table = pd.DataFrame(
        [
            {"feature": "score", "kind": "score", "psi": 0.3, "level": "alert", "top": False},
            {"feature": "source", "kind": "categorical", "psi": 0.05, "level": "ok", "top": True},
        ]
    ).assign(unseen_now=[None, 0.1], missing_then=[0.0, 0.0], missing_now=[0.0, 0.0])
    return table, {"level": "alert", "score_psi": 0.3, "rows": 40}


def test_drift_is_logged_under_the_registered_model_that_scored(registry):
    uri, client, exp = registry
    tracking = trk.Tracking(uri, "e", "other")  # LEADSCORE_MODEL_NAME=other, --model models:/lead-scoring/1
    table, verdict = _drift_table()
    out = trk.log_drift(tracking, table, verdict, version="1", model_name="lead-scoring")
    monitor = client.get_run(out["monitor_run_id"])
    assert monitor.data.tags[trk.DRIFT_MONITOR_TAG] == "lead-scoring" and out["experiment_id"] == exp
    assert monitor.data.metrics["drift/score_psi"] == pytest.approx(0.3)


def test_a_drift_logging_failure_is_a_warning_not_a_lost_list(registry):
    uri, client, _ = registry
    table, verdict = _drift_table()
    # the settings' model name has no version 1: before the fix this raised and the list was never written
    out = trk.log_drift(trk.Tracking(uri, "e", "other"), table, verdict, version="1")
    assert set(out) == {"warning"} and "model 'other' version 1" in out["warning"]
    assert client.search_runs([client.get_experiment_by_name("e").experiment_id], "tags.drift_monitor = 'other'") == []


def test_a_drift_logging_outage_still_fails_the_run():
    tracking = trk.Tracking(f"http://127.0.0.1:{_closed_port()}", "e", "lead-scoring")
    table, verdict = _drift_table()
    with pytest.raises(MlflowException):
        trk.log_drift(tracking, table, verdict, version="1")
