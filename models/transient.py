"""Which errors can go away by themselves (worth a retry), and which say something about the request.

Here, not in pipelines/retries.py, so that models/tracking/ can tell an MLflow outage from a champion
that truly cannot be loaded without importing Prefect.
"""

from __future__ import annotations

import errno

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
