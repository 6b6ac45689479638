"""The promotion policy, `leadscore models` and `leadscore rollback`.

The policy's rules are tested as plain functions with an injected clock; the registry scenario (train
twice, list, roll back, score) runs real Prefect flows on a real SQLite MLflow store.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from models import promotion
from models import tracking as trk
from models.promotion import ChampionFacts, PromotionPolicy, judge
from pipelines.cli import app
from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG

NOW = datetime(2026, 6, 1, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_store_only(monkeypatch):
    # the CLI reads MLFLOW_TRACKING_URI before the workspace's store; another module's test may leave it set
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def champion(auc: float | None = 0.80, age_days: float = 10, **kw) -> ChampionFacts:
    return ChampionFacts("1", auc, age_days, **kw)


def verdict(challenger_auc: float, champ: ChampionFacts | None, policy: PromotionPolicy | None = None, **kw):
    return judge(
        policy or PromotionPolicy(), version="2", challenger_auc=challenger_auc, rows=500, champion=champ, now=NOW, **kw
    )


@pytest.mark.parametrize(
    ("challenger_auc", "tolerance", "outcome", "rule"),
    [
        (0.81, 0.005, "promoted", promotion.AUC_OK),
        (0.796, 0.005, "promoted", promotion.AUC_OK),  # within the tolerance
        (0.794, 0.005, "kept", promotion.AUC_LOW),
        (0.794, 0.01, "promoted", promotion.AUC_OK),
        (0.80, 0.0, "promoted", promotion.AUC_OK),  # a tie promotes the newer model
    ],
)
def test_the_auc_rule_promotes_within_the_tolerance(challenger_auc, tolerance, outcome, rule):
    v = verdict(challenger_auc, champion(0.80), PromotionPolicy(tolerance=tolerance))
    assert (v.outcome, v.rule) == (outcome, rule)
    assert f"AUC {challenger_auc:.4f} vs champion v1 0.8000 on the same 500 newest leads" in v.reason


@pytest.mark.parametrize(
    ("age_days", "max_age", "outcome", "rule"),
    [
        (91, 90, "promoted", promotion.TOO_OLD),
        (89, 90, "kept", promotion.AUC_LOW),
        (31, 30, "promoted", promotion.TOO_OLD),
        (5000, 0, "kept", promotion.AUC_LOW),  # 0 switches the age rule off
    ],
)
def test_an_old_champion_is_replaced_whatever_the_auc(age_days, max_age, outcome, rule):
    v = verdict(0.70, champion(0.80, age_days), PromotionPolicy(max_champion_age_days=max_age))
    assert (v.outcome, v.rule) == (outcome, rule)
    if rule == promotion.TOO_OLD:
        assert v.reason.startswith(f"promoted: champion v1 is {age_days} days old (maximum {max_age})")


def test_a_rollback_hold_keeps_even_a_better_model_out_until_it_expires():
    held = champion(0.80, 200, hold_until=NOW + timedelta(days=3), hold_note="by Ana at ...: bad tiers")
    v = verdict(0.90, held)
    assert (v.outcome, v.rule) == ("kept", promotion.HOLD) and "by Ana" in v.reason and "AUC 0.9000" in v.reason
    expired = champion(0.80, 200, hold_until=NOW - timedelta(seconds=1))
    assert verdict(0.90, expired).rule == promotion.AUC_OK
    assert verdict(0.70, expired).rule == promotion.TOO_OLD  # after the hold, the whole policy applies again


def test_first_model_and_a_champion_that_cannot_score():
    assert verdict(0.6, None).rule == promotion.FIRST_MODEL
    v = verdict(0.6, champion(None, cannot_score="lacks ['campaign']"))
    assert (v.outcome, v.rule) == ("promoted", promotion.CANNOT_SCORE) and "lacks ['campaign']" in v.reason


def fake_result(*, auc_alone: float = 0.70, model_auc: float = 0.80, sqls: int = 60, rows: int = 400):
    """What the gate reads of a training result: its leak audit, holdout AUC and window counts."""
    audit = pd.DataFrame(
        {
            "feature": ["lead_status", "industry"],
            "source": ["Lead Status", "Industry"],
            "auc_alone": [auc_alone, 0.6],
            "evidence": ["AUC alone 0.97", "AUC alone 0.60"],
        }
    )
    windows = {w: {"rows": rows, "sqls": sqls} for w in ("train", "calibration", "holdout")}
    return SimpleNamespace(
        audit=audit,
        metrics={"model": {"roc_auc": model_auc, "ece": 0.01}},
        windows=windows,
        min_class_count=40,
        holdout_labels=[0, 1],
        holdout_features=None,
        tier_cutoffs={"A": 50.0, "B": 30.0, "C": 10.0},
    )


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"auc_alone": 0.97}, promotion.LEAK),  # one column alone ranks the outcome
        ({"model_auc": 0.96}, promotion.LEAK),  # the model is too good to be true
        ({"sqls": 10}, promotion.MIN_DATA),  # 30 SQLs in all: under the floor of 40
        ({"sqls": 4, "rows": 4000}, promotion.MIN_DATA),  # plenty in all, but a window with 4 SQLs
    ],
)
def test_a_leaky_or_too_small_result_is_refused_even_with_no_champion(kwargs, rule, tmp_path):
    result = fake_result(**kwargs)
    assert [r for r, _ in promotion.refusals(result)] == [rule]
    assert verdict(0.99, None, refused=promotion.refusals(result)).outcome == "refused"
    # decide() refuses before it opens the store: no champion, tolerance or age can talk it round
    store = tmp_path / "mlflow.db"
    decision = trk.decide(trk.Tracking(f"sqlite:///{store}", "e", "m"), "7", result, now=NOW)
    assert (decision.promoted, decision.outcome, decision.rule, decision.alias) == (False, "refused", rule, None)
    assert decision.reason.startswith("refused, never champion:") and not store.exists()


def test_a_clean_result_has_no_refusal():
    assert promotion.refusals(fake_result()) == []


WORSE = {"diff": -0.095, "low": -0.131, "high": -0.058, "verdict": "worse"}


@pytest.mark.parametrize("champ", [None, champion(0.50)])
def test_a_model_clearly_worse_than_the_logistic_regression_stays_a_challenger(champ):
    # whatever the champion's AUC (here far lower) and even with no champion at all
    v = verdict(0.90, champ, versus_logistic=WORSE)
    assert (v.outcome, v.rule) == ("kept", promotion.WORSE_THAN_LOGISTIC)
    assert v.reason == (
        "kept as challenger: on its own holdout it is clearly worse than the logistic-regression baseline "
        "(AUC -0.095, 95% interval -0.131 to -0.058); " + ("no champion yet" if champ is None else "champion v1 stays")
    )
    # a leak still refuses outright, before this rule
    assert verdict(0.90, champ, versus_logistic=WORSE, refused=[(promotion.LEAK, "x")]).outcome == "refused"


@pytest.mark.parametrize("versus", ["no clear difference", "better"])
def test_a_model_not_clearly_worse_than_the_logistic_regression_goes_on_to_the_other_rules(versus):
    v = verdict(0.6, None, versus_logistic={"diff": -0.01, "low": -0.03, "high": 0.01, "verdict": versus})
    assert (v.outcome, v.rule) == ("promoted", promotion.FIRST_MODEL)


def test_the_policy_comes_from_the_settings_and_the_old_name_still_works(monkeypatch):
    monkeypatch.setenv("LEADSCORE_PROMOTION__MAX_CHAMPION_AGE_DAYS", "30")
    monkeypatch.setenv("LEADSCORE_PROMOTION__ROLLBACK_HOLD_DAYS", "0")
    s = Settings()
    assert (s.promotion.tolerance, s.promotion.max_champion_age_days, s.promotion.rollback_hold_days) == (0.005, 30, 0)
    monkeypatch.setenv("LEADSCORE_GATE_TOLERANCE", "0.02")
    assert Settings().promotion.tolerance == Settings().gate_tolerance == 0.02
    monkeypatch.setenv("LEADSCORE_PROMOTION__TOLERANCE", "0.03")  # the new name wins
    assert Settings().promotion.tolerance == Settings().gate_tolerance == 0.03


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("models", ["--workspace", "--json"]),
        ("rollback", ["--to", "--reason", "--by", "--config", "--hold-days", "--workspace", "--json"]),
    ],
)
def test_the_registry_commands_document_their_options(command, options):
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for opt in options:
        assert opt in result.output


def test_an_empty_workspace_has_no_models_and_gets_no_store(tmp_path):
    ws = tmp_path / "ws"
    r = runner.invoke(app, ["models", "--workspace", str(ws), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["versions"] == []
    r = runner.invoke(app, ["models", "--workspace", str(ws)], terminal_width=200)
    assert r.exit_code == 0 and "no models yet" in " ".join(r.output.split())
    r = runner.invoke(app, ["rollback", "--workspace", str(ws), "--json"])
    assert r.exit_code == 2 and "no MLflow store" in json.loads(r.stdout)["error"]
    assert not ws.exists()


# ---------------------------------------------------------------------------------------------------
# the scenario: two trained versions, the list, a rollback, the next scoring run. The tests below run
# in file order on one registry: each starts where the previous one left it.


@pytest.fixture(scope="module")
def two_versions(prefect_harness, export_files, tmp_path_factory):
    from pipelines.flows import train_flow

    ws = tmp_path_factory.mktemp("ws-registry")
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", train={"num_threads": 1})
    first = train_flow(*export_files, SYNTHETIC_CONFIG, settings)
    second = train_flow(*export_files, SYNTHETIC_CONFIG, settings)
    return settings, first, second


def cli(settings: Settings, *args: str):
    r = runner.invoke(app, [*args, "--workspace", str(settings.workspace), "--json"])
    return r.exit_code, json.loads(r.stdout)


def test_models_lists_every_version_with_its_figures(two_versions):
    settings, first, second = two_versions
    # the same export twice: equal AUCs, so the second version wins on the AUC rule, at age ~0
    assert (first["gate"]["rule"], second["gate"]["rule"]) == (promotion.FIRST_MODEL, promotion.AUC_OK)
    assert second["gate"]["promoted"] and 0 <= second["gate"]["champion_age_days"] < 0.05
    code, s = cli(settings, "models")
    assert code == 0 and [v["version"] for v in s["versions"]] == ["2", "1"]
    v2, v1 = s["versions"]
    assert v2["aliases"] == ["champion"] and v1["aliases"] == []
    assert v1["metrics"]["roc_auc"] == pytest.approx(first["metrics"]["model"]["roc_auc"])
    assert v1["metrics"]["ece"] == pytest.approx(first["metrics"]["model"]["ece"])
    assert v1["windows"]["train"]["last_mql"] == first["windows"]["train"]["last_mql"]
    assert v1["windows"]["holdout"]["first_mql"] == first["windows"]["holdout"]["first_mql"]
    assert v1["tier_cutoffs"] == first["tier_cutoffs"] and v1["dataset"] == "synthetic"
    assert (v1["gate_rule"], v2["gate_rule"]) == (promotion.FIRST_MODEL, promotion.AUC_OK)
    assert v2["gate_decision"] == second["gate"]["reason"]
    assert [h["version"] for h in s["champion_history"]] == ["1", "2"] and s["hold"] is None
    r = runner.invoke(app, ["models", "--workspace", str(settings.workspace)], terminal_width=220)
    out = " ".join(r.output.split())
    assert r.exit_code == 0 and "auc-within-tolerance" in out and "Champion history" in out


def test_rollback_refuses_what_it_cannot_do_and_changes_nothing(two_versions, tmp_path):
    settings, *_ = two_versions
    client = MlflowClient(settings.resolved_tracking_uri())
    before = client.get_registered_model("lead-scoring")
    no_campaign = tmp_path / "no_campaign.toml"
    text = SYNTHETIC_CONFIG.read_text()
    no_campaign.write_text(
        text.replace('name = "campaign",     role = "categorical"', 'name = "campaign", role = "exclude"')
    )
    assert no_campaign.read_text() != text
    for args, message in (
        (["--to", "9"], "no version 9 of 'lead-scoring' (versions: 1, 2)"),
        (["--to", "2"], "v2 is already the champion"),
        (["--to", "1", "--config", str(no_campaign)], "v1 cannot score this dataset"),
    ):
        code, s = cli(settings, "rollback", *args, "--reason", "test")
        assert code == 2 and message in s["error"] and "nothing was changed" in s["error"], s
    after = client.get_registered_model("lead-scoring")
    assert (after.aliases, after.tags) == (before.aliases, before.tags)
    assert trk.ROLLED_BACK_TAG not in client.get_model_version("lead-scoring", "2").tags


def test_rollback_then_score_uses_the_previous_version(two_versions, export_files, tmp_path):
    from pipelines.flows import score_flow

    settings, *_ = two_versions
    code, s = cli(settings, "rollback", "--reason", "SDRs report tier A full of students", "--by", "Ana")
    assert code == 0, s
    assert (s["from_version"], s["to_version"], s["by"]) == ("2", "1", "Ana")
    until = datetime.fromisoformat(s["hold_until"]) - datetime.fromisoformat(s["at"])
    assert until == timedelta(days=settings.promotion.rollback_hold_days)
    summary = score_flow(*export_files, tmp_path / "list.csv", settings)
    listed = pd.read_csv(tmp_path / "list.csv")
    assert summary["model_version"] == "1" and listed["model_version"].astype(str).unique().tolist() == ["1"]
    # who and why are on both versions, in the champion history, and in the list of versions
    _, models = cli(settings, "models")
    v2, v1 = models["versions"]
    assert v1["aliases"] == ["champion"] and v2["aliases"] == []
    assert v2["rolled_back"]["by"] == "Ana" and v2["rolled_back"]["to"] == "1"
    assert v1["champion_by_rollback"]["reason"] == "SDRs report tier A full of students"
    assert models["champion_history"][-1] | {"at": ""} == {
        "at": "",
        "version": "1",
        "how": "rollback",
        "from": "2",
        "by": "Ana",
        "reason": "SDRs report tier A full of students",
    }
    assert models["hold"]["version"] == "1"
    # rolling back again goes further back, never forward to the version just rolled back: none is left
    code, s = cli(settings, "rollback")
    assert code == 2 and "no earlier champion" in s["error"]


def test_the_next_run_keeps_the_held_champion_then_the_policy_resumes(two_versions, canonical, config):
    """What the next weekly run's gate does after the rollback, with the clock moved on.

    The new version is judged on real leads (the newest mature ones) with an AUC 0.05 below the
    champion's there, so that only the hold or the age rule can decide.
    """
    from sklearn.metrics import roc_auc_score

    from features.build import build_features
    from models.train import default_as_of, labels_for

    settings, *_ = two_versions
    tracking = settings.tracking(config.name)
    leads, acts = canonical
    labels = labels_for(leads, config, default_as_of(leads, acts)).set_index("lead_id")
    newest = labels[labels["state"] == "mature"].sort_values("mql_at").tail(900)
    X, y = build_features(leads, acts, config=config).loc[newest.index], newest["label"].to_numpy()
    champion_auc = roc_auc_score(y, trk.load_scorer(tracking, "models:/lead-scoring/1").predict_proba(X))
    result = fake_result(model_auc=champion_auc - 0.05)
    result.holdout_features, result.holdout_labels = X, y
    mv = MlflowClient(settings.resolved_tracking_uri()).get_model_version("lead-scoring", "2")
    v3 = trk.register(tracking, mv.source, mv.run_id, result, by=trk.DEFAULT_SETTER, dataset=config.name)
    now = datetime.now(UTC)

    def decide(days: float) -> trk.GateDecision:
        return trk.decide(tracking, v3, result, policy=settings.promotion, now=now + timedelta(days=days))

    held = decide(0)
    assert (held.outcome, held.rule, held.previous_champion) == ("kept", promotion.HOLD, "1")
    assert "held after a rollback" in held.reason and "by Ana" in held.reason
    assert held.champion_auc == pytest.approx(champion_auc)
    assert (decide(15).outcome, decide(15).rule) == ("kept", promotion.AUC_LOW)  # hold over, AUC too low
    old = decide(100)  # age = time since v1 was registered
    assert (old.outcome, old.rule) == ("promoted", promotion.TOO_OLD) and old.champion_age_days == pytest.approx(
        100, abs=0.1
    )
    # the version a person rolled back is never promoted by the gate
    rolled = trk.decide(tracking, "2", result, policy=settings.promotion, now=now + timedelta(days=100))
    assert (rolled.outcome, rolled.rule) == ("refused", promotion.ROLLED_BACK) and "by Ana" in rolled.reason
    # this run ends as the weekly flow would end it now: v3 is the challenger
    client = MlflowClient(settings.resolved_tracking_uri())
    trk.apply_decision(tracking, client.create_run(tracking.experiment_id()).info.run_id, held)
    assert str(client.get_model_version_by_alias("lead-scoring", "challenger").version) == v3


def test_a_refused_version_gets_no_alias_and_cannot_be_rolled_back_to(two_versions):
    settings, *_ = two_versions
    tracking = settings.tracking("synthetic")
    client = MlflowClient(settings.resolved_tracking_uri())
    mv = client.get_model_version("lead-scoring", "1")
    leaky = fake_result(auc_alone=0.97)
    version = trk.register(tracking, mv.source, mv.run_id, leaky, by=trk.DEFAULT_SETTER, dataset="synthetic")
    run = client.create_run(tracking.experiment_id())
    trk.apply_decision(tracking, run.info.run_id, trk.decide(tracking, version, leaky, now=NOW))
    assert client.get_model_version("lead-scoring", version).aliases == []
    assert client.get_model_version("lead-scoring", version).tags["gate_rule"] == promotion.LEAK
    assert str(client.get_model_version_by_alias("lead-scoring", "champion").version) == "1"
    code, s = cli(settings, "rollback", "--to", version)
    assert code == 2 and "refused by the promotion policy" in s["error"]
    other = trk.register(tracking, mv.source, mv.run_id, fake_result(), by=trk.DEFAULT_SETTER, dataset="another_crm")
    code, s = cli(settings, "rollback", "--to", other)
    assert code == 2 and "trained on dataset 'another_crm'" in s["error"]


def test_a_person_promotes_the_challenger_by_hand_and_ends_the_hold(two_versions):
    settings, *_ = two_versions
    client = MlflowClient(settings.resolved_tracking_uri())
    challenger = str(client.get_model_version_by_alias("lead-scoring", "challenger").version)
    code, s = cli(settings, "rollback", "--to", challenger, "--hold-days", "0", "--reason", "checked by hand")
    assert code == 0 and s["hold_until"] is None, s
    model = client.get_registered_model("lead-scoring")
    assert {k: str(v) for k, v in model.aliases.items()} == {
        "champion": challenger
    }  # one alias per role: no longer also the challenger
    assert trk.HOLD_TAG not in model.tags
    assert json.loads(client.get_model_version("lead-scoring", "1").tags[trk.ROLLED_BACK_TAG])["to"] == challenger
    assert trk.champion_history(trk.Tracking(settings.resolved_tracking_uri(), "e", "lead-scoring"))[-1]["by"]


def test_a_store_from_before_the_history_starts_it_with_the_champion_replaced(two_versions):
    settings, *_ = two_versions
    tracking = settings.tracking("synthetic")
    client = MlflowClient(settings.resolved_tracking_uri())
    client.delete_registered_model_tag("lead-scoring", trk.CHAMPION_HISTORY_TAG)  # as a store written before it
    old = str(client.get_model_version_by_alias("lead-scoring", "champion").version)
    promoted = trk.GateDecision(True, "2", old, 0.8, 0.8, 0.005, "promoted: test", promotion.AUC_OK, "promoted")
    trk.apply_decision(tracking, client.create_run(tracking.experiment_id()).info.run_id, promoted)
    assert [(h["version"], h["how"]) for h in trk.champion_history(tracking)] == [
        (old, "before-history"),
        ("2", promotion.AUC_OK),
    ]
    code, s = cli(settings, "rollback", "--reason", "back again")
    assert code == 0 and (s["from_version"], s["to_version"]) == ("2", old), s


def test_scoring_another_models_version_logs_its_drift_and_writes_the_list(two_versions, export_files, tmp_path):
    # the settings name a model with no versions; --model names the one that scores (a traceback and no
    # list before the fix: the drift series was looked up under the settings' name)
    settings, *_ = two_versions
    out = tmp_path / "list.csv"
    r = runner.invoke(
        app,
        ["score", "--leads", str(export_files[0]), "--activities", str(export_files[1]), "--out", str(out)]
        + ["--model", "models:/lead-scoring/1", "--workspace", str(settings.workspace), "--json"],
        env={"LEADSCORE_MODEL_NAME": "other"},
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["model_version"] == "1" and out.is_file()
    monitor = MlflowClient(settings.resolved_tracking_uri()).get_run(s["drift"]["mlflow"]["monitor_run_id"])
    assert monitor.data.tags[trk.DRIFT_MONITOR_TAG] == "lead-scoring"


def test_a_first_model_worse_than_the_logistic_regression_becomes_challenger_not_champion(two_versions):
    """Real MLflow: a registered model with no champion yet, which its holdout shows worse than logistic."""
    settings, *_ = two_versions
    client = MlflowClient(settings.resolved_tracking_uri())
    mv = client.get_model_version("lead-scoring", "1")
    tracking = dataclasses.replace(settings.tracking("synthetic"), model_name="fresh")  # a name with no champion
    result = fake_result()
    result.comparisons = {"logistic_regression": WORSE}
    version = trk.register(tracking, mv.source, mv.run_id, result, by=trk.DEFAULT_SETTER, dataset="synthetic")
    decision = trk.decide(tracking, version, result, now=NOW)
    assert (decision.promoted, decision.outcome, decision.rule, decision.alias) == (
        False,
        "kept",
        promotion.WORSE_THAN_LOGISTIC,
        trk.CHALLENGER,
    )
    assert decision.previous_champion is None and decision.reason.endswith("no champion yet")
    run = client.create_run(tracking.experiment_id())
    trk.apply_decision(tracking, run.info.run_id, decision)
    assert client.get_model_version("fresh", version).aliases == [trk.CHALLENGER]
    assert client.get_model_version("fresh", version).tags["gate_rule"] == promotion.WORSE_THAN_LOGISTIC
    assert trk.champion_version(tracking) is None
    assert client.get_run(run.info.run_id).data.tags["gate_decision"] == decision.reason
