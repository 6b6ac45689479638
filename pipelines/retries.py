"""Which failures are worth a retry, and the Prefect retry policy built from the settings.

The steps that touch files or MLflow retry with exponential back-off, but only on errors that can go
away by themselves: an I/O error on a network share, a refused or timed-out connection, MLflow's
server or its database answering "try again later". Anything about the data or the configuration
(a bad export, too little history, a suspected leak, a missing file) fails at once with its one-line
message: a retry would give the same answer, later.
"""

from __future__ import annotations

import errno
from typing import Any

from prefect.tasks import exponential_backoff

from pipelines.settings import RetrySettings

# OSErrors that describe the request, not the moment: a missing file stays missing
PERMANENT_OS_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)
PERMANENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.EINVAL}
# MLflow error codes that a server sends for load or an unreachable backend (HTTP 429, 503, 504)
TRANSIENT_MLFLOW_CODES = {
    "TEMPORARILY_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
}


def is_transient(exc: BaseException | None) -> bool:
    """True for an error that a later attempt may not meet: worth retrying.

    Never for a ValueError: every data and configuration error of this project (ContractError,
    ConfigError, TrainingDataError and InsufficientData, LeakSuspected, CutoffError, FeatureMismatchError)
    and pandas' and pydantic's parse errors derive from it.
    """
    if exc is None or isinstance(exc, ValueError):
        return False
    if isinstance(exc, OSError):  # also requests' ConnectionError and Timeout, TimeoutError
        return not isinstance(exc, PERMANENT_OS_ERRORS) and exc.errno not in PERMANENT_ERRNOS
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - mlflow is a dependency
        return False
    if isinstance(exc, MlflowException):
        if exc.error_code in TRANSIENT_MLFLOW_CODES:
            return True
        # MLflow's HTTP client, after its own retries, reports an unreachable server as
        # "API request to <url> failed with exception ..." with the requests error as context
        cause = exc.__cause__ or exc.__context__
        return str(exc.message).startswith("API request to") or (cause is not None and is_transient(cause))
    return False


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
