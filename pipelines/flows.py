"""Prefect flows: thin wiring of features/, models/ and serving/. Flows do the I/O, nothing else."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State

from features.build import build_features
from features.config import DatasetConfig, load_config
from features.contract import LoadedExport, fingerprint_files, load_export
from features.limits import check_file_size, check_rows, reject_long_cells
from features.names import feature_words
from features.related import related_files
from models import backtest
from models import tracking as trk
from models.train import (
    InsufficientData,
    TrainingResult,
    default_as_of,
    labels_for,
    train_and_evaluate,
)
from pipelines import feature_cache
from pipelines.progress import step
from pipelines.results import (
    BacktestResult,
    FeaturesResult,
    ListResult,
    ProposeResult,
    ReportResult,
    ScoreResult,
    TrainResult,
    WeeklyResult,
)
from pipelines.retries import retry_options
from pipelines.settings import LimitSettings, RetrySettings, Settings
from serving import drift, planning, review
from serving.online import write_invocation_json
from serving.output import atomic_write, finish_interrupted, publish_plan, write_csv, write_json, write_parquet
from serving.persona import PERSONA_VERSION, persona_list
from serving.report import reference_tradeoffs
from serving.score import score_leads

# DataFrames flow between tasks in memory: hashing them for a cache key would only cost time
TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(**TASK)
def load_task(leads: Path, activities: Path | None, config: DatasetConfig) -> LoadedExport:
    return load_export(leads, activities, config)


@task(**TASK)
def features_task(export: LoadedExport, config: DatasetConfig) -> pd.DataFrame:
    return build_features(export.leads, export.activities, config=config)


@task(**TASK)
def train_task(features: pd.DataFrame, labels: pd.DataFrame, config: DatasetConfig, settings: Settings):
    return train_and_evaluate(features, labels, config=config, params=settings.train)


@task(**TASK)
def dask_train_task(
    features: pd.DataFrame, labels: pd.DataFrame, config: DatasetConfig, settings: Settings, address: str
):
    from models.distributed import train_on_cluster  # the optional Dask extra, only when asked for

    return train_on_cluster(features, labels, config=config, params=settings.train, address=address)


@task(**TASK)
def log_task(tracking: trk.Tracking, result: TrainingResult, settings: Settings, facts: dict) -> tuple[str, str]:
    return trk.log_training(
        tracking,
        result,
        params=settings.train.model_dump(),
        data_facts=facts,
        compile_predictor=settings.compile_predictor,
    )


@task(**TASK)
def register_task(tracking: trk.Tracking, model_uri: str, run_id: str, result: TrainingResult, dataset: str) -> str:
    # the run was logged just before: a version of it can only come from an earlier attempt of this task
    return trk.register(tracking, model_uri, run_id, result, by=trk.DEFAULT_SETTER, dataset=dataset, resume=True)


@task(**TASK)
def apply_decision_task(tracking: trk.Tracking, run_id: str, decision: trk.GateDecision) -> None:
    trk.apply_decision(tracking, run_id, decision)


@task(**TASK)
def log_report_task(tracking: trk.Tracking, run_id: str, pages: dict[str, str], version: str) -> list[str]:
    return trk.log_report(tracking, run_id, pages, version=version)


def _retrying(t, settings: Settings | None):
    """The task with the settings' retry policy: back-off retries on transient file and MLflow errors only."""
    return t.with_options(**retry_options(settings.retry if settings else RetrySettings()))


@task(**TASK)
def score_task(
    resolved: trk.ResolvedModel, features: pd.DataFrame, leads: pd.DataFrame, config: DatasetConfig, settings: Settings
) -> pd.DataFrame:
    return score_leads(
        resolved.scorer,
        features,
        leads,
        cutoffs=resolved.tier_cutoffs,
        model_version=resolved.version,
        pii_columns=config.names_with_role("pii"),
        reasons_limit=settings.reasons_limit,
    )


