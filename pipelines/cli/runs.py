"""The run commands: weekly, train, backtest and score (in one process or on Dask)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli import render
from pipelines.cli.common import (
    ActsOpt,
    AsOfOpt,
    CapacityOpt,
    ConfigOpt,
    FailOnDriftOpt,
    JsonOpt,
    LangOpt,
    LeadsOpt,
    ModelConfigOpt,
    ModelOpt,
    NoCacheOpt,
    WorkspaceOpt,
    _environment,
    _exit_on_drift,
    _preflight,
    _require_dask,
    _run_flow,
    _settings,
    _shown,
    _start,
    _timed,
    _with_lang,
    _without_cache,
    console,
)
from pipelines.defaults import DEFAULT_CONFIG
from pipelines.results import BacktestResult, DaskScoreResult


def _dask_opt(text: str, show_default: str):
    """The `--dask` option (an address, or 'local'), with the command's own help."""
    return Annotated[str | None, typer.Option("--dask", help=text, show_default=show_default)]


TrainDaskOpt = _dask_opt(
    "train with lightgbm.dask on the Dask scheduler at this address (tcp://host:8786), or 'local' "
    "for a cluster on this machine; needs pip install 'leadscore\\[dask]'. Trees are close to, not "
    "identical with, single-process training, and there is no model search: the default LightGBM is the "
    "model (see README)",
    "single process, with the model search",
)
ScoreDaskOpt = _dask_opt(
    "score a partitioned export on a Dask cluster: 'local' starts one on this machine, or give a "
    "scheduler address (tcp://host:8786). --leads and --activities are then folders of Parquet files "
    "co-partitioned by lead (same file names), and --out a folder: one list file per partition, "
    "_rejects.csv, _summary.json. Same rows, scores, ranks and reasons as one process; no trend, "
    "capacity, control group, drift check or Spanish list (--lang, LEADSCORE_LANG are refused). "
    "Needs the dask extra: pip install 'leadscore\\[dask]'",
    "off: one process",
)


def weekly(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    capacity: CapacityOpt = None,
    no_cache: NoCacheOpt = False,
    fail_on_drift: FailOnDriftOpt = False,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The whole weekly job: validate, features, train, gate, score the open leads, publish the list.

    The list goes to <workspace>/lists/latest.csv (and .parquet), with a dated copy under lists/archive/;
    the threshold review page beside it (latest_review.html, Spanish latest_review_es.html), also logged
    to MLflow with the run. With --lang es, latest.csv's headers, labels and reasons are in Spanish (the
    Parquet keeps the column ids). Leads on last week's list get their previous score and trend. The open leads
    are compared with the scoring model's training window (drift: lists/latest_drift.csv, MLflow); an
    alert is printed in a red block and ends the Prefect run in the DriftAlert state.
    """
    settings = _with_lang(_without_cache(_start(workspace), no_cache), lang)
    from pipelines.flows import weekly_flow

    args = (leads, activities, config, settings, as_of, capacity)
    s = _run_flow(as_json, settings, "weekly", weekly_flow, *args, config=config, files=(leads, activities),
                  printer=render.print_weekly)  # fmt: skip
    _exit_on_drift(s, fail_on_drift)


def train(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    no_cache: NoCacheOpt = False,
    dask: TrainDaskOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train and evaluate a model, log it to MLflow and register it; the gate decides if it is champion.

    The model is chosen on the calibration window among LightGBM settings, a logistic regression and their
    blends (tuned on its older half, compared on its newer half), within LEADSCORE_TRAIN__SEARCH_BUDGET_SECONDS.
    """
    _environment()
    if dask:
        _require_dask(as_json)
    from pipelines.flows import train_flow

    settings = _without_cache(_settings(workspace), no_cache)
    args = (leads, activities, config, settings, as_of, dask)
    _run_flow(as_json, settings, "train", train_flow, *args, config=config, files=(leads, activities),
              printer=render.print_train)  # fmt: skip


