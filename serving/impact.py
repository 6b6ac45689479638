"""Realised results of past lists: what each archived weekly list promised, and what its leads then did.

Pure functions on frames (no Prefect, no MLflow). The inputs are the archive folders the lists were
published to (``lists/archive/<stamp>/``: ``list.parquet``, ``list_assignment.parquet`` when the list had
a control group, ``list_summary.json``'s ``as_of``) and today's export (its leads' ``mql_at``/``sql_at``).

A list's leads are its open MQLs at its as-of moment: leads that became SQLs before that moment are not
on it. So a lead listed ``a`` days after its MQL moment, still without an SQL, converts with probability
``p·S(a) / (1 - p + p·S(a))``, where ``p`` is its score (the calibrated probability of an SQL within the
horizon, from the MQL moment) and ``S(a)`` the share of SQLs that take longer than ``a`` days, measured on
today's export. That is the *expected* SQL count the realised one is held against (calibration in
production); the plain sum of the scores (``score_sum``) is what the list showed, and it over-counts
whatever converted before the list was written.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.config import DatasetConfig
from features.contract import ContractError
from models.train import labels_for
from serving import planning

LIST_FILE, ASSIGNMENT_FILE, SUMMARY_FILE = "list.parquet", "list_assignment.parquet", "list_summary.json"
LATEST_JSON = "latest_impact.json"  # the last report, beside the list: the review page's impact section reads it
WORKED_TIERS = ("A", "B", "C")  # without a capacity the team works tiers A-C
CONTROL, PERSONA = "control", "persona"
Z95 = 1.959964


class ImpactError(ContractError):
    """No archived list to measure, or one that cannot be read: one line naming the file and what to do."""


@dataclass(frozen=True)
class PastList:
    """One archived list: when it was made and, per lead, its group, model probability, tier and whether worked."""

    name: str  # the archive folder's name (its publication stamp)
    as_of: pd.Timestamp
    rows: pd.DataFrame  # lead_id (str), group ("model"/"control"), p (float, NaN: no model score), tier, worked
    model_version: str
    control: dict | None = None  # list_summary.json's list.control ({"share", "leads", "salt"}), if any
    kind: str = "weekly"  # list.kind: "weekly", "score" or "persona" (older lists: persona if its version says so)


def _naive(t: pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t


def read_list(folder: Path) -> PastList:
    """One archive folder as a ``PastList``; an ``ImpactError`` naming the file when it cannot be read.

    With ``list_assignment.parquet`` (lists scored since the control group exists) each lead's group,
    model probability and ``worked`` come from it; without it (older lists) every lead is in the model's
    group, ``p`` = score / 100 and worked = ``this_week`` (capacity set) or tier A-C.
    """
    path = folder / LIST_FILE
    try:
        listed = pd.read_parquet(path)
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImpactError(
            f"{path.parent}: unreadable archived list ({exc}); move the folder out of the archive"
        ) from None
    missing = {"lead_id", "score", "tier"} - set(listed.columns)
    if missing:
        raise ImpactError(f"{path}: no column {', '.join(sorted(missing))}; move the folder out of the archive")
    # the list's moment is its as_of, never scored_at: the wall clock of the run says nothing of which leads
    # were open (a list without one is skipped with a note, see impact_report)
    stamp = pd.Timestamp(summary["as_of"]) if summary.get("as_of") else pd.NaT
    version = str(listed["model_version"].iloc[0]) if "model_version" in listed and len(listed) else ""
    rows = pd.DataFrame({"lead_id": listed["lead_id"].astype(str).to_numpy()})
    rows["tier"] = listed["tier"].fillna("").astype(str).to_numpy()
    if version == "persona-rule":  # the persona rule's score is a share of conditions met, not a probability
        p = np.full(len(listed), np.nan)
    else:
        p = pd.to_numeric(listed["score"], errors="coerce").to_numpy(dtype=float) / 100
    rows["group"] = listed["group"].fillna("model").astype(str).to_numpy() if "group" in listed else "model"
    rows["p"] = p
    if "this_week" in listed:
        rows["worked"] = (listed["this_week"].astype(str) == "yes").to_numpy()
    else:
        rows["worked"] = rows["tier"].isin(WORKED_TIERS).to_numpy()
    assignment = folder / ASSIGNMENT_FILE
    if assignment.is_file():
        try:
            a = pd.read_parquet(assignment, columns=["lead_id", "group", "p_model", "worked"])
        except (OSError, ValueError, KeyError) as exc:
            raise ImpactError(f"{assignment}: unreadable ({exc}); move the folder out of the archive") from None
        a = a.assign(lead_id=a["lead_id"].astype(str)).drop_duplicates("lead_id").set_index("lead_id")
        known = rows["lead_id"].isin(a.index).to_numpy()
        at = a.reindex(rows["lead_id"])
        rows["group"] = np.where(known, at["group"].astype(str).to_numpy(), rows["group"].to_numpy())
        rows["p"] = np.where(known, at["p_model"].to_numpy(dtype=float), rows["p"].to_numpy())
        rows["worked"] = np.where(known, at["worked"].fillna(False).astype(bool).to_numpy(), rows["worked"].to_numpy())
    rows.loc[rows["group"] == CONTROL, "tier"] = ""  # withheld on the list; counted as the control group
    facts = summary.get("list") or {}
    kind = facts.get("kind") or (PERSONA if version == "persona-rule" else "weekly")
    if kind == PERSONA:  # the persona rule's week: shown apart, never in the model group's worked totals
        rows["group"] = PERSONA
    moment = _naive(stamp) if pd.notna(stamp) else pd.NaT
    return PastList(folder.name, moment, rows, version, facts.get("control"), kind)


def read_archive(archive: Path) -> list[PastList]:
    """Every list under ``archive`` (``lists/archive``), oldest first; of two lists with the same as-of, the later one.

    Unfinished folders (``.<stamp>.partial``) are skipped. An ``ImpactError`` when there is none: impact
    measures lists that were published, so a weekly run (or ``score``) must have written one first.
    """
    by_moment: dict[pd.Timestamp, PastList] = {}
    unknown = []  # no as_of: kept (last) so that impact_report names them in a note
    for folder in archive_folders(archive):  # in publication order: a rerun for the same as-of replaces a list
        past = read_list(folder)
        if pd.isna(past.as_of):
            unknown.append(past)
        else:
            by_moment[past.as_of] = past
    return [by_moment[k] for k in sorted(by_moment)] + unknown


def archive_folders(archive: Path) -> list[Path]:
    """The finished list folders under ``archive``, oldest first; an ``ImpactError`` saying what to do when none."""
    found = (
        sorted(f for f in archive.glob("*") if f.is_dir() and not f.name.startswith(".")) if archive.is_dir() else []
    )
    if not found:
        raise ImpactError(
            f"{archive}: no archived list to measure; `leadscore weekly` archives each list it publishes there "
            "(pass the --workspace it ran in)"
        )
    return found


def read_latest(folder: Path) -> dict | None:
    """The last impact report written in a list folder (``latest_impact.json``), or None if none can be read."""
    try:
        report = json.loads((folder / LATEST_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no report yet (or a broken one): the review page goes without its impact section
    return report if isinstance(report, dict) and "weeks" in report else None


# ---------------------------------------------------------------------------------------------------
# outcomes and what could be expected of them


def outcomes(leads: pd.DataFrame, config: DatasetConfig, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each lead's outcome as known at ``as_of``, by lead id: ``mql_at``, ``label`` (1 SQL within the horizon,
    0 not, -1 not known yet) and ``delay_days`` (MQL to SQL, for SQLs)."""
    labels = labels_for(leads, config, as_of)
    out = pd.DataFrame({"mql_at": labels["mql_at"].to_numpy(), "label": labels["label"].to_numpy()})
    out.index = labels["lead_id"].astype(str).to_numpy()
    if "sql_at" in leads:
        delay = (leads["sql_at"] - leads["mql_at"]).dt.total_seconds().to_numpy() / 86400
        out["delay_days"] = np.where(out["label"].to_numpy() == 1, delay, np.nan)
    else:
        out["delay_days"] = np.nan
    return out[~out.index.duplicated()]


