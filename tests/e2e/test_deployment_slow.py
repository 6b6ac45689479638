"""The whole server story as the README tells it: `make test-slow` (about a minute).

A real `prefect server start` on loopback (with its scheduler), `prefect work-pool create`, `prefect
deploy`, the server scheduling the Monday runs by itself, and a process worker running one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}: " + done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _wait_for(check, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what}: nothing after {timeout:.0f} s")


def test_deploy_to_a_prefect_server_and_a_worker_runs_the_week(tmp_path):
    from features.synthetic import generate

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": str(ROOT),
        "LEADSCORE_WORKSPACE": str(tmp_path / "ws"),
    }
    server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(healthy, 120, "the Prefect server's health")
        _prefect("work-pool", "create", "leadscore", "--type", "process", env=env)
        _prefect("--no-prompt", "deploy", "--name", "weekly", env=env)
        deployment = httpx.get(f"{api}/deployments/name/weekly-scheduled/weekly").json()

        def scheduled() -> list[dict]:
            body = {
                "deployments": {"id": {"any_": [deployment["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            }
            return httpx.post(f"{api}/flow_runs/filter", json=body).json()

        runs = _wait_for(scheduled, 90, "runs scheduled by the server")
        madrid = [datetime.fromisoformat(r["expected_start_time"]).astimezone(ZoneInfo("Europe/Madrid")) for r in runs]
        assert all((t.weekday(), t.hour, t.minute) == (0, 6, 0) for t in madrid) and min(madrid) > datetime.now(UTC)

        # a run now, on a small export (too little history to train: the persona week), picked up by a worker
        small = generate(150, 12, 3)
        small.leads.to_csv(tmp_path / "leads.csv", index=False)
        small.activities.to_csv(tmp_path / "acts.csv", index=False)
        _prefect(
            "deployment",
            "run",
            "weekly-scheduled/weekly",
            "--param",
            f"leads={tmp_path / 'leads.csv'}",
            "--param",
            f"activities={tmp_path / 'acts.csv'}",
            env=env,
        )
        _prefect("worker", "start", "--pool", "leadscore", "--run-once", env=env, timeout=300)
        listed = pd.read_csv(tmp_path / "ws" / "lists" / "latest.csv")  # LEADSCORE_WORKSPACE of the worker
        assert set(listed["lead_id"]) == set(small.open_ids())
        finished = httpx.post(
            f"{api}/flow_runs/filter",
            json={
                "deployments": {"id": {"any_": [deployment["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            },
        ).json()
        assert len(finished) == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
