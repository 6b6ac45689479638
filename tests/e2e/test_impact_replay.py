"""Ten weeks of lists replayed on a generated export, then `impact`, checked against the generator's truth.

One model is trained at an early as-of; ten weekly as-of moments then score their open leads with a control
group of 20% and a capacity, and publish each list to the archive as the weekly run does (in-process: the
library functions, not ten flows). ``impact`` then runs at the export's end, when every list's horizon has
passed, and its table is checked against outcomes computed here from ``truth.csv``: SQLs per tier exactly,
realised against expected SQLs within 4 sigma of their Poisson-binomial spread, and the lift's interval
covering the lift the generator implies.

The replay itself (and its control assignment) is tests/e2e/replay.py, shared with the page's screenshot.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from serving import impact
from tests.e2e.replay import CAPACITY, SALT, SHARE, WEEKS, build_replay, write_export

# the generator's MQL-to-SQL delay (features/synthetic.py): gamma(1.3, scale 5) days, capped at horizon - 0.5
DELAY_SHAPE, DELAY_SCALE = 1.3, 5.0


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return build_replay(tmp_path_factory.mktemp("replay"))


def _archived(lists) -> list[tuple[dict, pd.DataFrame, pd.DataFrame]]:
    """Each archived list by hand: its summary, list.parquet and list_assignment.parquet, oldest first."""
    out = []
    for f in sorted((lists / "archive").iterdir()):
        summary = json.loads((f / "list_summary.json").read_text())
        out.append((summary, pd.read_parquet(f / "list.parquet"), pd.read_parquet(f / "list_assignment.parquet")))
    return sorted(out, key=lambda x: x[0]["as_of"])


def test_every_week_is_realised_and_its_sqls_per_tier_are_exact(replay):
    truth = replay["crm"].truth.set_index("lead_id")["converted"]
    weeks = replay["report"]["weeks"]
    assert [w["status"] for w in weeks] == ["realised"] * WEEKS
    for (summary, listed, _), week in zip(_archived(replay["lists"]), weeks, strict=True):
        assert week["week_of"] == pd.Timestamp(summary["as_of"]).strftime("%Y-%m-%d %H:%M")
        tier = listed["tier"].replace("", "control").to_numpy()
        done = truth.reindex(listed["lead_id"]).to_numpy()
        by_hand = pd.Series(done).groupby(tier).agg(["size", "sum"])
        got = {t: (v["leads"], v["sqls"]) for t, v in week["sqls_by_tier"].items()}
        assert got == {t: (int(r["size"]), int(r["sum"])) for t, r in by_hand.iterrows()}
        assert week["sqls"] == int(done.sum()) and week["leads_unknown"] == 0


def _age_days(summary: dict, listed: pd.DataFrame) -> np.ndarray:
    return (pd.Timestamp(summary["as_of"]) - pd.to_datetime(listed["mql_at"])).dt.total_seconds().to_numpy() / 86400


def test_realised_sqls_are_within_the_noise_of_what_the_scores_expected(replay):
    """Calibration in production: the realised total within 4 sigma of the expected one, each lead once.

    Expected by hand: each listed lead's model probability given it had not converted by the moment of its
    first worked list (else its first list), with the share of SQLs slower than its age measured on the
    export (MQL to SQL Date).
    """
    leads = replay["crm"].leads
    delay = (pd.to_datetime(leads["SQL Date"]) - pd.to_datetime(leads["MQL Date"])).dt.total_seconds() / 86400
    delays = np.sort(delay.dropna().to_numpy())
    truth = replay["crm"].truth.set_index("lead_id")["converted"]
    rows = []
    for summary, listed, assignment in _archived(replay["lists"]):
        a = assignment.set_index("lead_id").loc[listed["lead_id"]]
        p = a["p_model"].to_numpy()
        survive = 1 - np.searchsorted(delays, _age_days(summary, listed), side="right") / len(delays)
        q = p * survive / (1 - p + p * survive)
        y = truth.reindex(listed["lead_id"]).to_numpy()
        rows.append(pd.DataFrame({"lead_id": listed["lead_id"], "q": q, "y": y, "worked": a["worked"].to_numpy()}))
    rows = pd.concat(rows, ignore_index=True)
    worked = rows[rows["worked"]].drop_duplicates("lead_id")
    once = pd.concat([worked, rows[~rows["lead_id"].isin(worked["lead_id"])].drop_duplicates("lead_id")])
    sigma = np.sqrt((once["q"] * (1 - once["q"])).sum())
    total = replay["report"]["total"]
    assert total["leads"] == len(once) == rows["lead_id"].nunique() and total["lead_weeks"] == len(rows)
    assert total["sqls"] == int(once["y"].sum())  # the listed leads that converted, each once
    assert total["expected_sqls"] == pytest.approx(once["q"].sum(), rel=1e-3)  # the list keeps mql_at to the minute
    assert total["realised_sqls_scored"] == int(once["y"].sum())
    assert abs(once["y"].sum() - once["q"].sum()) <= 4 * sigma
    # the plain sum of the scores counts the SQLs that happened before each list: far above what was left
    assert total["score_sum"] - total["realised_sqls_scored"] > 6 * sigma
    # every week had a control group: the total's worked leads are the lift's model group, same rate
    lift = replay["report"]["lift"]
    assert (total["worked"]["leads"], total["worked"]["rate"]) == (lift["model"]["worked_leads"], lift["model"]["rate"])


def test_the_lift_interval_covers_the_lift_the_generator_implies(replay):
    """The generator's lift: its p_true of the worked leads of each group (each lead once, the first week it
    was worked), given the lead was still open then (the generator's own delay distribution)."""
    truth = replay["crm"].truth.set_index("lead_id")["p_true"]
    first: dict[str, tuple[str, float]] = {}
    for summary, listed, assignment in _archived(replay["lists"]):
        a = assignment.set_index("lead_id")
        age = pd.Series(_age_days(summary, listed), index=listed["lead_id"].to_numpy())
        for lead in a.index[a["worked"].to_numpy()]:
            if lead not in first:
                p = truth[lead]
                survive = stats.gamma.sf(age[lead], DELAY_SHAPE, scale=DELAY_SCALE) if age[lead] < 29.5 else 0.0
                first[lead] = (a.loc[lead, "group"], p * survive / (1 - p + p * survive))
    frame = pd.DataFrame(first.values(), columns=["group", "q_true"])
    implied = frame.groupby("group")["q_true"].mean()
    implied_lift = implied["model"] - implied["control"]
    lift = replay["report"]["lift"]
    assert lift["model"]["worked_leads"] + lift["control"]["worked_leads"] == len(frame)
    assert lift["lift_low"] <= implied_lift <= lift["lift_high"]
    assert lift["lift_low"] < lift["lift"] < lift["lift_high"]
    assert implied_lift > 0.02  # the generator's model group is better: a lift the interval could miss


def test_lists_younger_than_the_horizon_are_pending(replay):
    lists = impact.read_archive(replay["lists"] / "archive")
    as_of = lists[-1].as_of + pd.Timedelta(days=10)
    export = replay["export"]
    report = impact.impact_report(lists, export.leads, export.activities, config=replay["config"], as_of=as_of)
    status = [w["status"] for w in report["weeks"]]
    # ten days after the last list, the lists of the 30 days before that one are still inside their horizon
    assert status == ["realised"] * 7 + ["pending"] * 3
    assert report["weeks"][-1]["due"] == (lists[-1].as_of + pd.Timedelta(days=30)).strftime("%Y-%m-%d")


@pytest.mark.slow
def test_the_command_on_the_replay_prints_writes_and_logs_the_series(replay, prefect_harness):
    """`leadscore impact` on the replay's workspace (~15 s with the session's Prefect server): the same figures
    as the library's, the pages and JSON beside the list, and one MLflow step per realised week."""
    from mlflow.tracking import MlflowClient
    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import SYNTHETIC_CONFIG

    folder = replay["folder"]
    args = ["impact", "--leads", str(folder / "leads.csv"), "--activities", str(folder / "activities.csv")]
    args += ["--config", str(SYNTHETIC_CONFIG), "--workspace", str(folder / "ws")]
    r = CliRunner().invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["lift"] == replay["report"]["lift"] and out["total"] == replay["report"]["total"]
    lists = folder / "ws" / "lists"
    assert {p.name for p in lists.glob("latest_impact*")} == {
        "latest_impact.html", "latest_impact_es.html", "latest_impact.json"
    }  # fmt: skip
    assert "¿funcionó la lista?" in (lists / "latest_impact_es.html").read_text(encoding="utf-8")
    client = MlflowClient(tracking_uri=f"sqlite:///{(folder / 'ws' / 'mlflow.db').resolve()}")
    history = client.get_metric_history(out["mlflow"]["run_id"], "impact/realised_sqls")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == [w["sqls"] for w in out["weeks"]]


@pytest.fixture(scope="module")
def cli_replay(tmp_path_factory, prefect_api_url):
    """The replay as a team runs it: ten `python -m pipelines.cli weekly --as-of Tk --capacity 80` runs (each
    retrains, as the weekly job does) with LEADSCORE_CONTROL_SHARE=0.2, then `impact --as-of <end> --json`,
    each in its own process (the session's Prefect server: no temporary server per process)."""
    import os
    import subprocess
    import sys

    from models.train import default_as_of
    from tests.conftest import SYNTHETIC_CONFIG

    made = write_export(tmp_path_factory.mktemp("cli_replay"))
    folder, export = made["folder"], made["export"]
    env = {
        **os.environ, "PREFECT_API_URL": prefect_api_url, "LEADSCORE_CONTROL_SHARE": str(SHARE),
        "LEADSCORE_CONTROL_SALT": SALT, "LEADSCORE_TRAIN__SEARCH_BUDGET_SECONDS": "0",
        "LEADSCORE_TRAIN__NUM_THREADS": "1",
    }  # fmt: skip
    files = ["--leads", str(folder / "leads.csv"), "--activities", str(folder / "activities.csv")]
    files += ["--config", str(SYNTHETIC_CONFIG), "--workspace", str(folder / "ws")]

    def cli(*args: str) -> dict:
        r = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args, *files, "--json"], capture_output=True, text=True, env=env
        )
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return json.loads(r.stdout)

    for week in range(WEEKS):
        at = made["first"] + pd.Timedelta(days=7 * week)
        run = cli("weekly", "--as-of", f"{at:%Y-%m-%dT%H:%M:%S}", "--capacity", str(CAPACITY))
        assert run["list"]["kind"] == "weekly" and run["list"]["control"]["share"] == SHARE
    end = default_as_of(export.leads, export.activities)
    report = cli("impact", "--as-of", f"{end:%Y-%m-%dT%H:%M:%S}")
    return {"crm": made["crm"], "lists": folder / "ws" / "lists", "report": report}


@pytest.mark.slow
def test_the_replay_through_the_command_line_passes_the_same_checks(cli_replay):
    """The literal replay: the real CLI, ten weekly runs with --as-of, then impact; checked as above against
    truth.csv (SQLs per tier exact, calibration within 4 sigma, the lift's interval covering the generator's)."""
    test_every_week_is_realised_and_its_sqls_per_tier_are_exact(cli_replay)
    test_realised_sqls_are_within_the_noise_of_what_the_scores_expected(cli_replay)
    test_the_lift_interval_covers_the_lift_the_generator_implies(cli_replay)
