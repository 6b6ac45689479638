"""The weekly job on a schedule: the entry flow of the `prefect.yaml` deployment, and `leadscore serve`.

Both run the same flow, ``scheduled_weekly``, on the same cron and time zone (LEADSCORE_SCHEDULE__CRON,
LEADSCORE_SCHEDULE__TIMEZONE; prefect.yaml repeats the defaults, and a test keeps the two equal):
- with a Prefect server, `prefect deploy` registers it and a worker runs it when the server says so;
- without one, `leadscore serve` keeps the schedule in one process. Prefect's scheduler is a service of
  its server, which does not run in the temporary local API a flow gets without PREFECT_API_URL (there
  `flow.serve` warns "Cannot schedule flows on an ephemeral server" and never runs anything). So serve
  computes the due times itself, with the code Prefect's server uses for a cron schedule, sleeps until
  the next one and runs the flow.

This module imports only Prefect at the top, so `prefect deploy` loads the entry point in a moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow

from pipelines.defaults import DEFAULT_CONFIG

MAX_SLEEP_S = 60.0  # wake up at least once a minute: a suspended machine or a clock change is noticed


@dataclass(frozen=True)
class Inputs:
    leads: Path
    activities: Path | None
    config: Path


def scheduled_inputs(
    settings, leads: Path | str | None, activities: Path | str | None, config: Path | str | None
) -> Inputs:
    """The run's files: the parameters given, else LEADSCORE_SCHEDULE__LEADS / __ACTIVITIES / __CONFIG."""
    from features.contract import ContractError

    leads = leads or settings.schedule.leads
    if not leads:
        raise ContractError(
            "no leads export to score: pass --leads (the deployment's `leads` parameter) or set "
            "LEADSCORE_SCHEDULE__LEADS"
        )
    activities = activities or settings.schedule.activities
    return Inputs(
        Path(leads),
        Path(activities) if activities else None,
        Path(config or settings.schedule.config or DEFAULT_CONFIG),
    )


@flow(name="weekly-scheduled", log_prints=True)
def scheduled_weekly(
    leads: Path | None = None,
    activities: Path | None = None,
    config: Path | None = None,
    workspace: Path | None = None,
    capacity: int | None = None,
):
    """The weekly job with plain parameters, for the deployment and `leadscore serve`.

    The settings come from the environment of the process that runs it (LEADSCORE_*: the worker's, or
    serve's); a parameter left empty takes its setting (LEADSCORE_SCHEDULE__LEADS, __ACTIVITIES,
    __CONFIG, LEADSCORE_WORKSPACE, LEADSCORE_CAPACITY).
    """
    from pipelines.flows import weekly_flow, with_drift_state
    from pipelines.lock import workspace_lock
    from pipelines.settings import Settings

    settings = Settings()
    if workspace:
        settings = settings.model_copy(update={"workspace": Path(workspace)})
    inputs = scheduled_inputs(settings, leads, activities, config)
    # the weekly subflow's DriftAlert state is passed on, so the deployment's own run says so too
    # one writer per workspace: a scheduled run waits for a `leadscore weekly` started by hand, and the reverse
    with workspace_lock(
        settings.workspace, "serve (scheduled weekly)", timeout=settings.lock_timeout_seconds, on_wait=print
    ):
        summary = weekly_flow(inputs.leads, inputs.activities, inputs.config, settings, None, capacity)
    return with_drift_state(summary)


def next_run(cron: str, timezone: str, after: datetime) -> datetime:
    """The first moment at or after ``after`` that ``cron`` matches, read in ``timezone``.

    Prefect's server computes a deployment's runs with the same class, so serve and a deployment agree,
    daylight saving time included (06:00 stays 06:00 local time across the change).
    """
    from prefect.server.schemas.schedules import CronSchedule

    dates = asyncio.run(CronSchedule(cron=cron, timezone=timezone).get_dates(n=1, start=after))
    return datetime.fromtimestamp(dates[0].timestamp(), tz=ZoneInfo(timezone))


def sleep_until(due: datetime, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep until the wall clock reaches ``due``, in steps, so a suspend or a clock change is caught."""
    while (left := (due - datetime.now(UTC)).total_seconds()) > 0:
        sleep(min(left, MAX_SLEEP_S))


def serve(
    run: Callable[[], dict],
    *,
    cron: str,
    timezone: str,
    max_runs: int | None = None,
    report: Callable[[dict], None] = print,
) -> int:
    """Run ``run`` each time the cron is due, until interrupted or after ``max_runs`` runs.

    One run at a time: a run that outlasts the next due time delays it, and a time missed while the
    process was down is not made up (as cron does). A failed run is reported and the schedule goes on.
    Returns the number of failed runs.
    """
    failures = runs = 0
    after = datetime.now(UTC)
    while max_runs is None or runs < max_runs:
        due = next_run(cron, timezone, after)
        report({"event": "waiting", "next_run": due.isoformat()})
        sleep_until(due)
        started = datetime.now(UTC)
        event = {"event": "run", "scheduled_for": due.isoformat(), "started_at": started.isoformat()}
        try:
            summary = run()
            event |= {"status": summary.get("status", "ok"), "summary": summary}
            drift_level = (summary.get("drift") or {}).get("level")
            if drift_level in ("watch", "alert"):  # on the event itself, where a log watcher looks
                event["drift"] = drift_level
        except Exception as exc:  # noqa: BLE001 - a bad week must not end the schedule: say why, go on
            failures += 1
            message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
            event |= {"status": "error", "error": message, "kind": type(exc).__name__}
        event["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
        report(event)
        runs += 1
        after = max(datetime.now(UTC), due + timedelta(seconds=1))
    return failures
