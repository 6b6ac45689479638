"""leadscore against real MLflow servers on loopback: a tracking server (SQLite backend, proxied artifacts)
that the weekly job runs against, and `mlflow models serve` answering REST requests with the champion.

Both servers are real subprocesses; each is waited for on its health URL and killed (its whole process
group) in teardown. A server that does not come up fails the test with the tail of its stderr.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import Settings

runner = CliRunner()
BIN = Path(sys.executable).parent  # `mlflow models serve` runs `uvicorn` from PATH


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
    env["MLFLOW_ENABLE_TELEMETRY"] = "false"
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no background job workers: not used here
    return env


class Server:
    """A server subprocess in its own process group; :meth:`wait` returns once ``health`` answers 200.

    Starting and waiting are separate so that the test can do its own work while the server boots.
    """

    def __init__(self, args: list[str], health: str, log_dir: Path, env: dict[str, str]):
        self.health, self.log = health, log_dir / "stderr.log"
        self.started, self.startup_s = time.perf_counter(), None
        with open(log_dir / "stdout.log", "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mlflow", *args],
                stdout=out,
                stderr=err,
                env=env,
                cwd=log_dir,  # a server that wrote to its current folder would write here, not in the repo
                start_new_session=True,
            )

    def wait(self, timeout: float = 120) -> Server:
        deadline = time.monotonic() + timeout
        while self.startup_s is None:
            if self.proc.poll() is not None:
                self._fail(f"exited with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                self._fail(f"did not answer {self.health} within {timeout:.0f} s")
            try:
                with urllib.request.urlopen(self.health, timeout=2) as r:
                    if r.status == 200:
                        self.startup_s = time.perf_counter() - self.started
            except OSError:
                time.sleep(0.25)
        return self

    def _fail(self, why: str) -> None:
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        pytest.fail(f"`mlflow {self.proc.args[3]}` {why}; its stderr ends with:\n{tail}", pytrace=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server and the workers it started
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """`mlflow server` with a SQLite backend and artifacts proxied into a temporary folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    server = Server(
        [
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        f"http://127.0.0.1:{port}/health",
        root,
        _server_env(),
    ).wait()
    yield f"http://127.0.0.1:{port}", root
    server.stop()


@pytest.fixture(scope="module")
def weekly_on_server(tracking_server, prefect_harness, export_files, tmp_path_factory):
    """The weekly job from the CLI, with nothing but MLFLOW_TRACKING_URI pointing it at the server."""
    # Prefect binds its console log handler to sys.stderr when its flow machinery is first imported: import
    # it here, or the handler would keep CliRunner's buffer, closed after the invocation, for later flows
    import pipelines.flows  # noqa: F401

    url, _ = tracking_server
    ws = tmp_path_factory.mktemp("ws-server")
    leads, acts = export_files
    r = runner.invoke(
        app,
        ["weekly", "--leads", str(leads), "--activities", str(acts), "--workspace", str(ws), "--json"],
        env={"MLFLOW_TRACKING_URI": url, "LEADSCORE_TRAIN__NUM_THREADS": "1", "LEADSCORE_TRACKING_URI": None},
    )
    assert r.exit_code == 0, r.output
    return ws, json.loads(r.stdout)


def test_weekly_runs_against_a_tracking_server(tracking_server, weekly_on_server):
    url, root = tracking_server
    ws, summary = weekly_on_server
    assert summary["status"] == "ok" and summary["mlflow"]["tracking_uri"] == url
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    run = client.get_run(summary["mlflow"]["run_id"])
    assert run.data.metrics["model.roc_auc"] == pytest.approx(summary["metrics"]["model"]["roc_auc"])
    assert run.data.tags["gate_decision"] == summary["gate"]["reason"]
    # the server owns the artifacts: proxied, and stored under its --artifacts-destination
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert {a.path for a in client.list_artifacts(run.info.run_id, "review")} == {
        "review/review.html",
        "review/review_es.html",
    }
    champion = client.get_model_version_by_alias("lead-scoring", "champion")
    assert str(champion.version) == summary["gate"]["version"] == "1"
    assert "tier_cutoffs" in champion.tags and champion.run_id == run.info.run_id
    assert list((root / "artifacts").rglob("MLmodel")), "the model is not in the server's artifact store"
    assert list((root / "artifacts").rglob("review.html"))
    # the list is published; nothing MLflow went to the workspace
    listed = pd.read_csv(ws / "lists" / "latest.csv")
    assert len(listed) == summary["list"]["rows"] > 0
    assert listed["model_version"].astype(str).unique().tolist() == ["1"]
    assert not (ws / "mlartifacts").exists() and not (ws / "mlflow.db").exists()
    assert not list(ws.rglob("MLmodel")) and not list(ws.rglob("*.db"))


@pytest.fixture(scope="module")
def model_server(tracking_server, weekly_on_server, tmp_path_factory):
    """`mlflow models serve` of the champion, fetched from the tracking server; started, not yet waited for."""
    url, _ = tracking_server
    port = _free_port()
    server = Server(
        ["models", "serve", "-m", "models:/lead-scoring@champion", "--env-manager", "local"]
        + ["-h", "127.0.0.1", "-p", str(port)],
        f"http://127.0.0.1:{port}/ping",
        tmp_path_factory.mktemp("models-serve"),
        _server_env(MLFLOW_TRACKING_URI=url),
    )
    yield f"http://127.0.0.1:{port}", server
    server.stop()


def _post(url: str, body: bytes) -> list[float]:
    req = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["predictions"]


@pytest.fixture(scope="module")
def champion_scorer(tracking_server, weekly_on_server, config):
    """The batch path's scorer: what `leadscore score` resolves for the champion, from the same server."""
    from models import tracking as trk

    url, _ = tracking_server
    ws, _ = weekly_on_server
    return trk.resolve(Settings(workspace=ws, tracking_uri=url).tracking(config.name)).scorer


def test_rest_scores_equal_batch_scores(
    model_server, weekly_on_server, champion_scorer, export_files, config, tmp_path
):
    from features.build import build_features
    from features.contract import load_export

    serve_url, server = model_server  # booting while the rows and the batch scores are built
    ws, _ = weekly_on_server
    leads, acts = export_files
    rows = tmp_path / "rows.json"
    args = ["--leads", str(leads), "--activities", str(acts), "--format", "json", "--out", str(rows), "--json"]
    r = runner.invoke(app, ["features", *args])
    assert r.exit_code == 0, r.output
    split = json.loads(rows.read_text(encoding="utf-8"))["dataframe_split"]
    assert not {"lead_id", "state", "label"} & set(split["columns"])

    # the batch path: the features the score flow builds, scored by the scorer it resolves, unrounded
    export = load_export(leads, acts, config)
    features = build_features(export.leads, export.activities, config=config)
    batch = pd.Series(champion_scorer.predict_proba(features), index=features.index)

    server.wait()
    rest = pd.Series(_post(serve_url, rows.read_bytes()), index=split["index"], dtype=float)
    assert len(rest) == len(batch) == json.loads(r.stdout)["rows"] and set(rest.index) == set(batch.index)
    np.testing.assert_allclose(rest.to_numpy(), batch.loc[rest.index].to_numpy(), rtol=0, atol=1e-9)
    assert rest.std() > 0.05  # real scores, not one constant
    # the list published by the weekly run says the same, to its 0.1-point rounding
    listed = pd.read_csv(ws / "lists" / "latest.csv").set_index("lead_id")
    assert np.abs(listed["score"] - 100 * rest.loc[listed.index]).max() <= 0.05 + 1e-9


def test_rest_scores_a_lead_with_every_feature_missing_like_the_batch_scorer(model_server, champion_scorer):
    from serving.online import invocation_payload

    serve_url, server = model_server
    blank = pd.DataFrame(
        {c: pd.Series([None], dtype=object) for c in champion_scorer.categorical}
        | {c: [math.nan] for c in champion_scorer.numeric},
        index=pd.Index(["new-lead"], name="lead_id"),
    )
    server.wait()
    rest = _post(serve_url, json.dumps(invocation_payload(blank)).encode())
    assert rest == pytest.approx(champion_scorer.predict_proba(blank).tolist(), abs=1e-9)


def test_rest_refuses_rows_without_a_model_column_and_names_it(model_server, champion_scorer):
    from serving.online import invocation_payload

    serve_url, server = model_server
    server.wait()
    for column in champion_scorer.features:  # required or optional in the signature, each is needed
        rows = pd.DataFrame(
            {c: ["x"] for c in champion_scorer.categorical} | {c: [1.0] for c in champion_scorer.numeric},
            index=["L-1"],
        ).drop(columns=column)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(serve_url, json.dumps(invocation_payload(rows)).encode())
        assert refused.value.code in (400, 422) and column in refused.value.read().decode()


# ---------------------------------------------------------------------------------------------------
# fast checks, no server process


def test_the_request_body_keeps_ids_out_of_the_rows_and_every_digit_in():
    from serving.online import invocation_payload

    X = pd.DataFrame(
        {"industry": ["retail", None], "visits_7d": [1 / 3, math.nan], "ratio": [0.1 + 0.2, 2.0]},
        index=pd.Index(["L-1", "L-2"], name="lead_id"),
    )
    body = json.loads(json.dumps(invocation_payload(X), allow_nan=False))
    assert body == {
        "dataframe_split": {
            "columns": ["industry", "visits_7d", "ratio"],
            "index": ["L-1", "L-2"],
            "data": [["retail", 1 / 3, 0.1 + 0.2], [None, None, 2.0]],
        }
    }
    assert body["dataframe_split"]["data"][0][1] == 1 / 3  # bit for bit, not rounded to 10 digits


@pytest.mark.parametrize(
    ("uri", "server"),
    [
        ("http://127.0.0.1:5000", True),
        ("https://mlflow.example.com", True),
        ("databricks", True),  # the default Databricks workspace
        ("databricks://profile", True),
        ("sqlite:////srv/ls/mlflow.db", False),
        ("postgresql://ml:pw@db/mlflow", False),
        ("file:///srv/mlruns", False),
    ],
)
def test_only_a_tracking_server_owns_the_artifacts(uri, server, tmp_path):
    from models.tracking import is_tracking_server

    assert is_tracking_server(uri) is server
    tracking = Settings(workspace=tmp_path, tracking_uri=uri).tracking("synthetic")
    assert tracking.artifact_root == (None if server else tmp_path / "mlartifacts")


def test_mlflow_tracking_uri_is_used_unless_leadscore_tracking_uri_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("LEADSCORE_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert Settings(workspace=tmp_path).resolved_tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("LEADSCORE_TRACKING_URI", "http://10.0.0.2:5000")
    assert Settings(workspace=tmp_path).resolved_tracking_uri() == "http://10.0.0.2:5000"
    monkeypatch.delenv("LEADSCORE_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert Settings(workspace=tmp_path).resolved_tracking_uri() == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://ml:s3cret@db:5432/mlflow", "postgresql://ml:***@db:5432/mlflow"),
        ("https://ana:p%40ss@mlflow.example.com", "https://ana:***@mlflow.example.com"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////srv/ls/mlflow.db", "sqlite:////srv/ls/mlflow.db"),
    ],
)
def test_a_password_in_the_tracking_uri_is_never_shown(uri, shown):
    from models.tracking import display_uri

    assert display_uri(uri) == shown


def test_a_server_that_answers_at_all_is_reachable_one_that_does_not_fails_in_seconds():
    from models.tracking import TrackingUnavailable, check_reachable

    class Guarded(BaseHTTPRequestHandler):  # a proxy in front of the server that refuses /health
        def do_GET(self):
            self.send_error(401)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Guarded)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        check_reachable(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
    closed = f"http://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(TrackingUnavailable, match=r"does not answer .*MLFLOW_TRACKING_URI"):
        check_reachable(closed)
    assert time.perf_counter() - t0 < 10
    check_reachable("sqlite:///nowhere/mlflow.db")  # not a server: left to MLflow


def test_weekly_against_a_server_that_is_down_stops_at_once_and_writes_nothing(tmp_path, export_files):
    leads, acts = export_files
    ws = tmp_path / "ws"
    r = runner.invoke(
        app,
        ["weekly", "--leads", str(leads), "--activities", str(acts), "--workspace", str(ws), "--json"],
        env={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_free_port()}", "LEADSCORE_TRACKING_URI": None},
    )
    assert r.exit_code == 2
    err = json.loads(r.stdout)
    assert err["kind"] == "TrackingUnavailable" and "\n" not in err["error"]
    assert not ws.exists()


def test_features_documents_the_serving_format_and_refuses_an_unknown_one(tmp_path, export_files):
    r = runner.invoke(app, ["features", "--help"], terminal_width=200)
    assert r.exit_code == 0 and "--format" in r.output and "/invocations" in r.output
    r = runner.invoke(
        app, ["features", "--leads", str(export_files[0]), "--out", str(tmp_path / "x"), "--format", "xml", "--json"]
    )
    assert r.exit_code == 2 and "--format must be parquet or json" in json.loads(r.stdout)["error"]
    assert not (tmp_path / "x").exists()
