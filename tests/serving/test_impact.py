"""serving.impact on hand-made archive folders: exact counts, pending weeks, the lift and its arithmetic."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from serving import impact

T0 = pd.Timestamp("2026-03-02 06:00")


def _leads(spec: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    """Leads from (id, MQL moment, days to SQL or None)."""
    rows = []
    for lead, mql, days in spec:
        at = pd.Timestamp(mql)
        rows.append({"lead_id": lead, "mql_at": at, "sql_at": at + pd.Timedelta(days=days) if days else pd.NaT})
    return pd.DataFrame(rows).astype({"sql_at": "datetime64[ns]"})


def _archive(
    root, stamp: str, as_of, listed: pd.DataFrame, assignment: pd.DataFrame | None = None, kind: str | None = None
) -> None:
    folder = root / "archive" / stamp
    folder.mkdir(parents=True)
    listed.to_parquet(folder / "list.parquet")
    summary = {"as_of": str(as_of), "list": {"kind": kind} if kind else {}} if as_of is not None else {"list": {}}
    (folder / "list_summary.json").write_text(json.dumps(summary))
    if assignment is not None:
        assignment.to_parquet(folder / "list_assignment.parquet")


def _list(ids, scores, tiers, **extra) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {"rank": range(1, n + 1), "lead_id": ids, "score": scores, "tier": tiers, "model_version": "3", **extra}
    )


@pytest.fixture
def old_archive(tmp_path):
    """One list written before the control group existed (no assignment file): four leads listed at their MQL moment."""
    leads = _leads(
        [("a", "2026-03-02 06:00", 5), ("b", "2026-03-02 06:00", None), ("c", "2026-03-02 06:00", 2),
         ("d", "2026-03-02 06:00", None), ("old", "2026-01-01", 3)]
    )  # fmt: skip
    _archive(tmp_path, "2026-03-02T070000Z", T0, _list(["a", "b", "c", "d"], [60.0, 50.0, 20.0, 10.0], list("ABCD")))
    return tmp_path, leads


def test_an_old_list_counts_sqls_per_tier_and_worked_against_the_rest(old_archive, config):
    root, leads = old_archive
    lists = impact.read_archive(root / "archive")
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=30))
    week = report["weeks"][0]
    assert week["status"] == "realised" and week["leads"] == 4 and week["sqls"] == 2
    assert {t: v["sqls"] for t, v in week["sqls_by_tier"].items()} == {"A": 1, "B": 0, "C": 1, "D": 0}
    # no capacity on the list: the team works tiers A-C
    assert week["worked"] == {"leads": 3, "sqls": 2, "rate": round(2 / 3, 4)} and week["rest"]["leads"] == 1
    # listed at their MQL moment: nothing had converted yet, so the expected SQLs are the scores' sum
    assert week["expected_sqls"] == week["score_sum"] == 1.4
    q = np.array([0.6, 0.5, 0.2, 0.1])
    sd = math.sqrt((q * (1 - q)).sum())
    assert week["expected_high"] == round(1.4 + 1.959964 * sd, 2) and week["expected_low"] == 0.0  # clipped at 0
    assert week["kpis"]["cost_per_sql"] == round(3 * 15 / 60 * 30 / 2, 2)
    assert week["kpis"]["sdr_hours_recovered"] == round(15 / 60, 1)
    assert report["lift"] is None and week.get("control_worked") is None


def test_a_list_is_pending_until_its_horizon_has_passed(old_archive, config):
    root, leads = old_archive
    lists = impact.read_archive(root / "archive")
    just_before = T0 + pd.Timedelta(days=30) - pd.Timedelta(seconds=1)
    week = impact.impact_report(lists, leads, None, config=config, as_of=just_before)["weeks"][0]
    assert week["status"] == "pending" and week["due"] == "2026-04-01" and "sqls" not in week
    assert week["expected_sqls"] == 1.4  # what the list expects is known the day it is written


def test_a_lead_listed_late_in_its_horizon_is_expected_to_convert_less():
    delays = np.array([1.0, 2.0, 3.0, 10.0])  # a quarter of the SQLs take longer than 3 days
    q = impact.still_open_probability(np.array([0.5, 0.5, 0.5]), np.array([0.0, 3.0, 20.0]), delays)
    assert q[0] == 0.5 and q[1] == pytest.approx(0.5 * 0.25 / (0.5 + 0.5 * 0.25)) and q[2] == 0.0
    assert impact.still_open_probability(np.array([0.3]), np.array([9.0]), np.array([])) == pytest.approx([0.3])


def test_replies_give_the_response_rate_by_tier(old_archive, config):
    root, leads = old_archive
    acts = pd.DataFrame(
        {"lead_id": ["a", "d", "b"], "occurred_at": pd.to_datetime(["2026-03-03", "2026-03-04", "2026-03-05"]),
         "activity_type": ["email_reply", "email_reply", "no_response"]}
    )  # fmt: skip
    lists = impact.read_archive(root / "archive")
    week = impact.impact_report(lists, leads, acts, config=config, as_of=T0 + pd.Timedelta(days=31))["weeks"][0]
    assert {t: v["replied"] for t, v in week["kpis"]["response_by_tier"].items()} == {"A": 1, "B": 0, "C": 0, "D": 1}


def test_the_control_group_gives_the_lift_each_worked_lead_counted_once(tmp_path, config):
    """Two weeks; lead m1 is worked both weeks and counts once, in the first. Control rows have no score or tier."""
    ids = ["m1", "m2", "m3", "c1", "c2", "c3"]
    leads = _leads([(i, "2026-03-02 06:00", 3 if i in ("m1", "m2", "c1") else None) for i in ids])
    groups = ["model"] * 3 + ["control"] * 3
    listed = _list(ids, [70.0, 60.0, 10.0, None, None, None], ["A", "B", "D", "", "", ""], group=groups)
    for n, (stamp, worked) in enumerate([("w1", [1, 1, 0, 1, 1, 0]), ("w2", [1, 0, 1, 0, 0, 1])]):
        assignment = pd.DataFrame(
            {"lead_id": ids, "group": groups, "p_model": [0.7, 0.6, 0.1, 0.5, 0.4, 0.3],
             "worked": np.array(worked, bool), "persona_rank": pd.array([None] * 3 + [1, 2, 3], dtype="Int64")}
        )  # fmt: skip
        _archive(tmp_path, stamp, T0 + pd.Timedelta(days=7 * n), listed.assign(mql_at="2026-03-02 06:00"), assignment)
    lists = impact.read_archive(tmp_path / "archive")
    assert lists[0].rows.loc[lists[0].rows["group"] == "control", "p"].tolist() == [0.5, 0.4, 0.3]
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=60), resamples=500)
    lift = report["lift"]
    # first worked: model m1, m2 (week 1), m3 (week 2); control c1, c2 (week 1), c3 (week 2)
    assert (lift["model"]["worked_leads"], lift["model"]["sqls"]) == (3, 2)
    assert (lift["control"]["worked_leads"], lift["control"]["sqls"]) == (3, 1)
    assert lift["lift"] == round(2 / 3 - 1 / 3, 4)
    assert lift["lift_low"] <= lift["lift"] <= lift["lift_high"]
    assert lift["sqls_gained_per_week"] == round((2 / 3 - 1 / 3) * 3 / 2, 2)
    assert report["weeks"][0]["sqls_by_tier"]["control"] == {"leads": 3, "sqls": 1, "expected_sqls": 1.2}
    again = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=60), resamples=500)
    assert again["lift"] == lift  # seeded


@pytest.mark.parametrize(
    ("lift", "low", "high", "weeks", "needed"),
    [
        (0.05, 0.01, 0.09, 10, 0),  # excludes zero already
        (0.05, -0.05, 0.15, 10, 30),  # half-width 0.1 = 2x the lift: 4x the weeks, 40 - 10
        (0.05, -0.0001, 0.1001, 10, 1),  # a hair inside: at least one more week
        (0.0, -0.1, 0.1, 10, None),  # a zero lift is never told from zero
    ],
)
def test_weeks_needed_follow_the_square_root_rule(lift, low, high, weeks, needed):
    assert impact.weeks_needed(lift, low, high, weeks) == needed


def test_an_empty_archive_says_what_to_do(tmp_path):
    with pytest.raises(impact.ImpactError, match="no archived list to measure.*leadscore weekly"):
        impact.read_archive(tmp_path / "archive")
    (tmp_path / "archive" / ".2026-03-02T070000Z.partial").mkdir(parents=True)  # unfinished: not a list
    with pytest.raises(impact.ImpactError, match="no archived list"):
        impact.read_archive(tmp_path / "archive")


def test_a_list_without_its_columns_is_named(tmp_path):
    _archive(tmp_path, "s1", T0, pd.DataFrame({"lead_id": ["a"], "score": [1.0]}))
    with pytest.raises(impact.ImpactError, match=r"s1/list.parquet: no column tier"):
        impact.read_archive(tmp_path / "archive")


def test_a_rerun_for_the_same_moment_replaces_the_earlier_list(old_archive):
    root, _ = old_archive
    _archive(root, "2026-03-02T080000Z", T0, _list(["a"], [90.0], ["A"]))
    lists = impact.read_archive(root / "archive")
    assert len(lists) == 1 and lists[0].name == "2026-03-02T080000Z"


def test_the_review_page_reads_the_last_report_or_goes_without(tmp_path):
    assert impact.read_latest(tmp_path) is None  # no report yet
    (tmp_path / impact.LATEST_JSON).write_text("{not json")
    assert impact.read_latest(tmp_path) is None  # a broken one costs the section, not the page
    (tmp_path / impact.LATEST_JSON).write_text(json.dumps({"as_of": "2026-04-01", "weeks": []}))
    assert impact.read_latest(tmp_path) == {"as_of": "2026-04-01", "weeks": []}


def test_a_score_list_counts_only_its_leads_open_at_its_as_of(tmp_path, config):
    """`score` lists every lead of its file: those already SQLs, past their horizon or not yet MQLs then are
    not the list's results (they would read as a week of sure conversions)."""
    leads = _leads(
        [("sql_before", "2026-02-20", 3), ("decided", "2026-01-01", None), ("later", "2026-03-05", 2),
         ("open_sql", "2026-03-01", 4), ("open_not", "2026-03-01", None)]
    )  # fmt: skip
    ids = ["sql_before", "decided", "later", "open_sql", "open_not"]
    _archive(tmp_path, "s1", T0, _list(ids, [90.0, 80.0, 70.0, 60.0, 50.0], list("AABBC")), kind="score")
    lists = impact.read_archive(tmp_path / "archive")
    assert lists[0].kind == "score"
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=40))
    week = report["weeks"][0]
    assert (week["leads"], week["sqls"], week["kind"]) == (2, 1, "score")
    assert {t: v["leads"] for t, v in week["sqls_by_tier"].items()} == {"B": 1, "C": 1}
    assert any("3 of its 5 leads were not open on 2026-03-02 06:00" in n for n in report["notes"])


