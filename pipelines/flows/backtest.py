"""The back-test flow: replay past weeks as if the weekly run had trained each Monday."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow

from features.config import load_config
from features.files import write_csv, write_json
from models import backtest
from models.train import default_as_of, labels_for
from pipelines.flows.common import load_cached
from pipelines.flows.tasks import replay_week_task
from pipelines.progress import step
from pipelines.results import BacktestResult
from pipelines.settings import Settings
from serving.summary import inputs_summary


@flow(name="backtest", log_prints=True)
def backtest_flow(
    leads: Path,
    activities: Path | None,
    config_path: Path,
    settings: Settings,
    weeks: int = 12,
    capacity: int | None = None,
) -> BacktestResult:
    """Replay the last ``weeks`` mature weeks as if the weekly run had trained each Monday; compare with what happened.

    Features are built once for the whole export (each lead's row is as of its MQL moment). Nothing is
    registered and no list is touched: the per-week figures go to <workspace>/backtest/backtest_<UTC time>.csv,
    with the summary beside it (.json).
    """
    t0 = time.perf_counter()
    config = load_config(config_path)
    backtest.check_replayable(config)
    # the same feature table as weekly's (same files, config and code): reused from the cache when there
    export, features, _ = load_cached(leads, activities, config, settings)
    end = default_as_of(export.leads, export.activities)
    outcomes = labels_for(export.leads, config, end)
    plan = backtest.plan_weeks(
        end, export.leads["mql_at"].min(), weeks=weeks, horizon_days=config.horizon_days, timezone=config.timezone
    )
    volumes = [int(backtest.week_mask(outcomes["mql_at"], w).sum()) for w in plan.replayed]
    cap, cap_source = backtest.capacity_for(volumes, capacity or settings.capacity)
    replays = []
    for i, (week, n) in enumerate(zip(plan.replayed, volumes, strict=True), 1):
        with step(f"Week {i}/{len(plan.replayed)} (Monday {week.label}): training as of then, ranking {n:,} MQLs"):
            replays.append(replay_week_task(features, export.leads, outcomes, week, config, settings, cap))
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    table = backtest.weeks_frame(replays)
    summary = {
        "status": "ok",
        "export_end": str(end),
        "horizon_days": config.horizon_days,
        "inputs": inputs_summary(export),
        "weeks_asked": weeks,
        "capacity": {"leads": cap, "source": cap_source},
        "weeks": backtest.week_records(replays),
        "total": backtest.summarise(replays, cap),
        "not_mature": [w.label for w in plan.not_mature],
        "not_mature_note": (
            f"their MQLs' {config.horizon_days}-day horizon runs past the export's end ({end:%Y-%m-%d})"
        ),
    }
    folder = settings.workspace / "backtest"
    with step("Writing the back-test table"):
        csv = write_csv(table, folder / f"backtest_{stamp}.csv")
        summary["files"] = {"csv": str(csv), "json": str(folder / f"backtest_{stamp}.json")}
        write_json(summary, folder / f"backtest_{stamp}.json")
    return BacktestResult.model_validate({**summary, "elapsed_s": round(time.perf_counter() - t0, 1)})
