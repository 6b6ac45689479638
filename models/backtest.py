"""The weekly back-test: replay past Mondays as if the pipeline had run on each, and compare with what happened.

For each Monday, a model is trained with the weekly run's procedure on the labels known at that moment
(``labels_for(..., as_of=monday)``: later MQLs and later SQL dates are unknown), and it ranks the MQLs
that arrived in the seven days after it, each as it looked at its own MQL moment. Their outcomes, as
known at the export's end, say how the model and the persona rule would have done. Only weeks whose
every MQL has passed its horizon by the export's end are replayed: a younger week cannot be judged yet.
Pure functions; the flow in ``pipelines/flows/backtest.py`` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.config import ConfigError, DatasetConfig
from models.baselines import persona_score
from models.leaks import LeakSuspected
from models.metrics import fast_auc
from models.train import InsufficientData, TrainingDataError, TrainParams, labels_for, train_and_evaluate

CAPACITY_SHARE = 0.2  # without a capacity: 20% of the median weekly MQL volume of the replayed weeks
STATUS_TEXT = {"model": "", "persona_rule": "persona only", "leak_alarm": "leak alarm", "no_mqls": "no MQLs"}


@dataclass(frozen=True)
class Week:
    """One replayed week: the Monday the pipeline runs on and the next one, 00:00 in the dataset's time zone."""

    start: pd.Timestamp  # naive UTC, like every timestamp in the canonical tables
    end: pd.Timestamp
    label: str  # the Monday's local date


@dataclass(frozen=True)
class WeekPlan:
    replayed: list[Week]  # oldest first
    not_mature: list[Week]  # more recent weeks whose outcomes are not all known at the export's end
    export_end: pd.Timestamp


@dataclass
class WeekReplay:
    week: Week
    status: str  # model | persona_rule (too little history) | leak_alarm (the run would have stopped) | no_mqls
    note: str
    training: dict  # what the Monday's run trained on, and the AUC it would have reported
    scores: pd.DataFrame  # the week's MQLs (index lead_id): label (what happened), model (NaN without one), persona
    figures: dict = field(default_factory=dict)


def check_replayable(config: DatasetConfig) -> None:
    """The back-test replays SQL dates: an outcome read from a status or flag column has no past to replay."""
    if config.outcome.kind != "sql_date" or config.time != "timestamps":
        raise ConfigError(
            f"the back-test replays past weeks from MQL and SQL dates; dataset '{config.name}' has outcome kind "
            f"'{config.outcome.kind}' and time '{config.time}', so what was known on a past Monday cannot be "
            "rebuilt (it needs outcome kind 'sql_date' and time = 'timestamps')"
        )


def _to_utc(local: pd.Timestamp, timezone: str) -> pd.Timestamp:
    if timezone == "UTC":
        return local
    zoned = local.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return zoned.tz_convert("UTC").tz_localize(None)


def plan_weeks(
    export_end: pd.Timestamp, first_mql: pd.Timestamp, *, weeks: int, horizon_days: int, timezone: str = "UTC"
) -> WeekPlan:
    """The last ``weeks`` Monday-to-Monday weeks whose MQLs all have a known outcome at ``export_end``.

    A week is mature when its last possible MQL has had its whole horizon by the export's end (next Monday
    + horizon <= export end). The more recent weeks are listed as not mature. Weeks that end before the
    first MQL are not replayed, so a short export gives fewer weeks than asked for; one with no mature
    week at all is refused (TrainingDataError).
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    horizon = pd.Timedelta(days=horizon_days)
    local_end = export_end if timezone == "UTC" else export_end.tz_localize("UTC").tz_convert(timezone)
    local_end = local_end.tz_localize(None)
    monday = local_end.normalize() - pd.Timedelta(days=local_end.weekday())  # wall-clock Monday 00:00
    replayed: list[Week] = []
    not_mature: list[Week] = []
    k = 0
    while len(replayed) < weeks:
        local = monday - pd.Timedelta(days=7 * k)
        week = Week(_to_utc(local, timezone), _to_utc(local + pd.Timedelta(days=7), timezone), f"{local:%Y-%m-%d}")
        if week.end <= first_mql:
            break
        (replayed if week.end + horizon <= export_end else not_mature).append(week)
        k += 1
    if not replayed:
        raise TrainingDataError(
            f"no week of this export can be judged yet: an MQL's outcome is known {horizon_days} days after it, "
            f"and the export runs from {first_mql:%Y-%m-%d} to {export_end:%Y-%m-%d}"
        )
    return WeekPlan(replayed[::-1], not_mature[::-1], export_end)


def week_mask(mql_at: pd.Series, week: Week) -> np.ndarray:
    """The leads that became MQLs during the week (its Monday included, the next one not)."""
    return ((mql_at >= week.start) & (mql_at < week.end)).to_numpy()


def capacity_for(weekly_mqls: list[int], capacity: int | None) -> tuple[int, str]:
    """The leads an SDR team works a week in the replay, and where the figure comes from."""
    if capacity is not None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 lead, got {capacity}")
        return int(capacity), "given"
    median = float(np.median(weekly_mqls)) if weekly_mqls else 0.0
    cap = max(1, round(CAPACITY_SHARE * median))
    return cap, f"{CAPACITY_SHARE:.0%} of the median weekly MQL volume ({median:g})"


def sqls_in_top(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """SQLs among the ``k`` best-scored leads; leads tied at the boundary count at their group's SQL rate.

    The persona rule gives many leads the same score: which of them an SDR works first is chance, so it
    is credited with what a random pick among the tied leads would find, neither flattered nor punished
    by row order. Without ties this is an exact count.
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if k >= len(y):
        return float(y.sum())
    if k <= 0:
        return 0.0
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    return float(y[above].sum() + (k - above.sum()) * y[tied].mean())


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    if len(y) == 0 or y.min() == y.max() or np.isnan(score).any():
        return None  # a week with no SQL (or only SQLs) has no ranking to judge
    return round(fast_auc(y, score), 4)