@task(**TASK)
def shape_list_task(
    scored: pd.DataFrame,
    previous: pd.DataFrame | None,
    export: LoadedExport,
    cutoffs: dict[str, float],
    settings: Settings,
    capacity: int | None,
) -> tuple[pd.DataFrame, dict]:
    """This week's working list, score trends against the previous list, and the seed KPIs."""
    facts: dict = {}
    if capacity:
        scored, facts["capacity"] = planning.mark_capacity(scored, capacity)
    if previous is not None:
        scored = planning.score_trend(scored, previous, points=settings.trend_points)
        facts["trend"] = planning.trend_counts(scored)
    kpis = planning.week_kpis(
        scored, cutoffs, minutes_per_lead=settings.minutes_per_lead, cost_per_hour=settings.cost_per_hour
    )
    kpis["response_by_tier"] = planning.response_rate_by_tier(scored, export.leads, export.activities)
    facts["kpis"] = kpis
    return scored, facts


@task(**TASK)
def drift_task(
    resolved: trk.ResolvedModel, features: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame | None, dict]:
    """The scored batch against the scoring model's training window: the table and the summary section."""
    return drift.check(
        resolved.scorer.extra,
        features,
        resolved.scorer.predict_proba(features),
        watch=settings.drift_watch,
        alert=settings.drift_alert,
        top_n=settings.drift_top_features,
    )


