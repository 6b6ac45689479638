"""What several flows share: loading the export (with the feature cache), labels, drift, the DriftAlert state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect.states import Completed, State

from features.config import DatasetConfig
from features.contract import LoadedExport
from features.limits import check_file_size, check_rows, reject_long_cells
from features.related import related_files
from models import tracking as trk
from models.train import default_as_of, labels_for
from pipelines import feature_cache
from pipelines.flows.tasks import drift_task, features_task, load_task, resolve_task, retrying
from pipelines.progress import step
from pipelines.results import ListResult
from pipelines.settings import LimitSettings, Settings
from serving.output import finish_interrupted

DRIFT_ALERT_STATE = "DriftAlert"


def with_drift_state(summary: ListResult) -> ListResult | State:
    """A flow's return value: the summary, in a named state when drift calls for attention.

    An alert ends the run in a Completed state named ``DriftAlert`` whose message says what drifted: the
    list was written, so the run did not fail, but the Prefect UI shows "DriftAlert" instead of
    "Completed", and the server emits ``prefect.flow-run.DriftAlert``, which an automation can match
    (notify, open a ticket). A watch keeps the name Completed and carries the message. Either way the
    caller of the flow still gets the summary (the state's data).
    """
    section = summary.get("drift") or {}  # a typed result reads as the summary document it is
    if section.get("level") == "alert":
        return Completed(name=DRIFT_ALERT_STATE, message=section["message"], data=summary)
    if section.get("level") == "watch":
        return Completed(message=section["message"], data=summary)
    return summary


def repair_interrupted(folder: Path) -> None:
    """Finish what a killed run left in a list folder (see serving.output.finish_interrupted), and say so."""
    for line in finish_interrupted(folder):
        with step(f"Repaired after an interrupted run: {line}"):  # on the console, like every step
            print(f"Repaired after an interrupted run: {line}")  # and in the Prefect run's log


def resolve_model(tracking: trk.Tracking, uri: str | None, config: DatasetConfig | None):
    """A registered model (default: the champion) and the dataset config to build its features with."""
    with step("Loading the model"):
        resolved = resolve_task(tracking, uri)
    # by default, features are built with the dataset config saved inside the model
    config = config or resolved.scorer.dataset_config
    if config is None:
        raise trk.ModelLoadError(f"{resolved.uri}: the model carries no dataset config; pass --config")
    return resolved, config


def drift_of(
    tracking: trk.Tracking, resolved: trk.ResolvedModel, features: pd.DataFrame, settings: Settings, run_id=None
) -> tuple[pd.DataFrame | None, dict]:
    """Drift of the scored batch, logged to MLflow's drift series (and to this week's run, if given)."""
    with step("Comparing the batch with the model's training window (drift)"):
        table, section = drift_task(resolved, features, settings)
    if table is not None:
        section["mlflow"] = trk.log_drift(
            tracking, table, section, version=resolved.version, run_id=run_id, model_name=resolved.name
        )
    return table, section


def load(
    leads: Path, activities: Path | None, config: DatasetConfig, settings: Settings | None = None
) -> tuple[LoadedExport, pd.DataFrame]:
    """The validated export and its features, built afresh (no cache)."""
    export, features, _ = load_cached(leads, activities, config, settings, use_cache=False)
    return export, features


def load_cached(
    leads: Path, activities: Path | None, config: DatasetConfig, settings: Settings | None, *, use_cache: bool = True
) -> tuple[LoadedExport, pd.DataFrame, dict]:
    """Load and validate the export (retried on transient errors), and its features, from the cache if there.

    Returns the export, the feature table and how the table was obtained: {"cache": "reused" | "built" |
    "off", "key": ...}. A cache that cannot be written costs the next run a rebuild, not this run. The
    training flows (weekly, train) and the back-test use the cache: a schedule or a retry repeats them.
    """
    limits = settings.limits if settings is not None else LimitSettings()
    with step("Loading and validating the export"):
        for path in (leads, activities, *related_files(config, leads)):
            check_file_size(path, limits.max_file_bytes)
        export = retrying(load_task, settings)(leads, activities, config)
        tables = [t.name for t in (*config.lookups, *config.events)]
        paths = {
            "leads": leads,
            "activities": activities,
            **dict(zip(tables, related_files(config, leads), strict=True)),
        }
        check_rows(export, limits.max_rows, paths)
        export = reject_long_cells(export, limits.max_cell_chars)
    if settings is None or not use_cache or not settings.cache.enabled:
        with step("Building point-in-time features"):
            return export, features_task(export, config), {"cache": "off"}
    folder = feature_cache.folder_of(settings.workspace)
    key = feature_cache.cache_key(leads, activities, config)
    cached = feature_cache.read(folder, key)
    if cached is not None:
        with step("Point-in-time features: reused from the cache"):
            return export, cached, {"cache": "reused", "key": key}
    with step("Building point-in-time features"):
        features = features_task(export, config)
    info = {"cache": "built", "key": key}
    try:
        feature_cache.write(folder, key, features, keep=settings.cache.keep)
    except OSError as exc:
        info["note"] = f"not cached: {exc}"
    return export, features, info


def labels_at(export: LoadedExport, config: DatasetConfig, as_of: datetime | None) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Each lead's state and label at the as-of moment (default: the export's latest timestamp)."""
    stamp = pd.Timestamp(as_of) if as_of else default_as_of(export.leads, export.activities)
    return labels_for(export.leads, config, stamp), stamp