def test_a_list_without_as_of_is_skipped_with_a_note_not_dated_by_its_scored_at(tmp_path, config):
    leads = _leads([("a", "2026-03-02 06:00", 5)])
    _archive(tmp_path, "old", None, _list(["a"], [60.0], ["A"], scored_at=pd.Timestamp("2026-03-02 07:00")))
    _archive(tmp_path, "new", T0, _list(["a"], [60.0], ["A"]))
    report = impact.impact_report(
        impact.read_archive(tmp_path / "archive"), leads, None, config=config, as_of=T0 + pd.Timedelta(days=30)
    )
    assert [w["archive"] for w in report["weeks"]] == ["new"] and report["lists"] == 1
    assert any(n.startswith("old: its list_summary.json has no as_of") for n in report["notes"])


def test_persona_rule_weeks_are_shown_apart_from_the_models_worked_leads(tmp_path, config):
    leads = _leads([(i, "2026-03-02 06:00", 3 if i in ("p1", "m1") else None) for i in ("p1", "p2", "m1", "m2")])
    persona = _list(["p1", "p2"], [100.0, 50.0], ["A", "B"]).assign(model_version="persona-rule")
    _archive(tmp_path, "w1", T0, persona, kind="persona")
    _archive(tmp_path, "w2", T0 + pd.Timedelta(days=1), _list(["m1", "m2"], [70.0, 10.0], ["A", "D"]))
    lists = impact.read_archive(tmp_path / "archive")
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=40))
    first, second = report["weeks"]
    assert first["kind"] == "persona" and first["persona_worked"] == {"leads": 2, "sqls": 1, "rate": 0.5}
    assert first["worked"] == {"leads": 0, "sqls": 0, "rate": None}
    assert second["worked"] == {"leads": 1, "sqls": 1, "rate": 1.0}
    total = report["total"]
    assert total["worked"] == {"leads": 1, "sqls": 1, "rate": 1.0} and total["persona_worked"]["leads"] == 2


