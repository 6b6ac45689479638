"""What every `leadscore` command shares: the app, the options, settings, preflight checks, the lock, errors."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

from pipelines.prefect_env import configure_prefect, prefect_start_errors
from pipelines.results import ListResult, Record

console = Console(stderr=True)  # progress and summaries: stdout stays for --json

app = typer.Typer(
    help="Honest MQL-to-SQL lead scoring: train weekly, rank new leads, explain every score. Input limits and "
    "run time-outs: LEADSCORE_LIMITS__MAX_FILE_BYTES, __MAX_ROWS, __MAX_CELL_CHARS, __RUN_TIMEOUT_SECONDS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config", "-c", help="dataset config (TOML) mapping the export", show_default="data/configs/synthetic.toml"
    ),
]


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        help="folder for lists, the MLflow store and artifacts", show_default="./workspace, or LEADSCORE_WORKSPACE"
    ),
]


JsonOpt = Annotated[bool, typer.Option("--json", help="print the summary as JSON on stdout (for automation)")]


AsOfOpt = Annotated[
    datetime | None,
    typer.Option(
        help="the export moment: later MQLs and SQL dates are ignored, leads younger than the horizon are open",
        show_default="the latest timestamp in the export",
    ),
]


LeadsOpt = Annotated[Path, typer.Option(help="leads export (CSV, CSV.gz or Parquet)")]


CapacityOpt = Annotated[
    int | None,
    typer.Option(
        help="leads the SDR team can work this week: the best N are marked this_week=yes on the list",
        min=1,
        show_default="none, or LEADSCORE_CAPACITY",
    ),
]


ModelOpt = Annotated[str | None, typer.Option(help="MLflow model URI", show_default="models:/<model_name>@champion")]


ModelConfigOpt = Annotated[
    Path | None, typer.Option(help="dataset config", show_default="the one saved with the model")
]


ActsOpt = Annotated[Path | None, typer.Option(help="activities export (CSV, CSV.gz or Parquet)")]


FailOnDriftOpt = Annotated[
    bool,
    typer.Option(
        "--fail-on-drift",
        help="exit with code 3 on a drift alert, after the list is written (for cron and CI, which only see "
        "exit codes)",
    ),
]


LangOpt = Annotated[
    Literal["en", "es"] | None,  # serving.vocabulary.LANGS: an unknown language is refused with the two named
    typer.Option(
        help="language of the SDR list: list.csv's headers, tier labels, this_week, trend words and reasons "
        "(list.parquet keeps the column ids); the run points to the review page in it first",
        show_default="en, or LEADSCORE_LANG",
    ),
]


def _with_lang(settings, lang: str | None):
    """The settings with --lang's language, when given (else LEADSCORE_LANG's, default en)."""
    return settings.model_copy(update={"lang": lang}) if lang else settings


DRIFT_EXIT = 3


def _json_default(o: object) -> object:
    """A typed result inside a JSON line (serve's events) as its summary; anything else as text."""
    return o.to_json() if isinstance(o, Record) else str(o)


def _exit_on_drift(s: ListResult, fail_on_drift: bool) -> None:
    if fail_on_drift and s.drift is not None and s.drift.level == "alert":
        raise typer.Exit(DRIFT_EXIT)


NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="rebuild the point-in-time features even if <workspace>/cache holds them for these inputs "
        "(LEADSCORE_CACHE__ENABLED=false does the same)",
    ),
]


def _without_cache(settings, no_cache: bool):
    return (
        settings.model_copy(update={"cache": settings.cache.model_copy(update={"enabled": False})})
        if no_cache
        else settings
    )


def _environment() -> None:
    # Before Prefect is imported: no telemetry, and its console logs stay out of the summary. Errors are
    # printed by this CLI in one line; PREFECT_LOGGING_LEVEL=INFO brings Prefect's own logs back.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its INFO lines (table creation...) are not ours
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # mlflow resets its loggers to this on import
    # against a tracking server MLflow writes "View run at <url>" to stdout, which --json keeps for the summary
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    configure_prefect()


