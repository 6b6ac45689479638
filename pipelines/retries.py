"""Which failures are worth a retry, and the Prefect retry policy built from the settings.

The steps that touch files or MLflow retry with exponential back-off, but only on errors that can go
away by themselves: an I/O error on a network share, a refused or timed-out connection, MLflow's
server or its database answering "try again later". Anything about the data or the configuration
(a bad export, too little history, a suspected leak, a missing file) fails at once with its one-line
message: a retry would give the same answer, later.
"""

from __future__ import annotations

from typing import Any

from prefect.tasks import exponential_backoff

from models.transient import is_transient
from pipelines.settings import RetrySettings


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry the failed task run only if its error is transient.

    A plain function on purpose: Prefect calls a retry condition only if ``inspect.isfunction`` holds.
    """
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_transient(exc)


def retry_options(settings: RetrySettings) -> dict:
    """Task options for ``Task.with_options``: retries with exponential back-off, transient errors only."""
    return {
        "retries": settings.retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=settings.delay_seconds)(settings.retries)
        if settings.retries
        else 0,
        "retry_jitter_factor": settings.jitter if settings.retries and settings.delay_seconds else None,
        "retry_condition_fn": retry_on_transient,
    }