def week_figures(scores: pd.DataFrame, capacity: int) -> dict:
    """A week's figures: volume, each scorer's AUC and SQLs in the top ``capacity``, and the model's calibration."""
    y = scores["label"].to_numpy(dtype=int)
    n, sqls = len(y), int(y.sum())
    model = scores["model"].to_numpy(dtype=float)
    persona = scores["persona"].to_numpy(dtype=float)
    has_model = n > 0 and not np.isnan(model).any()
    worked = min(capacity, n)
    top = np.argsort(-model, kind="stable")[:worked] if has_model else np.array([], dtype=int)
    return {
        "mqls": n,
        "sqls": sqls,
        "sql_rate": round(sqls / n, 4) if n else None,
        "model_auc": _auc(y, model) if has_model else None,
        "persona_auc": _auc(y, persona),
        "capacity": capacity,
        "model_sqls_in_capacity": round(sqls_in_top(y, model, capacity), 2) if has_model else None,
        "persona_sqls_in_capacity": round(sqls_in_top(y, persona, capacity), 2),
        "persona_passed": int((persona == 1.0).sum()),  # the leads meeting every condition: today's manual list
        "persona_passed_sqls": int(y[persona == 1.0].sum()),
        "random_sqls_in_capacity": round(worked * sqls / n, 2) if n else 0.0,
        "best_sqls_in_capacity": min(capacity, sqls),
        "model_expected_sqls": round(float(model.sum()), 2) if has_model else None,
        "model_expected_in_capacity": round(float(model[top].sum()), 2) if has_model else None,
    }


def replay_week(
    features: pd.DataFrame,
    leads: pd.DataFrame,
    outcomes: pd.DataFrame,
    week: Week,
    *,
    config: DatasetConfig,
    params: TrainParams,
    capacity: int,
) -> WeekReplay:
    """Train as the weekly run would have on the week's Monday, rank the week's MQLs, compare with what happened.

    ``features`` is the whole export's point-in-time feature table (built once: each lead's row reads only
    what was known at its MQL moment). Training sees ``labels_for(leads, config, as_of=week.start)``: a lead
    younger than the horizon on that Monday is open, not a non-SQL, and an SQL date after it is unknown.
    ``outcomes`` (labels at the export's end) say what happened to the week's MQLs. A week whose training
    fails the minimum-data check, or that the leak alarm would have stopped, is reported with the persona
    rule's figures only.
    """
    in_week = week_mask(outcomes["mql_at"], week)
    ids = outcomes.loc[in_week, "lead_id"]
    y = outcomes.loc[in_week, "label"].to_numpy(dtype=int)
    if (y < 0).any():
        raise TrainingDataError(f"the week of {week.label} is not mature: some of its MQLs have no known outcome yet")
    X = features.loc[ids]
    scores = pd.DataFrame(
        {"label": y, "model": np.nan, "persona": persona_score(X, config.persona)}, index=pd.Index(ids, name="lead_id")
    )
    known = labels_for(leads, config, week.start)
    mature = known["state"] == "mature"
    training = {
        "mature_leads": int(mature.sum()),
        "sqls": int(known.loc[mature, "label"].sum()),
        "open_leads": int((known["state"] == "open").sum()),
    }
    status, note = "model", ""
    if len(ids) == 0:
        status, note = "no_mqls", "no MQL arrived this week"
    else:
        try:
            result = train_and_evaluate(features, known, config=config, params=params, logistic=False)
        except InsufficientData as exc:
            status, note = "persona_rule", str(exc)
        except LeakSuspected as exc:
            status, note = "leak_alarm", f"this Monday's run would have stopped (no new list): {exc}"
        else:
            scores["model"] = result.model.predict_proba(X)
            training["holdout_auc"] = round(result.metrics["model"]["roc_auc"], 4)
            training["best_iteration"] = result.best_iteration
    return WeekReplay(week, status, note, training, scores, week_figures(scores, capacity))