def _drift(
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


def read_previous(path: Path) -> pd.DataFrame | None:
    """The previous list (Parquet beside a CSV if there is one), read before it is replaced; None if none."""
    for candidate in (path.with_suffix(".parquet"), path.with_suffix(".csv")):
        if candidate.is_file():
            try:
                parquet = candidate.suffix == ".parquet"
                prev = pd.read_parquet(candidate) if parquet else pd.read_csv(candidate, encoding="utf-8-sig")
            except (OSError, ValueError):
                return None  # an unreadable old list only costs the trend column
            return prev if {"lead_id", "score", "tier"} <= set(prev.columns) else None
    return None


def _review_name(prefix: str, lang: str) -> str:
    return f"{prefix}_review.html" if lang == "en" else f"{prefix}_review_{lang}.html"


def write_pages(folder: Path, prefix: str, pages: dict[str, str]) -> dict[str, str]:
    """Write each language's review page atomically: <prefix>_review.html, <prefix>_review_es.html."""
    return {
        f"review_{lang}": str(
            atomic_write(folder / _review_name(prefix, lang), lambda tmp, h=html: tmp.write_text(h, encoding="utf-8"))
        )
        for lang, html in pages.items()
    }


def _kill_point(name: str) -> None:
    """Fault injection for the kill tests (tests/test_faults.py): SIGKILL this process at a named point.

    Inert unless LEADSCORE_KILL_AT names the point; a real SIGKILL, so nothing can tidy up after it.
    """
    if os.environ.get("LEADSCORE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _write_set(target: Path, prefix: str, scored, rejects, summary, pages, drift_table, named_in: Path) -> dict:
    """Write one complete list set into ``target``; the summary names the files as they will be in ``named_in``."""
    paths = {
        "csv": write_csv(scored, target / f"{prefix}.csv"),
        "parquet": write_parquet(scored, target / f"{prefix}.parquet"),
        "rejects": write_csv(rejects, target / f"{prefix}_rejects.csv"),
        **write_pages(target, prefix, pages or {}),
    }
    if drift_table is not None:
        paths["drift"] = write_csv(drift_table, target / f"{prefix}_drift.csv")
    files = {k: named_in / Path(v).name for k, v in paths.items()}
    write_json({**summary, "files": {k: str(v) for k, v in files.items()}}, target / f"{prefix}_summary.json")
    return files


@task(**TASK)
def publish_task(
    folder: Path,
    stem: str,
    scored: pd.DataFrame,
    rejects: pd.DataFrame,
    summary: dict,
    pages: dict[str, str] | None = None,
    drift_table: pd.DataFrame | None = None,
) -> dict:
    """Write the complete set to a dated archive folder, then replace the latest files from it, as a set.

    The archive set is written under ``archive/.<stamp>.partial`` and renamed when whole, so an archive
    folder is never half a set. The latest files are then copied from it one at a time (each atomically),
    under a plan marker: a process killed among them leaves the marker, and the next command on the
    folder completes the set (``finish_interrupted``) before doing anything else.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    archive = folder / "archive" / stamp
    n = 1
    while archive.exists():  # a retry within the same second
        archive, n = folder / "archive" / f"{stamp}-{n}", n + 1
    staging = archive.with_name(f".{archive.name}.partial")
    try:
        archived = _write_set(staging, "list", scored, rejects, summary, pages, drift_table, archive)
        _kill_point("publish:archive-written")
        os.replace(staging, archive)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _kill_point("publish:archived")
    latest = {k: folder / (stem + v.name[len("list") :]) for k, v in archived.items()}
    plan = {
        "archive": str(archive),
        "copies": [[str(archive / v.name), str(latest[k])] for k, v in archived.items()],
        # an earlier run's drift table beside this list would describe another batch
        "remove": [] if drift_table is not None else [str(folder / f"{stem}_drift.csv")],
        "summary_path": str(folder / f"{stem}_summary.json"),
        "summary": json.loads(json.dumps({**summary, "files": {k: str(v) for k, v in latest.items()}}, default=str)),
    }

    def after_copy(dst: Path) -> None:
        if dst.name == f"{stem}.parquet":  # the list is new, its rejects and summary still last week's
            _kill_point("publish:half-replaced")

    publish_plan(folder / f".{stem}.publishing.json", plan, after_each=after_copy)
    return {k: str(v) for k, v in latest.items()} | {"archive": str(archive)}


def repair_interrupted(folder: Path) -> None:
    """Finish what a killed run left in a list folder (see serving.output.finish_interrupted), and say so."""
    for line in finish_interrupted(folder):
        with step(f"Repaired after an interrupted run: {line}"):  # on the console, like every step
            print(f"Repaired after an interrupted run: {line}")  # and in the Prefect run's log


def _load(
    leads: Path, activities: Path | None, config: DatasetConfig, settings: Settings | None = None
) -> tuple[LoadedExport, pd.DataFrame]:
    export, features, _ = _load_cached(leads, activities, config, settings, use_cache=False)
    return export, features


def _load_cached(
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
        export = _retrying(load_task, settings)(leads, activities, config)
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


def _inputs_summary(export: LoadedExport, labels: pd.DataFrame | None = None) -> dict:
    rej = export.rejects["table"].value_counts() if len(export.rejects) else pd.Series(dtype=int)
    out = {
        "leads_in": export.rows_in["leads"],
        "activities_in": export.rows_in["activities"],
        "leads_rejected": int(rej.get("leads", 0)),
        "activities_rejected": int(rej.get("activities", 0)),
        "warnings": list(export.warnings),
    }
    related = {t: n for t, n in export.rows_in.items() if t not in ("leads", "activities")}
    if related:  # lookup and event tables of the config, by name: rows read and rejected
        out["related"] = {t: {"in": n, "rejected": int(rej.get(t, 0))} for t, n in related.items()}
    if labels is not None:
        out["leads_by_state"] = {k: int(v) for k, v in labels["state"].value_counts().items()}
    return out


def _train_and_register(export, features, labels, as_of, config, settings, inputs, dask: str | None = None) -> dict:
    tracking = settings.tracking(config.name)
    if dask:
        with step(f"Training with lightgbm.dask on {dask}, calibrating and evaluating against the baselines"):
            result = dask_train_task(features, labels, config, settings, dask)
    else:
        with step("Training the candidate models, calibrating and evaluating against the baselines"):
            result = train_task(features, labels, config, settings)
    facts = {
        "dataset": config.name,
        "config_fingerprint": config.fingerprint(),
        "as_of": str(as_of),
        "horizon_days": config.horizon_days,
        "input_file": Path(inputs[0]).name,
        "input_fingerprint": fingerprint_files(*inputs, *related_files(config, inputs[0])),
        "rows_leads": export.rows_in["leads"],
        "rows_activities": export.rows_in["activities"],
        "rejected_rows": len(export.rejects),
    }
    with step("Logging the run to MLflow"):
        run_id, model_uri = _retrying(log_task, settings)(tracking, result, settings, facts)
    with step("Registering and comparing with the champion"):
        version = _retrying(register_task, settings)(tracking, model_uri, run_id, result, config.name)
        decision = trk.decide(tracking, version, result, policy=settings.promotion)
    cutoffs = trk.cutoff_record(tracking, f"models:/{tracking.model_name}/{version}")["current"]
    notes = list(result.notes)
    if str(cutoffs.get("note", "")).startswith("carried over"):
        scores = (result.holdout_proba * 100).round(1)
        shares = {t: float((scores >= c).mean()) for t, c in cutoffs["cutoffs"].items()}
        notes.append(
            f"tier cut-offs {cutoffs['note'].split(':')[0]} (set by {cutoffs['by']} at {cutoffs['at']}): on this "
            f"run's newest MQLs they pass A {shares['A']:.0%}, A-B {shares['B']:.0%}, A-C {shares['C']:.0%} "
            "(the defaults pass 10%, 30%, 60%); check them with `leadscore thresholds propose`"
        )
    summary = {
        "windows": result.windows,
        "metrics": result.metrics,
        "model_vs_baselines": result.comparisons,
        "best_iteration": result.best_iteration,
        **({"model_choice": result.model_choice, "candidates": result.candidates} if result.candidates else {}),
        "notes": notes,
        **({"segments": result.segments} if result.segments else {}),
        "leak_suspects": result.audit.head(3)[["source", "suspicion", "evidence"]].round(2).to_dict(orient="records"),
        "tier_cutoffs": cutoffs["cutoffs"],
        "tier_cutoffs_set_by": cutoffs["by"],
        "gate": decision.as_dict(),
        "mlflow": {
            "tracking_uri": trk.display_uri(tracking.tracking_uri),  # the summary is written beside the list
            "experiment": tracking.experiment_name,
            "run_id": run_id,
            "model": f"models:/{tracking.model_name}/{version}",
        },
    }
    return {
        "tracking": tracking,
        "run_id": run_id,
        "decision": decision,
        "summary": summary,
        "result": result,
        "version": version,
        "cutoffs": cutoffs["cutoffs"],
    }


def _labels(export: LoadedExport, config: DatasetConfig, as_of: datetime | None) -> tuple[pd.DataFrame, pd.Timestamp]:
    stamp = pd.Timestamp(as_of) if as_of else default_as_of(export.leads, export.activities)
    return labels_for(export.leads, config, stamp), stamp


@flow(name="build-features", log_prints=True)
def build_features_flow(leads: Path, activities: Path | None, config_path: Path, out: Path) -> FeaturesResult:
    """Load, validate and write the point-in-time feature table (Parquet) and its rejects."""
    config = load_config(config_path)
    export, features = _load(leads, activities, config)
    labels, as_of = _labels(export, config, None)
    table = features.reset_index().merge(labels[["lead_id", "state", "label"]], on="lead_id")
    write_parquet(table, out)
    rejects = write_csv(export.rejects, Path(out).with_name(Path(out).stem + "_rejects.csv"))
    return FeaturesResult.model_validate(
        {
            "status": "ok",
            "inputs": _inputs_summary(export, labels),
            "features": str(out),
            "rejects": str(rejects),
            "columns": len(features.columns),
            "as_of": str(as_of),
        }
    )


@flow(name="serving-rows", log_prints=True)
def serving_rows_flow(leads: Path, activities: Path | None, config_path: Path, out: Path) -> FeaturesResult:
    """Load, validate and write every valid lead's feature rows as a request body for `mlflow models serve`.

    The rows are the model's input (no state, no label), built point in time as for the list; the lead
    ids ride in the body's index. Rejected rows go beside it, as for the feature table.
    """
    config = load_config(config_path)
    export, features = _load(leads, activities, config)
    write_invocation_json(features, out)
    rejects = write_csv(export.rejects, Path(out).with_name(Path(out).stem + "_rejects.csv"))
    return FeaturesResult.model_validate(
        {
            "status": "ok",
            "format": "json",
            "inputs": _inputs_summary(export),
            "features": str(out),
            "rejects": str(rejects),
            "columns": len(features.columns),
            "rows": len(features),
        }
    )


@flow(name="train", log_prints=True)
def train_flow(
    leads: Path,
    activities: Path | None,
    config_path: Path,
    settings: Settings,
    as_of: datetime | None = None,
    dask: str | None = None,
) -> TrainResult:
    """Train, evaluate, log and register a model; the gate decides whether it becomes champion.

    ``dask``: a Dask scheduler address, or ``local``, to train with lightgbm.dask (models/distributed.py).
    """
    t0 = time.perf_counter()
    repair_interrupted(settings.workspace / "lists")
    config = load_config(config_path)
    export, features, cached = _load_cached(leads, activities, config, settings)
    labels, stamp = _labels(export, config, as_of)
    t = _train_and_register(export, features, labels, stamp, config, settings, (leads, activities), dask)
    _retrying(apply_decision_task, settings)(t["tracking"], t["run_id"], t["decision"])
    return TrainResult.model_validate(
        {
            "status": "ok",
            "as_of": str(stamp),
            "inputs": _inputs_summary(export, labels),
            "features": cached,
            **t["summary"],
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
    )


def predictor_fact(scorer) -> str:
    """``compiled``, or ``lightgbm (why)``: the scores are identical, the fallback is slower."""
    return scorer.predictor if scorer.predictor == "compiled" else f"lightgbm ({scorer.predictor_reason})"


@flow(name="score", log_prints=True)
def score_flow(
    leads: Path,
    activities: Path | None,
    out: Path,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
    capacity: int | None = None,
) -> ScoreResult | State:
    """Score every valid lead in the file with a registered model (default: the champion).

    A list already at ``out`` is read first, for each lead's previous score and trend. The batch is
    compared with the model's training window (drift: ``<stem>_drift.csv`` beside the list, the summary,
    MLflow); a drift alert ends the run in the ``DriftAlert`` state (see ``with_drift_state``).
    """
    t0 = time.perf_counter()
    repair_interrupted(Path(out).parent)
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    with step("Loading the model"):
        resolved = trk.resolve(tracking, model_uri)
    # by default, features are built with the dataset config saved inside the model
    config = config or DatasetConfig.model_validate(resolved.scorer.extra["dataset_config"])
    export, features = _load(leads, activities, config, settings)
    with step(f"Scoring {len(features):,} leads"):
        scored = score_task(resolved, features, export.leads, config, settings)
    drift_table, drift_section = _drift(tracking, resolved, features, settings) if len(features) else (None, {})
    out = Path(out)
    previous = read_previous(out)
    scored, facts = shape_list_task(
        scored, previous, export, resolved.tier_cutoffs, settings, capacity or settings.capacity
    )
    summary = {
        "status": "ok",
        "inputs": _inputs_summary(export),
        "model": resolved.uri,
        "model_version": resolved.version,
        "tier_cutoffs": resolved.tier_cutoffs,
        "predictor": predictor_fact(resolved.scorer),
        "list": {"rows": len(scored), "tiers": scored["tier"].value_counts().sort_index().to_dict(), **facts},
        **({"drift": drift_section} if drift_section else {}),
    }
    with step("Writing the list"):
        files = _retrying(publish_task, settings)(
            out.parent, out.stem, scored, export.rejects, summary, drift_table=drift_table
        )
    result = {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
    return with_drift_state(ScoreResult.model_validate(result))


@flow(name="weekly", log_prints=True)
def weekly_flow(
    leads: Path,
    activities: Path | None,
    config_path: Path,
    settings: Settings,
    as_of: datetime | None = None,
    capacity: int | None = None,
) -> WeeklyResult | State:
    """Load → validate → features → train → gate → score the open leads → publish the list → summary.

    The registry's aliases move last, after the list is written, so a run that fails before publishing
    leaves the previous champion, and the previous list, as they were (a failure of the alias move itself
    leaves the new list beside the old champion; the run fails and says so). The open leads are compared
    with the training window of the model that scores them (drift); a drift alert ends the run in the
    ``DriftAlert`` state.
    """
    t0 = time.perf_counter()
    repair_interrupted(settings.workspace / "lists")
    config = load_config(config_path)
    export, features, cached = _load_cached(leads, activities, config, settings)
    labels, stamp = _labels(export, config, as_of)
    try:
        t = _train_and_register(export, features, labels, stamp, config, settings, (leads, activities))
    except InsufficientData as exc:
        return WeeklyResult.model_validate(
            _persona_week(
                export, features, labels, stamp, config, settings, str(exc), t0, capacity or settings.capacity, cached
            )
        )
    decision, tracking = t["decision"], t["tracking"]
    if not decision.promoted and decision.previous_champion is None:
        # no champion to fall back on (this run's model is clearly worse than the logistic regression): the
        # persona rule ranks the list, as with too little data; the version is kept as challenger
        why = f"no champion yet, and this run's model v{decision.version} was not promoted: {decision.reason}"
        week = _persona_week(
            export, features, labels, stamp, config, settings, why, t0, capacity or settings.capacity, cached,
            extra={k: v for k, v in t["summary"].items() if k != "tier_cutoffs"},
        )  # fmt: skip
        _retrying(apply_decision_task, settings)(tracking, t["run_id"], decision)
        return WeeklyResult.model_validate(week)
    uri = (
        f"models:/{tracking.model_name}/{decision.version}"
        if decision.promoted
        else f"models:/{tracking.model_name}@{trk.CHAMPION}"
    )
    resolved = trk.resolve(tracking, uri)
    open_ids = labels.loc[labels["state"] == "open", "lead_id"]
    summary = {
        "status": "ok",
        "as_of": str(stamp),
        "inputs": _inputs_summary(export, labels),
        "features": cached,
        **t["summary"],
        "scored_with": f"v{resolved.version}",
    }
    lists = settings.workspace / "lists"
    facts: dict = {}
    drift_table = None
    if open_ids.empty:
        # nothing new to work: keep last week's list rather than replace it with an empty one
        summary["list"] = {"rows": 0, "note": "no open leads in this export: the previous list was kept"}
    else:
        with step(f"Scoring {len(open_ids):,} open leads with v{resolved.version}"):
            scored = score_task(resolved, features.loc[open_ids], export.leads, config, settings)
        drift_table, summary["drift"] = _drift(tracking, resolved, features.loc[open_ids], settings, t["run_id"])
        previous = read_previous(lists / "latest.parquet")
        scored, facts = shape_list_task(
            scored, previous, export, resolved.tier_cutoffs, settings, capacity or settings.capacity
        )
        summary["list"] = {
            "rows": len(scored),
            "tiers": scored["tier"].value_counts().sort_index().to_dict(),
            "tier_cutoffs": resolved.tier_cutoffs,
            "predictor": predictor_fact(resolved.scorer),
            **facts,
        }
    with step("Rendering the threshold review page (English, Spanish)"):
        pages = review_task(t, config, labels, settings, resolved, facts.get("kpis"))
        _retrying(log_report_task, settings)(tracking, t["run_id"], pages, t["version"])
    if open_ids.empty:
        files = {}
        summary["review_pages"] = write_pages(lists, "latest", pages)
    else:
        with step("Publishing the list and the review page"):
            files = _retrying(publish_task, settings)(
                lists, "latest", scored, export.rejects, summary, pages, drift_table
            )
    _kill_point("weekly:before-alias")
    _retrying(apply_decision_task, settings)(tracking, t["run_id"], decision)
    result = {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
    return with_drift_state(WeeklyResult.model_validate(result))


@task(**TASK)
def review_task(
    t: dict, config: DatasetConfig, labels: pd.DataFrame, settings: Settings, resolved, kpis: dict | None
) -> dict[str, str]:
    """The review page of this run's model, in English and Spanish."""
    decision = t["decision"]
    notes = []
    if not decision.promoted:
        notes.append(
            f"This run's model v{decision.version} was kept as challenger ({decision.reason}); this week's list "
            f"is scored with the champion v{resolved.version}."
        )
    return review.render_pages(
        review.from_training(t["result"], config, labels),
        tier_cutoffs=t["cutoffs"],
        config=config,
        weekly_mql_volume=settings.weekly_mql_volume,
        model_label=f"{settings.model_name} v{t['version']}",
        notes=notes,
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
        currency=settings.currency,
        this_week=kpis,
    )


def _model_window(
    leads: Path, activities: Path | None, settings: Settings, model_uri: str | None, config_path: Path | None
) -> tuple[trk.ResolvedModel, DatasetConfig, review.ReviewInputs]:
    """A registered model, its dataset config and its validation window rebuilt from the export."""
    config = load_config(config_path) if config_path else None
    tracking = settings.tracking(config.name if config else "default")
    with step("Loading the model"):
        resolved = trk.resolve(tracking, model_uri)
    config = config or DatasetConfig.model_validate(resolved.scorer.extra["dataset_config"])
    export, features = _load(leads, activities, config, settings)
    labels, _ = _labels(export, config, None)
    with step("Scoring the validation window"):
        inputs = review.for_model(resolved.scorer, features, labels, config=config, params=settings.train)
    return resolved, config, inputs


@flow(name="report", log_prints=True)
def report_flow(
    leads: Path,
    activities: Path | None,
    out: Path,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
    lang: str = "en",
) -> ReportResult:
    """The threshold review page of a registered model (default: the champion), on its validation window."""
    resolved, config, inputs = _model_window(leads, activities, settings, model_uri, config_path)
    volume, source = review.volume_for(inputs.window, setting=settings.weekly_mql_volume)
    pages = review.render_pages(
        inputs,
        tier_cutoffs=resolved.tier_cutoffs,
        config=config,
        weekly_mql_volume=settings.weekly_mql_volume,
        model_label=f"{settings.model_name} v{resolved.version}",
        langs=(lang,),
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
        currency=settings.currency,
    )
    path = atomic_write(out, lambda tmp: tmp.write_text(pages[lang], encoding="utf-8"))
    refs = reference_tradeoffs(
        inputs.window,
        resolved.tier_cutoffs,
        weekly_mql_volume=volume,
        minutes_per_lead=settings.minutes_per_lead,
        cost_per_hour=settings.cost_per_hour,
    )
    return ReportResult.model_validate(
        {
            "status": "ok",
            "page": str(path),
            "lang": lang,
            "model": resolved.uri,
            "model_version": resolved.version,
            "tier_cutoffs": resolved.tier_cutoffs,
            "window": {"leads": len(inputs.window), "sqls": int(inputs.window["label"].sum())},
            "weekly_mql_volume": round(volume, 1),
            "weekly_mql_volume_source": source,
            "at_current_cutoffs": _tradeoff_records(refs),
            "auc": inputs.metrics["model"]["roc_auc"],
        }
    )


def _tradeoff_records(refs: pd.DataFrame) -> dict:
    return {
        rule: {k: (None if pd.isna(v) else round(float(v), 4)) for k, v in row.items()} for rule, row in refs.iterrows()
    }


@flow(name="propose-cutoffs", log_prints=True)
def propose_flow(
    leads: Path,
    activities: Path | None,
    capacity: float,
    settings: Settings,
    model_uri: str | None = None,
    config_path: Path | None = None,
) -> ProposeResult:
    """A-D cut-offs that fill ``capacity`` leads a week with the best scores, and what they mean."""
    resolved, _, inputs = _model_window(leads, activities, settings, model_uri, config_path)
    volume, source = review.volume_for(inputs.window, setting=settings.weekly_mql_volume)
    try:
        proposed = planning.propose_cutoffs(inputs.window, weekly_mql_volume=volume, capacity=capacity)
    except ValueError as exc:
        raise trk.CutoffError(str(exc)) from None
    kw = {
        "weekly_mql_volume": volume,
        "minutes_per_lead": settings.minutes_per_lead,
        "cost_per_hour": settings.cost_per_hour,
    }
    return ProposeResult.model_validate(
        {
            "status": "ok",
            "model": resolved.uri,
            "model_version": resolved.version,
            "capacity": capacity,
            "weekly_mql_volume": round(volume, 1),
            "weekly_mql_volume_source": source,
            "window": {"leads": len(inputs.window), "sqls": int(inputs.window["label"].sum())},
            "current": resolved.tier_cutoffs,
            "proposed": proposed,
            "at_proposed": _tradeoff_records(reference_tradeoffs(inputs.window, proposed, **kw)),
            "at_current": _tradeoff_records(reference_tradeoffs(inputs.window, resolved.tier_cutoffs, **kw)),
            "rule": (
                "C: the lowest cut-off passing at most the capacity per week (weekly MQL volume x share of the "
                "validation window at or above it); B and A: the same for 60% and 25% of the capacity"
            ),
        }
    )


@task(**TASK)
def replay_week_task(
    features: pd.DataFrame,
    leads: pd.DataFrame,
    outcomes: pd.DataFrame,
    week: backtest.Week,
    config: DatasetConfig,
    settings: Settings,
    capacity: int,
) -> backtest.WeekReplay:
    return backtest.replay_week(
        features, leads, outcomes, week, config=config, params=settings.train, capacity=capacity
    )


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
    export, features, _ = _load_cached(leads, activities, config, settings)
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
        "inputs": _inputs_summary(export),
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


def _persona_week(
    export,
    features,
    labels,
    stamp,
    config,
    settings,
    why: str,
    t0: float,
    capacity=None,
    cached: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """Too little history to train: the persona rule ranks this week's list, and everything says so.

    The capacity still marks this week's working list, but no SQLs are "expected": the persona share is
    not a probability. Last week's review page, about a model that did not score this list, leaves
    lists/ (the archive keeps it).
    """
    open_ids = labels.loc[labels["state"] == "open", "lead_id"]
    summary = {
        "status": "persona_rule",
        "as_of": str(stamp),
        "inputs": _inputs_summary(export, labels),
        "training": why,
        "scored_with": PERSONA_VERSION,
        "features": cached or {"cache": "off"},
        **(extra or {}),  # a trained model the gate did not promote: its figures and the gate's decision
    }
    if open_ids.empty:
        summary["list"] = {"rows": 0, "note": "no open leads in this export: the previous list was kept"}
        return {**summary, "files": {}, "elapsed_s": round(time.perf_counter() - t0, 1)}
    with step(f"Ranking {len(open_ids):,} open leads by the persona rule"):
        scored = persona_list(
            features.loc[open_ids],
            export.leads,
            config.persona,
            pii_columns=config.names_with_role("pii"),
            words=feature_words(config),
        )
    summary["list"] = {"rows": len(scored), "tiers": scored["tier"].value_counts().sort_index().to_dict()}
    if capacity:
        scored, facts = planning.mark_capacity(scored, capacity)
        summary["list"]["capacity"] = {
            "capacity": facts["capacity"],
            "leads": facts["leads"],
            "note": "ranked by the persona rule: no expected SQLs (not probabilities)",
        }
    folder = settings.workspace / "lists"
    with step("Publishing the list"):
        files = _retrying(publish_task, settings)(folder, "latest", scored, export.rejects, summary)
    for lang in ("en", "es"):
        (folder / _review_name("latest", lang)).unlink(missing_ok=True)
    return {**summary, "files": files, "elapsed_s": round(time.perf_counter() - t0, 1)}
