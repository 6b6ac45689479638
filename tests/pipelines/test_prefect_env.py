"""Prefect's first start on a busy machine: a generous time-out by default, one line when it still fails."""

from __future__ import annotations

import os

import pytest

from pipelines.prefect_env import (
    STARTUP_TIMEOUT_S,
    STARTUP_TIMEOUT_VAR,
    PrefectUnavailable,
    configure_prefect,
    prefect_start_errors,
)


def test_the_default_time_out_yields_to_the_environment(monkeypatch):
    monkeypatch.delenv(STARTUP_TIMEOUT_VAR, raising=False)
    configure_prefect()
    assert int(os.environ[STARTUP_TIMEOUT_VAR]) == STARTUP_TIMEOUT_S
    monkeypatch.setenv(STARTUP_TIMEOUT_VAR, "600")
    configure_prefect()
    assert os.environ[STARTUP_TIMEOUT_VAR] == "600"


def test_a_start_that_times_out_says_what_to_do(monkeypatch):
    monkeypatch.setenv(STARTUP_TIMEOUT_VAR, "45")
    with pytest.raises(PrefectUnavailable) as caught, prefect_start_errors():
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server. stdout: ...")
    message = str(caught.value)
    assert f"{STARTUP_TIMEOUT_VAR}=45 s" in message and "PREFECT_API_URL" in message
    assert "\n" not in message and "stdout" not in message
    assert isinstance(caught.value, OSError)  # the CLI's one-line error path, exit code 2


def test_other_runtime_errors_pass_through():
    with pytest.raises(RuntimeError, match="something else"), prefect_start_errors():
        raise RuntimeError("something else")