def week_records(replays: list[WeekReplay]) -> list[dict]:
    """One record per replayed week (None where a figure does not exist), for the summary and the CSV."""
    return [
        {
            "week_of": r.week.label,
            "status": r.status,
            **r.figures,
            "train_mature_leads": r.training["mature_leads"],
            "train_sqls": r.training["sqls"],
            "train_holdout_auc": r.training.get("holdout_auc"),
            "note": r.note,
        }
        for r in replays
    ]


def weeks_frame(replays: list[WeekReplay]) -> pd.DataFrame:
    """The CSV's table: the records with each week's Monday and next Monday in UTC."""
    table = pd.DataFrame(week_records(replays))
    table.insert(1, "monday_utc", [f"{r.week.start:%Y-%m-%d %H:%M}" for r in replays])
    table.insert(2, "next_monday_utc", [f"{r.week.end:%Y-%m-%d %H:%M}" for r in replays])
    return table


def _median(values: list) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.median(kept)), 4) if kept else None


def summarise(replays: list[WeekReplay], capacity: int) -> dict:
    """Totals over the replayed weeks (medians for AUCs) and the model against the persona rule week by week.

    The head-to-head figures use only the weeks with a model, so both scorers are counted on the same leads.
    """
    figs = [r.figures for r in replays]
    with_model = [f for r, f in zip(replays, figs, strict=True) if r.status == "model"]
    model_total = sum(f["model_sqls_in_capacity"] for f in with_model)
    persona_same = sum(f["persona_sqls_in_capacity"] for f in with_model)
    diffs = [f["model_sqls_in_capacity"] - f["persona_sqls_in_capacity"] for f in with_model]
    expected = sum(f["model_expected_sqls"] for f in with_model)
    actual = sum(f["sqls"] for f in with_model)
    return {
        "weeks": len(replays),
        "weeks_with_model": len(with_model),
        "weeks_persona_only": sum(r.status == "persona_rule" for r in replays),
        "weeks_leak_alarm": sum(r.status == "leak_alarm" for r in replays),
        "capacity": capacity,
        "mqls": sum(f["mqls"] for f in figs),
        "sqls": sum(f["sqls"] for f in figs),
        "median_model_auc": _median([f["model_auc"] for f in figs]),
        "median_persona_auc": _median([f["persona_auc"] for f in figs]),
        "persona_sqls_in_capacity": round(sum(f["persona_sqls_in_capacity"] for f in figs), 2),
        "persona_passed": sum(f["persona_passed"] for f in figs),
        "persona_passed_sqls": sum(f["persona_passed_sqls"] for f in figs),
        "random_sqls_in_capacity": round(sum(f["random_sqls_in_capacity"] for f in figs), 2),
        "best_sqls_in_capacity": sum(f["best_sqls_in_capacity"] for f in figs),
        "model_weeks": {
            "model_sqls_in_capacity": round(model_total, 2),
            "persona_sqls_in_capacity": round(persona_same, 2),
            "gain_over_persona": round(model_total / persona_same - 1, 4) if persona_same else None,
            "model_ahead": sum(d > 0 for d in diffs),
            "persona_ahead": sum(d < 0 for d in diffs),
            "level": sum(d == 0 for d in diffs),
            "expected_sqls": round(expected, 2),
            "actual_sqls": actual,
            "expected_over_actual": round(expected / actual, 4) if actual else None,
        },
    }