def _settings(workspace: Path | None):
    from pydantic import ValidationError

    from pipelines.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:  # a bad LEADSCORE_* variable: name it, no traceback
        problems = "; ".join(
            f"LEADSCORE_{'__'.join(str(p).upper() for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        console.print(f"[bold red]Error:[/bold red] invalid settings: {problems}", highlight=False)
        raise typer.Exit(2) from None
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    return settings


def _preflight(config: Path | None, *files: Path | None, workspace: Path | None = None, settings=None) -> None:
    """Fail in a second, before any flow starts, on a bad config, a missing input, an unusable workspace
    or (given the settings) a tracking server that does not answer."""
    from features.config import load_config
    from features.contract import ContractError
    from features.limits import check_file_size
    from models.tracking import check_reachable

    if settings is not None:
        workspace = settings.workspace

    if workspace is not None and workspace.exists() and not workspace.is_dir():
        raise ContractError(f"--workspace {workspace} is a file; give a folder (it is created if missing)")
    if config is not None:
        load_config(config)
    for f in files:
        if f is not None and not Path(f).is_file():
            raise ContractError(f"{f}: file not found")
    if settings is not None:
        for f in files:  # LEADSCORE_LIMITS__MAX_FILE_BYTES: refused in a second, before any flow starts
            check_file_size(f, settings.limits.max_file_bytes)
        check_reachable(settings.resolved_tracking_uri())


def _timed(flow_fn, settings):
    """The flow with the run time-out of LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS, if one is set."""
    seconds = settings.limits.run_timeout_seconds
    return flow_fn.with_options(timeout_seconds=seconds) if seconds else flow_fn


def _timeout_message(exc: BaseException) -> str:
    return (
        f"the run was stopped at its time-out ({exc}). Outputs are written atomically and the model aliases "
        "move last, so the previous list and champion are as they were. Raise the time-out with "
        "LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS (or unset it for none)."
    )


def _locked(settings, command: str, fn, *, create: bool = True):
    """Run ``fn`` holding the workspace lock (pipelines/lock.py): one writer per workspace at a time.

    With ``create=False`` a workspace that does not exist is not made just to hold a lock in it.
    """
    from pipelines.lock import workspace_lock

    if not create and not settings.workspace.is_dir():
        return fn()

    def say(message: str) -> None:
        console.print(f"[yellow]{escape(message)}[/yellow]", highlight=False, soft_wrap=True)  # one greppable line

    with workspace_lock(settings.workspace, command, timeout=settings.lock_timeout_seconds, on_wait=say):
        return fn()


def _start(workspace: Path | None):
    """A command's first step: the environment set before Prefect loads, then the settings."""
    _environment()
    return _settings(workspace)


def _run_flow(
    as_json: bool, settings, command: str, flow_fn, *args, config: Path | None, files: tuple, printer, create=True
):
    """Preflight, then the flow under the workspace lock and the run time-out: its result, printed by ``printer``
    (or as JSON if asked)."""
    return _shown(
        as_json,
        lambda: (
            _preflight(config, *files, settings=settings)
            or _locked(settings, command, lambda: _timed(flow_fn, settings)(*args), create=create)
        ),
        printer,
    )


def _shown(as_json: bool, fn, printer, *extra):
    """``_run`` the command body, then print its result with ``printer(result, *extra)`` unless --json."""
    summary = _run(as_json, fn)
    if not as_json:
        printer(summary, *extra)
    return summary


def _run(as_json: bool, fn, *, print_json: bool = True):
    """Run a command body: progress on stderr, summary (or JSON) at the end, clear errors, no tracebacks."""
    from mlflow.exceptions import MlflowException

    from features.config import ConfigError
    from features.contract import ContractError
    from models.leaks import LeakSuspected
    from models.scorer import FeatureMismatchError
    from models.tracking import CutoffError, ModelLoadError, RollbackError, TrackingUnavailable, mask_secrets
    from models.train import TrainingDataError
    from pipelines import progress
    from pipelines.lock import WorkspaceBusy
    from serving.distributed import DistributedError

    progress.enable(None if as_json else console)
    try:
        with prefect_start_errors():  # Prefect's start-up time-out: one line saying what to do
            summary = fn()
    except (
        ConfigError,
        ContractError,
        ModelLoadError,
        CutoffError,
        RollbackError,
        TrackingUnavailable,
        TrainingDataError,
        LeakSuspected,
        FeatureMismatchError,
        WorkspaceBusy,
        OSError,
        DistributedError,  # --dask: no dask installed, no scheduler, a worker lost
        MlflowException,  # an MLflow error that outlasted the retries (and is no "does not exist" answer)
        TimeoutError,  # LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS (Prefect's FlowRunTimeoutError is one)
    ) as exc:
        if isinstance(exc, TimeoutError):
            message = _timeout_message(exc)
        elif isinstance(exc, MlflowException):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"MLflow request failed ({exc.error_code}): {first}"
        elif isinstance(exc, OSError) and exc.filename:
            message = f"{exc.filename}: {exc.strerror}"
        else:
            message = str(exc)
        message = mask_secrets(message)  # MLflow quotes the URL it called, password and all
        if as_json:
            print(json.dumps({"status": "error", "error": message, "kind": type(exc).__name__}))
        else:
            console.print(f"[bold red]Error:[/bold red] {message}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    if as_json and print_json:
        print(json.dumps(summary.to_json() if isinstance(summary, Record) else summary, indent=2, default=str))
    return summary


def _require_dask(as_json: bool) -> None:
    """``--dask`` without the optional extra: one line saying what to install, exit code 2."""
    from models.distributed import DaskMissing, require_dask

    try:
        require_dask()
    except DaskMissing as exc:
        if as_json:
            print(json.dumps({"status": "error", "error": str(exc), "kind": "DaskMissing"}))
        else:
            console.print(f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


thresholds_app = typer.Typer(
    help="Tier cut-offs as a versioned decision on the model version: show, propose for a capacity, set.",
    no_args_is_help=True,
)


def _registry(settings):
    """The tracking store to read cut-offs from; refuses a workspace without one instead of creating it."""
    from features.contract import ContractError
    from models.tracking import check_reachable

    uri = settings.resolved_tracking_uri()
    check_reachable(uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise ContractError(
            f"no MLflow store at {uri.removeprefix('sqlite:///')}: train a model first (`leadscore weekly`), "
            "or pass the --workspace it was trained in"
        )
    return settings.tracking("default")


def _store_missing(settings) -> str | None:
    """The SQLite file a local store would be, if it does not exist (opening it would create it)."""
    uri = settings.resolved_tracking_uri()
    path = Path(uri.removeprefix("sqlite:///"))
    return str(path) if uri.startswith("sqlite:///") and not path.is_file() else None


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"
