"""The operations commands: the review page, the schedule, the registry's versions and rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli import render, render_registry
from pipelines.cli.common import (
    ActsOpt,
    CapacityOpt,
    JsonOpt,
    LeadsOpt,
    ModelConfigOpt,
    ModelOpt,
    WorkspaceOpt,
    _json_default,
    _locked,
    _os_user,
    _preflight,
    _registry,
    _run,
    _shown,
    _start,
    _store_missing,
    _timed,
    console,
)
from pipelines.results import ReportResult
from pipelines.results_registry import RollbackResult, VersionList


def report(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="the page to write (.html), one self-contained file")],
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    lang: Annotated[
        str | None, typer.Option(help="language of the page: en or es", show_default="en, or LEADSCORE_LANG")
    ] = None,
    minutes_per_lead: Annotated[
        float | None,
        typer.Option(help="starting minutes an SDR spends per lead", min=0, show_default="15, or the setting"),
    ] = None,
    cost_per_hour: Annotated[
        float | None,
        typer.Option(help="starting cost of an SDR hour", min=0, show_default="30, or the setting"),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Marketing's threshold review page for a model, on its validation window rebuilt from the export.

    The window is split from the export as training splits it (the newest mature leads); the page shows
    the model version's current tier cut-offs.
    """
    settings = _start(workspace)
    from features.contract import ContractError
    from pipelines.flows import report_flow

    update = {
        k: v for k, v in {"minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}.items() if v is not None
    }
    settings = settings.model_copy(update=update)

    lang = lang or settings.lang  # the team's language, as the list's

    def body() -> ReportResult:
        if lang not in ("en", "es"):
            raise ContractError(f"--lang must be en or es, got {lang!r}")
        _preflight(config, leads, activities, settings=settings)
        return _timed(report_flow, settings)(leads, activities, out, settings, model, config, lang)

    _shown(as_json, body, render.print_report)


def serve(
    leads: Annotated[
        Path | None,
        typer.Option(
            help="leads export each run reads (replace the file between runs)", show_default="LEADSCORE_SCHEDULE__LEADS"
        ),
    ] = None,
    activities: Annotated[
        Path | None,
        typer.Option(help="activities export each run reads", show_default="LEADSCORE_SCHEDULE__ACTIVITIES"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="dataset config (TOML) mapping the export",
            show_default="LEADSCORE_SCHEDULE__CONFIG, else data/configs/synthetic.toml",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    capacity: CapacityOpt = None,
    cron: Annotated[
        str | None,
        typer.Option(
            help="when to run: minute hour day-of-month month day-of-week (a sixth field, seconds, is accepted)",
            show_default="'0 6 * * 1' (Monday 06:00), or LEADSCORE_SCHEDULE__CRON",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA time zone the cron is read in, e.g. America/Bogota",
            show_default="Europe/Madrid, or LEADSCORE_SCHEDULE__TIMEZONE",
        ),
    ] = None,
    max_runs: Annotated[
        int | None,
        typer.Option(
            help="stop after this many runs (exit code 2 if one failed)", min=1, show_default="run until stopped"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print each event (next run, run summary or error) as one JSON line")
    ] = False,
) -> None:
    """Keep the weekly schedule in this process, with no Prefect server: run `weekly` each time the cron is due.

    Each run reads the files afresh, so replace them between runs. A failed run is reported in one line
    and the schedule goes on; a time missed while the process was down is not made up. With a Prefect
    server, deploy prefect.yaml instead (see the README); with PREFECT_API_URL set, serve's runs show there too.
    """
    settings = _start(workspace)
    from pydantic import ValidationError

    from features.config import ConfigError
    from pipelines import progress
    from pipelines.schedule import scheduled_inputs, scheduled_weekly
    from pipelines.schedule import serve as serve_loop
    from pipelines.settings import ScheduleSettings

    cron = cron or settings.schedule.cron
    timezone = timezone or settings.schedule.timezone

    def check():
        try:
            ScheduleSettings(cron=cron, timezone=timezone)
        except ValidationError as exc:
            raise ConfigError(
                "; ".join(f"--{e['loc'][0]}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            ) from None
        inputs = scheduled_inputs(settings, leads, activities, config)
        _preflight(inputs.config, inputs.leads, inputs.activities, workspace=settings.workspace)
        return inputs

    inputs = _run(as_json, check, print_json=False)  # errors as usual; the events below are the output
    progress.enable(None if as_json else console)

    def report(event: dict) -> None:
        if as_json:
            print(json.dumps(event, default=_json_default), flush=True)
        else:
            render.print_serve_event(event, cron, timezone)

    def one_run():  # the weekly result, in a DriftAlert state when drift calls for attention
        return scheduled_weekly(
            leads=inputs.leads,
            activities=inputs.activities,
            config=inputs.config,
            workspace=settings.workspace,
            capacity=capacity,
        )

    try:
        failures = serve_loop(one_run, cron=cron, timezone=timezone, max_runs=max_runs, report=report)
    except KeyboardInterrupt:
        console.print("Stopped.")
        return
    if failures:
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------------------------
# the registry: list the versions, roll the champion back


def models_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every registered model version, newest first: holdout metrics, aliases, tier cut-offs, data windows,
    the gate's decision and rollbacks.

    Reads only: a workspace with no MLflow store says there are no models and creates nothing.
    """
    settings = _start(workspace)
    from models.tracking import check_reachable, display_uri, list_versions

    def body() -> VersionList:
        check_reachable(settings.resolved_tracking_uri())  # a server that is down: one line, exit 2
        missing = _store_missing(settings)
        if missing:
            return VersionList.model_validate(
                {
                    "status": "ok",
                    "model": settings.model_name,
                    "versions": [],
                    "champion_history": [],
                    "hold": None,
                    "note": f"no MLflow store at {missing}: no models yet (train one with `leadscore weekly`)",
                }
            )
        return VersionList.model_validate(
            {
                **list_versions(settings.tracking("default")),
                "tracking_uri": display_uri(settings.resolved_tracking_uri()),
            }
        )

    _shown(as_json, body, render_registry.print_versions)


def rollback_command(
    to: Annotated[
        str | None, typer.Option(help="the version to make champion (e.g. 3)", show_default="the previous champion")
    ] = None,
    reason: Annotated[str, typer.Option(help="why (kept on the versions and in the champion history)")] = "",
    by: Annotated[str | None, typer.Option(help="who decides", show_default="the OS user")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="the dataset config the next runs use, to check the version can score it",
            show_default="the one saved with the current champion",
        ),
    ] = None,
    hold_days: Annotated[
        float | None,
        typer.Option(
            help="days the weekly gate keeps new versions as challengers (0: none)",
            min=0,
            show_default="14, or LEADSCORE_PROMOTION__ROLLBACK_HOLD_DAYS",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the `champion` alias back (default: to the previous champion), logging who and why.

    The next scoring run uses it. Refused, with nothing changed, for an unknown version, the current
    champion, a version the promotion policy refused, or one that cannot score the dataset. The version
    rolled back is tagged so that no automatic step brings it back, and for --hold-days the weekly gate
    keeps new versions as challengers.
    """
    settings = _start(workspace)
    from features.config import load_config
    from models.tracking import rollback

    def body() -> RollbackResult:
        _preflight(config, workspace=settings.workspace)
        return _locked(
            settings,
            "rollback",
            lambda: RollbackResult.model_validate(
                rollback(
                    _registry(settings),
                    to=to,
                    by=by if by is not None else _os_user(),
                    reason=reason,
                    config=load_config(config) if config else None,
                    hold_days=settings.promotion.rollback_hold_days if hold_days is None else hold_days,
                )
            ),
            create=False,
        )

    _shown(as_json, body, render_registry.print_rollback)