def still_open_probability(p: np.ndarray, age_days: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """P(SQL | no SQL yet ``age_days`` after the MQL moment) = p·S(a) / (1 - p + p·S(a)).

    ``S(a)``: the share of ``delays`` (days from MQL to SQL of the SQLs known) longer than ``a``. Without
    any known delay (an export whose outcome is a status, not a date) the score is taken as it is.
    """
    p = np.asarray(p, dtype=float)
    if len(delays) == 0:
        return p
    d = np.sort(np.asarray(delays, dtype=float))
    s = 1.0 - np.searchsorted(d, np.clip(age_days, 0, None), side="right") / len(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = p * s / (1.0 - p + p * s)
    return np.where(p >= 1.0, 1.0, q)


def _rate(sqls: float, leads: int) -> float | None:
    return round(sqls / leads, 4) if leads else None


def _part(frame: pd.DataFrame) -> dict:
    n, k = len(frame), int(frame["label"].sum())
    return {"leads": n, "sqls": k, "rate": _rate(k, n)}


def _cost(leads: int, sqls: int, minutes: float, cost_per_hour: float) -> float | None:
    return round(leads * minutes / 60 * cost_per_hour / sqls, 2) if sqls else None


def _parts(done: pd.DataFrame) -> dict:
    """SQLs and SQL rate of the model's worked leads, the rest of its list, and the control group's worked leads."""
    model = done[~done["group"].isin([CONTROL, PERSONA])]
    out = {"worked": _part(model[model["worked"]]), "rest": _part(model[~model["worked"]])}
    control = done[(done["group"] == CONTROL) & done["worked"]]
    persona = done[(done["group"] == PERSONA) & done["worked"]]  # a persona-rule week: not the model's work
    return (
        out
        | ({"control_worked": _part(control)} if len(control) else {})
        | ({"persona_worked": _part(persona)} if len(persona) else {})
    )


def _expected(done: pd.DataFrame) -> dict:
    """Expected SQLs of the scored leads against the realised ones, with the 95% interval of the expected count.

    The outcomes are independent leads; a lead on ``n`` of the rows counts its one outcome ``n`` times: the
    variance is ``sum_i n_i² q_i (1 - q_i)`` (``q_i`` its mean over those rows), which for one list or the
    total (each lead once: every ``n_i`` = 1) is the Poisson-binomial variance.
    """
    fit = done[done["p"].notna()]
    if not len(fit):
        return {}
    per_lead = fit.groupby("lead_id").agg(n=("q", "size"), q=("q", "mean"))
    sd = math.sqrt(float((per_lead["n"] ** 2 * per_lead["q"] * (1 - per_lead["q"])).sum()))
    e, k = float(fit["q"].sum()), int(fit["label"].sum())
    return {
        "expected_sqls": round(e, 2),
        "score_sum": round(float(fit["p"].sum()), 2),
        "expected_low": round(max(0.0, e - Z95 * sd), 2),
        "expected_high": round(e + Z95 * sd, 2),
        "realised_sqls_scored": k,
        "calibration_z": round((k - e) / sd, 2) if sd > 0 else None,
    }


def _kpis(done: pd.DataFrame, minutes_per_lead: float, cost_per_hour: float) -> dict:
    """The seed KPIs as realised: SQL volume, SDR hours worked and recovered, SDR cost per SQL of the worked leads."""
    worked = done[done["worked"]]
    k = int(worked["label"].sum())
    return {
        "sql_volume": int(done["label"].sum()),
        "sqls_worked": k,
        "sdr_hours_worked": round(len(worked) * minutes_per_lead / 60, 1),
        # against working every lead on the list, as serving.planning.week_kpis counts it
        "sdr_hours_recovered": round((len(done) - len(worked)) * minutes_per_lead / 60, 1),
        "cost_per_sql": _cost(len(worked), k, minutes_per_lead, cost_per_hour),
    }


def open_only(past: PastList, leads: pd.DataFrame, config: DatasetConfig, notes: list[str]) -> PastList:
    """The list's leads that were open at its as_of (MQL by then, no SQL yet, horizon not over), with a note
    naming how many others it held: a ``score`` list holds every lead of its file, decided ones too, and
    their known outcomes would pass for the list's results.

    An outcome without a date (a status) cannot say what was decided then: only leads not yet MQLs are left out.
    """
    if config.outcome.kind == "sql_date":
        states = labels_for(leads, config, past.as_of)
        ids = states.loc[states["state"] == "open", "lead_id"].astype(str)
    else:
        ids = leads.loc[leads["mql_at"] <= past.as_of, "lead_id"].astype(str)
    keep = past.rows["lead_id"].isin(pd.Index(ids)).to_numpy()
    if keep.all():
        return past
    notes.append(
        f"{past.name}: {int((~keep).sum()):,} of its {len(keep):,} leads were not open on {past.as_of:%Y-%m-%d %H:%M} "
        "(already an SQL, past their horizon or not yet MQLs): left out"
    )
    return replace(past, rows=past.rows[keep].reset_index(drop=True))


def _joined(past: PastList, known: pd.DataFrame, delays: np.ndarray) -> pd.DataFrame:
    """The list's rows with each lead's label (-1: unknown) and ``q``, its probability given it was still open."""
    rows = past.rows.copy()
    at = known.reindex(rows["lead_id"])
    rows["label"] = at["label"].fillna(-1).astype(int).to_numpy()
    age = (past.as_of - at["mql_at"]).dt.total_seconds().to_numpy() / 86400
    rows["q"] = still_open_probability(rows["p"].to_numpy(), np.nan_to_num(age), delays)
    return rows


def week_record(
    past: PastList,
    rows: pd.DataFrame,
    *,
    horizon_days: int,
    today: pd.Timestamp,
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    minutes_per_lead: float,
    cost_per_hour: float,
) -> dict:
    """One list's line of the table: pending (horizon not over) or realised, with the seed KPIs as they turned out."""
    due = past.as_of + pd.Timedelta(days=horizon_days)
    scored = rows["p"].notna().to_numpy()
    rec: dict = {
        "week_of": past.as_of.strftime("%Y-%m-%d %H:%M"),
        "archive": past.name,
        "model_version": past.model_version,
        "kind": past.kind,
        "status": "realised" if due <= today else "pending",
        "leads": len(rows),
        "worked_leads": int(rows["worked"].sum()),
        "control_leads": int((rows["group"] == CONTROL).sum()),
        "expected_sqls": round(float(rows.loc[scored, "q"].sum()), 2) if scored.any() else None,
        "score_sum": round(float(rows.loc[scored, "p"].sum()), 2) if scored.any() else None,
    }
    if rec["status"] == "pending":
        return {**rec, "due": due.strftime("%Y-%m-%d")}
    done = rows[rows["label"] >= 0]
    rec["leads_unknown"] = len(rows) - len(done)  # listed then, gone from today's export
    rec["sqls"] = int(done["label"].sum())
    by_tier = {}
    for tier, g in done.groupby(done["tier"].replace("", CONTROL).to_numpy()):
        fit = g["p"].notna()
        by_tier[str(tier)] = {
            "leads": len(g),
            "sqls": int(g["label"].sum()),
            "expected_sqls": round(float(g.loc[fit, "q"].sum()), 2) if fit.any() else None,
        }
    rec["sqls_by_tier"] = by_tier
    rec |= _parts(done)
    if rec.get("control_worked"):
        m, c = rec["worked"]["rate"], rec["control_worked"]["rate"]
        rec["lift"] = round(m - c, 4) if m is not None and c is not None else None
    rec |= _expected(done)
    listed = done.assign(tier=done["tier"].replace("", CONTROL))
    rec["kpis"] = _kpis(done, minutes_per_lead, cost_per_hour)
    rec["kpis"]["response_by_tier"] = planning.response_rate_by_tier(listed, leads, activities)
    return rec


def total_record(
    realised: list[tuple[PastList, pd.DataFrame]], *, minutes_per_lead: float, cost_per_hour: float
) -> dict:
    """The realised weeks together, each lead counted once: leads and SQLs, worked against the rest, expected
    against realised.

    A lead open for several weeks is on several lists; its one outcome counts once here (``distinct_rows``:
    its first worked listing if it was ever worked, else its first listing), so the total's SQLs are the
    listed leads that converted and its worked rate is the lift's (when every week had a control group).
    ``lead_weeks`` says how many list rows that was; the per-week records count per list.
    """
    rows = pd.concat([r[r["label"] >= 0] for _, r in realised], ignore_index=True)
    once = distinct_rows(rows)
    return {
        "weeks": len(realised),
        "counted": "distinct_leads",  # each lead once, unlike the per-week rows (one per list it was on)
        "leads": len(once),
        "lead_weeks": len(rows),
        "sqls": int(once["label"].sum()),
        **_parts(once),
        **_expected(once),
        "kpis": _kpis(once, minutes_per_lead, cost_per_hour),
    }


def distinct_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Each lead once, ``rows`` being in list order: its first worked row if it was ever worked, else its first.

    Its ``q`` is then its probability of an SQL given it was open at that list, which is what its outcome is
    held against (one independent outcome per lead: the expected total's variance is Poisson-binomial).
    """
    worked = rows[rows["worked"].astype(bool)].drop_duplicates("lead_id", keep="first")
    rest = rows[~rows["lead_id"].isin(worked["lead_id"])].drop_duplicates("lead_id", keep="first")
    return pd.concat([worked, rest]).sort_index().reset_index(drop=True)


def first_worked(realised: list[tuple[PastList, pd.DataFrame]]) -> pd.DataFrame:
    """Each worked lead once, on the first list that put it in its group's worked part (its week: ``week``).

    A lead worked one week and still open the next is usually worked again; counting it once keeps the
    leads of the lift's bootstrap independent draws.
    """
    parts = [
        r.loc[r["worked"] & (r["label"] >= 0), ["lead_id", "group", "p", "q", "label"]].assign(week=i)
        for i, (_, r) in enumerate(realised)
    ]
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return rows.drop_duplicates("lead_id", keep="first").reset_index(drop=True) if len(rows) else rows


def weeks_needed(lift: float, low: float, high: float, weeks: int) -> int | None:
    """Weeks still needed, at the current weekly volume, for the lift's 95% interval to exclude zero.

    The interval's half-width ``h`` shrinks as ``1 / sqrt(weeks)`` (each week adds about the same number of
    leads to each group), so after ``W'`` weeks it is ``h · sqrt(W / W')``; it excludes zero once that is
    below ``|lift|``: ``W' = W · (h / |lift|)²``, and the weeks still needed are ``ceil(W') - W`` (at least
    1 while the interval still holds zero). 0 when it already excludes zero; None when the estimated lift
    is 0 (no number of weeks separates a zero effect from zero).
    """
    if low > 0 or high < 0:
        return 0
    if lift == 0 or weeks == 0:
        return None
    half = (high - low) / 2
    return max(1, math.ceil(weeks * (half / abs(lift)) ** 2 - 1e-9) - weeks)


def lift_estimate(
    realised: list[tuple[PastList, pd.DataFrame]],
    *,
    minutes_per_lead: float,
    cost_per_hour: float,
    resamples: int = 2000,
    seed: int = 0,
) -> dict | None:
    """SQL rate of the worked leads of the model's group against the control group's, with a bootstrap interval.

    Rows: ``first_worked`` over the realised weeks that had a control group. The interval resamples the
    leads with replacement within each group and week (``resamples`` times, seeded): a stratum of ``n``
    leads with ``k`` SQLs then yields Binomial(n, k/n) SQLs, drawn directly. ``sqls_gained_per_week``: the
    lift times the model group's worked leads a week (SQLs its picks brought beyond the way the team
    picks without it). ``expected_sqls_given_up``: what the control group cost, from the scores: the
    expected SQLs of the control's best-scored leads (as many as it worked) minus those of the leads it
    worked. None without any control lead.
    """
    with_control = [(p, r) for p, r in realised if (r["group"] == CONTROL).any()]
    rows = first_worked(with_control)
    if not len(rows) or not (rows["group"] == CONTROL).any():
        return None
    groups = {g: rows[(rows["group"] == CONTROL) == (g == CONTROL)] for g in ("model", CONTROL)}
    weeks = len(with_control)
    out: dict = {"weeks": weeks}
    for g, frame in groups.items():
        k = int(frame["label"].sum())
        out[g] = {
            "worked_leads": len(frame),
            "sqls": k,
            "rate": _rate(k, len(frame)),
            "cost_per_sql": _cost(len(frame), k, minutes_per_lead, cost_per_hour),
            "expected_sqls": round(float(frame["q"].sum()), 2),
        }
    if not len(groups["model"]):
        return out | {"lift": None, "note": "no worked lead in the model's group"}
    rate = {g: frame["label"].mean() for g, frame in groups.items()}  # unrounded
    lift = float(rate["model"] - rate[CONTROL])
    rng = np.random.default_rng(seed)
    sums = {}
    for g, frame in groups.items():
        strata = frame.groupby("week")["label"].agg(["size", "sum"])
        n, k = strata["size"].to_numpy(), strata["sum"].to_numpy()
        draws = rng.binomial(n, k / n, size=(resamples, len(n)))
        sums[g] = draws.sum(axis=1) / n.sum()
    boot = sums["model"] - sums[CONTROL]
    low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
    per_week = len(groups["model"]) / weeks
    given_up = 0.0
    for _, r in with_control:
        c = r[r["group"] == CONTROL]
        k = int(c["worked"].sum())
        given_up += float(
            np.sort(c["q"].fillna(0).to_numpy())[::-1][:k].sum() - c.loc[c["worked"], "q"].fillna(0).sum()
        )
    return out | {
        "lift": round(lift, 4),
        "lift_low": round(low, 4),
        "lift_high": round(high, 4),
        "relative_lift": round(float(rate["model"] / rate[CONTROL]), 2) if rate[CONTROL] > 0 else None,
        "resamples": resamples,
        "seed": seed,
        "sqls_gained_per_week": round(lift * per_week, 2),
        "sqls_gained_per_week_low": round(low * per_week, 2),
        "sqls_gained_per_week_high": round(high * per_week, 2),
        "expected_sqls_given_up_per_week": round(given_up / weeks, 2),
        "weeks_needed": weeks_needed(lift, low, high, weeks),
    }


def control_since(weeks: list[dict], horizon_days: int) -> dict | None:
    """When the control group started (its first list) and when that list is first measurable (its as-of plus
    the horizon); None when no list had a control lead. A report whose control lists are all still pending
    says so with it, rather than that there is no control group."""
    with_control = [w for w in weeks if w["control_leads"]]
    if not with_control:
        return None
    first = pd.Timestamp(with_control[0]["week_of"])
    return {
        "since": f"{first:%Y-%m-%d}",
        "due": f"{first + pd.Timedelta(days=horizon_days):%Y-%m-%d}",
        "lists": len(with_control),
        "realised": sum(w["status"] == "realised" for w in with_control),
    }


def impact_report(
    lists: list[PastList],
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    *,
    config: DatasetConfig,
    as_of: pd.Timestamp,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """Every past list against the outcomes known at ``as_of``: one record per list, the total and the lift.

    A list is realised when its as-of moment plus the horizon is at or before ``as_of`` (every lead on it
    has had its whole horizon), else pending (its due date given). See the module docstring for the
    expected SQLs, ``total_record`` and ``lift_estimate`` for the rest.
    """
    today = _naive(as_of)
    known = outcomes(leads, config, today)
    delays = known["delay_days"].dropna().to_numpy()
    weeks, realised, notes = [], [], []
    kw = {"minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}
    for past in lists:
        if pd.isna(past.as_of):
            notes.append(
                f"{past.name}: its list_summary.json has no as_of, so which leads were open is unknown: not measured"
            )
            continue
        past = open_only(past, leads, config, notes)
        rows = _joined(past, known, delays)
        rec = week_record(
            past, rows, horizon_days=config.horizon_days, today=today, leads=leads, activities=activities, **kw
        )
        weeks.append(rec)
        if rec["status"] == "realised":
            realised.append((past, rows))
    control = control_since(weeks, config.horizon_days)
    if len(delays) == 0:
        notes.append("the export has no SQL dates: expected SQLs are the plain sum of the scores")
    if any(w.get("leads_unknown") for w in weeks):
        notes.append("some listed leads are no longer in the export: their outcome is unknown and not counted")
    return {
        "as_of": str(today),
        "horizon_days": config.horizon_days,
        "minutes_per_lead": minutes_per_lead,
        "cost_per_hour": cost_per_hour,
        "lists": len(weeks),
        "realised_weeks": len(realised),
        "pending_weeks": len(weeks) - len(realised),
        "weeks": weeks,
        "total": total_record(realised, **kw) if realised else None,
        "lift": lift_estimate(realised, resamples=resamples, seed=seed, **kw) if realised else None,
        "control": control,
        "notes": notes,
    }
