"""The weekly back-test: which weeks are replayed, no future label in any week's training, figures that a
hand count reproduces, persona-only weeks when history is short, and one flow run end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from features.build import build_features
from features.config import ConfigError, load_config
from models import backtest
from models.baselines import persona_score
from models.train import TrainingDataError, TrainParams, default_as_of, labels_for, train_and_evaluate
from tests.conftest import ROOT, SYNTHETIC_CONFIG

PARAMS = TrainParams(num_threads=1)
CAPACITY = 30


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def _refuse(constant: str) -> float:
    raise ValueError(f"{constant} in a JSON summary")


# ---------------------------------------------------------------------------------------------------
# which weeks


def test_replays_the_last_mature_weeks_and_lists_the_younger_ones():
    # export on Wednesday 4 Nov 2026, 30-day horizon: a week is judged once its next Monday is 30 days old
    plan = backtest.plan_weeks(ts("2026-11-04 10:00"), ts("2026-01-01"), weeks=3, horizon_days=30)
    assert [w.label for w in plan.replayed] == ["2026-09-14", "2026-09-21", "2026-09-28"]
    assert [w.start for w in plan.replayed] == [ts("2026-09-14"), ts("2026-09-21"), ts("2026-09-28")]
    assert plan.replayed[-1].end == ts("2026-10-05")  # + 30 days = 4 Nov 00:00, before the export's end
    assert [w.label for w in plan.not_mature] == ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02"]


def test_mondays_are_midnight_in_the_datasets_time_zone_across_a_clock_change():
    plan = backtest.plan_weeks(
        ts("2026-11-04 10:00"), ts("2026-01-01"), weeks=2, horizon_days=30, timezone="Europe/Madrid"
    )
    assert [w.label for w in plan.replayed] == ["2026-09-21", "2026-09-28"]
    assert plan.replayed[0].start == ts("2026-09-20 22:00")  # 00:00 CEST
    week_of_change = next(w for w in plan.not_mature if w.label == "2026-10-19")
    assert (week_of_change.start, week_of_change.end) == (ts("2026-10-18 22:00"), ts("2026-10-25 23:00"))


def test_a_short_export_gives_the_weeks_it_has_and_a_too_young_one_is_refused():
    plan = backtest.plan_weeks(ts("2026-11-04 10:00"), ts("2026-09-16 09:00"), weeks=12, horizon_days=30)
    assert [w.label for w in plan.replayed] == ["2026-09-14", "2026-09-21", "2026-09-28"]
    with pytest.raises(TrainingDataError, match="no week of this export can be judged yet"):
        backtest.plan_weeks(ts("2026-11-04 10:00"), ts("2026-10-10"), weeks=12, horizon_days=30)


def test_an_outcome_without_dates_cannot_be_replayed():
    with pytest.raises(ConfigError, match="needs outcome kind 'sql_date'"):
        backtest.check_replayable(load_config(ROOT / "data" / "configs" / "x_education.toml"))


@pytest.mark.parametrize(
    ("k", "expected"),
    [(1, 1.0), (2, 1 + 1 / 3), (4, 2.0), (5, 3.0), (9, 3.0), (0, 0.0)],
)
def test_sqls_in_top_shares_the_tied_leads_at_their_sql_rate(k, expected):
    y = np.array([1, 0, 1, 0, 1])
    score = np.array([0.9, 0.8, 0.8, 0.8, 0.1])  # three leads tied at 0.8, one of them an SQL
    assert backtest.sqls_in_top(y, score, k) == pytest.approx(expected)


def test_default_capacity_is_a_fifth_of_the_median_week():
    assert backtest.capacity_for([100, 210, 250], None) == (42, "20% of the median weekly MQL volume (210)")
    assert backtest.capacity_for([100, 210, 250], 15) == (15, "given")
    assert backtest.capacity_for([3], None)[0] == 1


# ---------------------------------------------------------------------------------------------------
# one replayed week


@pytest.fixture(scope="module")
def export(canonical, config):
    leads, acts = canonical
    features = build_features(leads, acts, config=config)
    end = default_as_of(leads, acts)
    plan = backtest.plan_weeks(end, leads["mql_at"].min(), weeks=1, horizon_days=config.horizon_days)
    return leads, features, labels_for(leads, config, end), plan.replayed[0], end


@pytest.fixture(scope="module")
def replayed(export, config):
    leads, features, outcomes, week, _ = export
    return backtest.replay_week(features, leads, outcomes, week, config=config, params=PARAMS, capacity=CAPACITY)


def test_the_replay_never_uses_what_was_learnt_after_its_monday(export, replayed, config):
    leads, features, outcomes, week, end = export
    horizon = pd.Timedelta(days=config.horizon_days)
    # Rewrite the future as seen from the Monday: every SQL date after it is erased, and every lead still
    # inside its horizon then becomes an SQL the day after. Known on the Monday, nothing changes.
    before = leads["mql_at"] < week.start
    rewritten = leads.copy()
    rewritten.loc[before & (leads["sql_at"] > week.start), "sql_at"] = pd.NaT
    young = before & (leads["mql_at"] + horizon > week.start) & ~(leads["sql_at"] <= week.start)
    rewritten.loc[young, "sql_at"] = week.start + pd.Timedelta(days=1)
    new_outcomes = labels_for(rewritten, config, end)
    changed = new_outcomes["label"].to_numpy() != outcomes["label"].to_numpy()
    # the rewrite is real: many leads MQL'd before the Monday now end differently...
    assert changed.sum() > 50 and leads.loc[changed, "mql_at"].max() < week.start
    # ...and the week's MQLs, scored after it, are untouched
    in_week = backtest.week_mask(outcomes["mql_at"], week)
    assert not changed[in_week].any() and in_week.sum() > 20
    again = backtest.replay_week(
        features, rewritten, new_outcomes, week, config=config, params=PARAMS, capacity=CAPACITY
    )
    assert replayed.status == again.status == "model"
    np.testing.assert_array_equal(again.scores["model"].to_numpy(), replayed.scores["model"].to_numpy())
    assert again.figures == replayed.figures and again.training == replayed.training
    # the leads young on the Monday were open then: never trained on as SQLs or non-SQLs
    known = labels_for(leads, config, week.start).set_index("lead_id")
    assert (known.loc[leads.loc[young, "lead_id"], "state"] == "open").all()


def test_a_week_s_figures_equal_a_hand_count(export, replayed, crm, config):
    leads, features, _, week, _ = export
    # the week's MQLs and what became of them, read from the raw export's columns
    raw = crm.leads.assign(mql=pd.to_datetime(crm.leads["MQL Date"]), sql=pd.to_datetime(crm.leads["SQL Date"]))
    mine = raw[(raw["mql"] >= week.start) & (raw["mql"] < week.end)].set_index("Lead ID")
    y = (mine["sql"].notna() & (mine["sql"] <= mine["mql"] + pd.Timedelta(days=30))).astype(int)
    assert sorted(replayed.scores.index) == sorted(mine.index)
    y = y.loc[replayed.scores.index].to_numpy()
    np.testing.assert_array_equal(replayed.scores["label"].to_numpy(), y)
    # the model: the weekly run's training on the labels known that Monday, scoring each lead's features
    result = train_and_evaluate(
        features, labels_for(leads, config, week.start), config=config, params=PARAMS, logistic=False
    )
    X = features.loc[replayed.scores.index]
    proba = result.model.predict_proba(X)
    np.testing.assert_array_equal(replayed.scores["model"].to_numpy(), proba)
    persona = persona_score(X, config.persona)
    # the top 30 by hand: the model has no ties; the persona rule's boundary group is shared at its SQL rate
    top_model = y[np.argsort(-proba)[:CAPACITY]].sum()
    cut = np.sort(persona)[::-1][CAPACITY - 1]
    above, tied = persona > cut, persona == cut
    top_persona = y[above].sum() + (CAPACITY - above.sum()) * y[tied].mean()
    f = replayed.figures
    assert (f["mqls"], f["sqls"]) == (len(mine), y.sum())
    assert f["model_auc"] == pytest.approx(roc_auc_score(y, proba), abs=1e-4)
    assert f["persona_auc"] == pytest.approx(roc_auc_score(y, persona), abs=1e-4)
    assert f["model_sqls_in_capacity"] == top_model
    assert f["persona_sqls_in_capacity"] == pytest.approx(top_persona, abs=0.01)
    assert f["random_sqls_in_capacity"] == pytest.approx(CAPACITY * y.mean(), abs=0.01)
    assert f["model_expected_sqls"] == pytest.approx(proba.sum(), abs=0.01)
    assert (f["persona_passed"], f["persona_passed_sqls"]) == ((persona == 1).sum(), y[persona == 1].sum())
    assert replayed.training["mature_leads"] == (leads["mql_at"] + pd.Timedelta(days=30) <= week.start).sum()


# ---------------------------------------------------------------------------------------------------
# the command, once, on a short export: persona-only weeks first, then weeks with a model


def test_backtest_flow_and_its_table_on_a_short_export(prefect_harness, tmp_path):
    from features.synthetic import generate
    from pipelines.cli import render
    from pipelines.flows import backtest_flow
    from pipelines.settings import Settings

    crm = generate(1200, 4, 3)  # 17 weeks of history: the early weeks have too few known outcomes to train
    crm.leads.to_csv(tmp_path / "leads.csv", index=False)
    crm.activities.to_csv(tmp_path / "acts.csv", index=False)
    ws = tmp_path / "ws"
    settings = Settings(workspace=ws, capacity=None, train={"num_threads": 1})
    s = backtest_flow(tmp_path / "leads.csv", tmp_path / "acts.csv", SYNTHETIC_CONFIG, settings, weeks=12)
    weeks = s["weeks"]
    assert len(weeks) == s["total"]["weeks"] == 12 and len(s["not_mature"]) == 6  # the export ends on a Monday
    mondays = pd.to_datetime([w["week_of"] for w in weeks])
    assert (mondays.dayofweek == 0).all() and (np.diff(mondays.values) == np.timedelta64(7, "D")).all()
    status = [w["status"] for w in weeks]
    first_model = status.index("model")
    assert first_model > 0 and set(status[:first_model]) == {"persona_rule"}
    assert set(status[first_model:]) == {"model"}
    for w in weeks[:first_model]:  # the persona rule is still judged; the model columns stay empty
        assert "persona rule stays in place" in w["note"] and w["model_auc"] is None
        assert w["persona_sqls_in_capacity"] <= w["best_sqls_in_capacity"]
    total = s["total"]
    assert total["weeks_persona_only"] == first_model and total["weeks_with_model"] == 12 - first_model
    assert total["sqls"] == sum(w["sqls"] for w in weeks)
    assert total["model_weeks"]["model_sqls_in_capacity"] == pytest.approx(
        sum(w["model_sqls_in_capacity"] for w in weeks[first_model:])
    )
    median = np.median([w["mqls"] for w in weeks])
    assert s["capacity"] == {
        "leads": round(0.2 * median),
        "source": f"20% of the median weekly MQL volume ({median:g})",
    }
    table = pd.read_csv(s["files"]["csv"], encoding="utf-8-sig")
    assert table["week_of"].tolist() == [w["week_of"] for w in weeks]
    assert table["sqls"].tolist() == [w["sqls"] for w in weeks]
    saved = json.loads(Path(s["files"]["json"]).read_text(encoding="utf-8"), parse_constant=_refuse)
    assert saved["total"] == total  # strict JSON: a missing figure is null, never NaN
    # a replay registers nothing and leaves the list alone
    # the list, the registry and MLflow untouched: only the table and the (shared) feature cache
    assert sorted(p.name for p in ws.iterdir()) == ["backtest", "cache"]
    # the command's table: one row per week, persona-only weeks flagged, the total row
    with render.console.capture() as captured:
        render.print_backtest(s)
    printed = captured.get()
    assert printed.count("persona only") == first_model and weeks[0]["week_of"] in printed
    assert f"top {s['capacity']['leads']}" in printed and re.search(
        rf"total\s+{total['mqls']:,}\s+{total['sqls']:,}\s", printed
    )


def test_backtest_documents_its_options():
    from pipelines.cli import app

    r = CliRunner().invoke(app, ["backtest", "--help"], terminal_width=200)
    assert r.exit_code == 0
    for opt in ("--weeks", "--capacity", "--leads", "--activities", "--config", "--workspace", "--json"):
        assert opt in r.output
