"""The impact flow: every archived list against the outcomes in today's export; its page, JSON and MLflow series."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow, task

from features.config import load_config
from features.contract import LoadedExport
from features.files import atomic_write, write_json
from models import tracking as trk
from models.train import default_as_of
from pipelines.flows.tasks import TASK, load_task, retrying
from pipelines.progress import step
from pipelines.results_impact import ImpactResult
from pipelines.settings import Settings
from serving import impact
from serving.review.impact_section import render_impact
from serving.vocabulary import LANGS

IMPACT_STEM = "latest_impact"


@task(**TASK)
def read_archive_task(archive: Path) -> list[impact.PastList]:
    return impact.read_archive(archive)


@task(**TASK)
def impact_task(lists: list[impact.PastList], export: LoadedExport, config, as_of: pd.Timestamp, settings: Settings):
    return impact.impact_report(
        lists,
        export.leads,
        export.activities,
        config=config,
        as_of=as_of,
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
    )


@task(**TASK)
def log_impact_task(tracking: trk.Tracking, report: dict) -> dict:
    return trk.log_impact(tracking, report)


def page_name(lang: str) -> str:
    """latest_impact.html in English, latest_impact_<lang>.html otherwise (as the review pages are named)."""
    return f"{IMPACT_STEM}.html" if lang == "en" else f"{IMPACT_STEM}_{lang}.html"


@flow(name="impact", log_prints=True)
def impact_flow(
    leads: Path, activities: Path | None, config_path: Path, settings: Settings, as_of: datetime | None = None
) -> ImpactResult:
    """Realised results of every list under <workspace>/lists/archive, with the outcomes known at ``as_of``.

    Writes lists/latest_impact.html (Spanish: latest_impact_es.html) and latest_impact.json, which the next
    review page shows as a section, and logs the weeks to MLflow as a series (models.tracking.impact).
    """
    t0 = time.perf_counter()
    config = load_config(config_path)
    folder = settings.workspace / "lists"
    with step("Reading the archived lists"):
        lists = read_archive_task(folder / "archive")
    with step("Loading and validating the export"):
        export = retrying(load_task, settings)(leads, activities, config)
    end = default_as_of(export.leads, export.activities)
    today = pd.Timestamp(as_of) if as_of else end
    if today.tzinfo is not None:  # the export's moments are naive UTC
        today = today.tz_convert("UTC").tz_localize(None)
    if today > end:  # the export knows nothing after its last moment: every lead would read as "no SQL"
        raise impact.ImpactError(
            f"--as-of {today}: after this export's last moment ({end}), whose outcomes it cannot know; "
            "pass an --as-of at or before it, or leave --as-of out"
        )
    with step(f"Measuring {len(lists)} lists against the outcomes known on {today:%Y-%m-%d}"):
        report = impact_task(lists, export, config, today, settings)
    with step("Writing the impact page (English, Spanish)"):
        files = {"json": str(write_json(report, folder / impact.LATEST_JSON))}
        for lang in LANGS:
            html = render_impact(report, lang=lang, currency=settings.currency)
            path = atomic_write(folder / page_name(lang), lambda tmp, h=html: tmp.write_text(h, encoding="utf-8"))
            files[f"page_{lang}"] = str(path)
    with step("Logging the weeks to MLflow"):
        logged = retrying(log_impact_task, settings)(settings.tracking(config.name), report)
    result = {"status": "ok", **report, "files": files, "mlflow": logged}
    return ImpactResult.model_validate({**result, "elapsed_s": round(time.perf_counter() - t0, 1)})