def backtest(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    weeks: Annotated[
        int, typer.Option(help="past weeks to replay, the most recent ones whose outcomes are all known", min=1)
    ] = 12,
    capacity: Annotated[
        int | None,
        typer.Option(
            help="leads the SDR team works a week: SQLs are counted among each week's best N",
            min=1,
            show_default="LEADSCORE_CAPACITY, else 20% of the median weekly MQL volume",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay past weeks as if `weekly` had run each Monday, and compare its ranking with what happened.

    Each Monday's model is trained on what was known then (later SQL dates and MQLs unknown) and ranks
    the MQLs of the following seven days; per week: MQLs, SQLs, the model's and the persona rule's AUC,
    the SQLs each puts in the week's top --capacity, and the SQLs the model expected. Weeks younger than
    the horizon are not replayed. Nothing is registered and no list changes; the table is written to
    <workspace>/backtest/backtest_<UTC time>.csv (and .json).
    """
    settings = _start(workspace)
    from pipelines.flows import backtest_flow

    def body() -> BacktestResult:
        _preflight(config, leads, activities, workspace=settings.workspace)
        return _timed(backtest_flow, settings)(leads, activities, config, settings, weeks, capacity)

    _shown(as_json, body, render.print_backtest)


def score(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="list file (.csv); .parquet, _rejects.csv and _summary.json go beside it")],
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    workspace: WorkspaceOpt = None,
    capacity: CapacityOpt = None,
    fail_on_drift: FailOnDriftOpt = False,
    dask: ScoreDaskOpt = None,
    dask_workers: Annotated[int, typer.Option(help="with --dask local: worker processes (one thread each)", min=1)] = 2,
    dask_memory: Annotated[
        str, typer.Option(help="with --dask local: memory limit per worker; a worker above it is restarted")
    ] = "2GB",
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every valid lead in a file: rank, calibrated score 0-100, tier A-D, top 3 reasons.

    The list file is in --lang's language (headers, labels, reasons); the Parquet keeps the column ids.

    A list already at --out is read first: leads on it get their previous score and trend. The leads are
    compared with the model's training window (drift: <out stem>_drift.csv beside the list, MLflow).
    With --dask, a partitioned export is scored on a Dask cluster instead (see --dask).
    """
    _environment()
    if dask:
        given = [o for o, v in (("--capacity", capacity), ("--fail-on-drift", fail_on_drift), ("--lang", lang)) if v]
        _score_on_dask(dask, leads, activities, out, model, config, workspace, dask_workers, dask_memory, as_json,
                       unavailable=given)  # fmt: skip
        return
    from pipelines.flows import score_flow

    settings = _with_lang(_settings(workspace), lang)
    args = (leads, activities, out, settings, model, config, capacity)
    s = _run_flow(as_json, settings, "score", score_flow, *args, config=config, files=(leads, activities),
                  printer=render.print_score, create=False)  # fmt: skip
    _exit_on_drift(s, fail_on_drift)


def _score_on_dask(
    address, leads, activities, out, model, config, workspace, workers, memory, as_json, *, unavailable: list[str]
) -> None:
    """`score --dask`: check the inputs here, run the Dask scoring flow with a progress bar, print the summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    settings = _settings(workspace)
    # the cluster's own INFO lines (workers starting, closing) are not ours; workers inherit the environment
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")

    def body() -> DaskScoreResult:
        from features.partitions import find_partitions
        from pipelines.flows import score_dask_flow
        from serving.distributed import DistributedError

        # options of the one-process list: no trend, capacity, drift check, language or control group on Dask
        # (a list without its control group and assignment would pass for one; an English list for a Spanish one)
        env_lang = settings.lang != "en" and "--lang" not in unavailable
        given = [
            *unavailable,
            *(["LEADSCORE_LANG"] if env_lang else []),
            *(["LEADSCORE_CONTROL_SHARE"] if settings.control_share else []),
        ]
        if given:
            raise DistributedError(f"{', '.join(given)}: not available with --dask")
        partitions = find_partitions(leads, activities)
        _preflight(config, settings=settings)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=as_json,
        ) as bar:  # fmt: skip
            passes: dict[str, int] = {}

            def advance(label: str, done: int, total: int) -> None:
                if label not in passes:
                    passes[label] = bar.add_task(label, total=total)
                bar.update(passes[label], completed=done)

            return score_dask_flow(partitions, out, settings, address, model, config, workers, memory, advance)

    _shown(as_json, body, render.print_dask_score)