def test_the_total_counts_each_lead_once_its_first_worked_listing(tmp_path, config):
    """x is on both lists (worked both times), y on both (worked the second week): 2 leads, not 4 rows."""
    leads = _leads([("x", "2026-03-02 06:00", 10), ("y", "2026-03-02 06:00", None)])
    _archive(tmp_path, "w1", T0, _list(["x", "y"], [60.0, 5.0], ["A", "D"]))
    _archive(tmp_path, "w2", T0 + pd.Timedelta(days=7), _list(["x", "y"], [50.0, 30.0], ["A", "C"]))
    lists = impact.read_archive(tmp_path / "archive")
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=40))
    assert [w["sqls"] for w in report["weeks"]] == [1, 1]  # each week counts its own list
    total = report["total"]
    assert (total["counted"], total["leads"], total["lead_weeks"], total["sqls"]) == ("distinct_leads", 2, 4, 1)
    assert total["worked"] == {"leads": 2, "sqls": 1, "rate": 0.5} and total["rest"]["leads"] == 0
    assert total["kpis"]["sql_volume"] == 1 and total["kpis"]["sdr_hours_worked"] == round(2 * 15 / 60, 1)
    # x is expected at its first worked listing (week 1: 0.6), y at its first worked one (week 2, 30 days
    # horizon, no SQL delay longer than its 7 days' age except x's 10: S = 1)
    assert total["expected_sqls"] == pytest.approx(0.6 + 0.3, abs=0.01)


def test_a_control_group_still_pending_says_since_when_and_when_it_is_measurable(tmp_path, config):
    leads = _leads([("m", "2026-03-02 06:00", None), ("c", "2026-03-02 06:00", None)])
    listed = _list(["m", "c"], [50.0, None], ["B", ""], group=["model", "control"])
    _archive(tmp_path, "w1", T0, listed)
    lists = impact.read_archive(tmp_path / "archive")
    report = impact.impact_report(lists, leads, None, config=config, as_of=T0 + pd.Timedelta(days=10))
    assert report["lift"] is None and report["weeks"][0]["status"] == "pending"
    assert report["control"] == {"since": "2026-03-02", "due": "2026-04-01", "lists": 1, "realised": 0}
    without = impact.impact_report(lists[:0], leads, None, config=config, as_of=T0 + pd.Timedelta(days=10))
    assert without["control"] is None
