"""Talking to MLflow: the tracking URI, the ``Tracking`` handle, reachability, secrets in messages, errors.

Every other module of the package reaches MLflow through what is here. The registry's aliases
(``champion``, ``challenger``) are named here too, since every part of the registry reads them.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlparse
from urllib.request import Request, urlopen

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CHAMPION, CHALLENGER = "champion", "challenger"


@contextmanager
def _tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's fluent API (runs, log_model, load_model) reads a global URI: set it, then put it back.

    ``mlflow.set_tracking_uri`` also writes MLFLOW_TRACKING_URI into the environment, which our settings
    read: the environment is restored exactly, or every later lookup in the process would go to
    MLflow's default store in the current folder.
    """
    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env_before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env_before


class ModelLoadError(RuntimeError):
    """A model URI that cannot be loaded; the message names it and what to do.

    ``transient`` says the cause may pass by itself (an unreachable MLflow server, a network share's I/O
    error): the gate must then not read the champion as unusable, and a retry may succeed.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server does not answer; the message names the URI and what to check."""


SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc")


def is_tracking_server(uri: str) -> bool:
    """True when ``uri`` is a tracking server (it owns the artifact store), not a store this process opens."""
    return (urlparse(uri).scheme or uri) in SERVER_SCHEMES  # "databricks" alone names a workspace server


def display_uri(uri: str) -> str:
    """``uri`` with any password replaced by ***, for messages and summaries (which are written to files)."""
    parts = urlparse(uri)
    if parts.password is None:
        return uri
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s/:@'\"]*):[^\s/@'\"]+@", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URI in it replaced by ***: MLflow's errors quote the URL they called."""
    return _CREDENTIALS.sub(r"\1:***@", text)


def is_missing(exc: MlflowException) -> bool:
    """True when MLflow says the model, version, alias or run does not exist: "none", not a failure.

    MLflow 3 raises RESOURCE_DOES_NOT_EXIST for a missing model, version or run, but INVALID_PARAMETER_VALUE
    ("Registered model alias champion not found.") for a missing alias on a model that exists. Any other
    error (a server that answers 500, a store that cannot be read) is not an answer and must propagate:
    read as "nothing there" it would make the gate promote a "first model" during an outage.
    """
    code = getattr(exc, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return True
    return code == "INVALID_PARAMETER_VALUE" and re.search(r"alias .* not found", str(exc), re.IGNORECASE) is not None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds when an http(s) tracking server does not answer.

    MLflow's own client retries a refused connection with back-off for minutes before it gives up. Any
    HTTP answer (even 401 or 404 from a proxy that guards /health) counts as reachable: only a
    connection that fails is refused here. Stores that are not http(s) are left to MLflow.
    """
    parts = urlparse(uri)
    if parts.scheme not in ("http", "https"):
        return
    headers = {}
    if "@" in parts.netloc:  # urllib refuses user:password in the URL: send them as basic auth instead
        user, _, password = parts.netloc.rpartition("@")[0].partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    request = Request(f"{parts.geturl().rstrip('/')}/health", headers=headers)  # noqa: S310 - the scheme is http(s)
    try:
        with urlopen(request, timeout=timeout):  # noqa: S310 - the scheme is http(s)
            pass
    except HTTPError:
        return
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailable(
            f"the MLflow tracking server {display_uri(uri)} does not answer ({reason}); start it, or point "
            "MLFLOW_TRACKING_URI (or LEADSCORE_TRACKING_URI) at one that runs"
        ) from None


@dataclass(frozen=True)
class Tracking:
    tracking_uri: str
    experiment_name: str
    model_name: str
    artifact_root: Path | None = None  # where a local store keeps artifacts (None for a tracking server)

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self) -> str:
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment_name)
        if exp is not None:
            return exp.experiment_id
        location = self.artifact_root.resolve().as_uri() if self.artifact_root else None
        return client.create_experiment(self.experiment_name, artifact_location=location)


def champion_version(tracking: Tracking) -> str | None:
    """The champion's version, or None when the model or its champion alias does not exist.

    Any other MLflow error propagates: an outage is not "no champion" (the gate would promote a first model).
    """
    try:
        return str(tracking.client().get_model_version_by_alias(tracking.model_name, CHAMPION).version)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise
