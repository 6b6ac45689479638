"""The weekly flow end to end: real Prefect flow runs, a real SQLite MLflow store, real LightGBM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from features.config import load_config
from features.contract import load_export
from models.train import default_as_of
from pipelines.settings import Settings
from tests.conftest import SYNTHETIC_CONFIG


@pytest.fixture(scope="module")
def weekly_twice(prefect_harness, export_files, tmp_path_factory):
    from pipelines.flows import weekly_flow

    ws = tmp_path_factory.mktemp("workspace")
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", train={"num_threads": 1})
    leads, acts = export_files
    first = weekly_flow(leads, acts, SYNTHETIC_CONFIG, settings)
    first_list = pd.read_csv(ws / "lists" / "latest.csv")
    second = weekly_flow(leads, acts, SYNTHETIC_CONFIG, settings)
    return settings, first, first_list, second


def test_every_open_lead_is_listed_exactly_once_or_rejected(weekly_twice, crm):
    settings, first, first_list, _ = weekly_twice
    listed = pd.read_csv(settings.workspace / "lists" / "latest.csv")
    rejects = pd.read_csv(settings.workspace / "lists" / "latest_rejects.csv")
    assert listed["lead_id"].is_unique
    assert set(listed["lead_id"]) | set(rejects["lead_id"].dropna()) == set(crm.open_ids())
    assert listed["rank"].tolist() == list(range(1, len(listed) + 1))
    assert listed["score"].is_monotonic_decreasing
    assert set(listed["tier"]) <= {"A", "B", "C", "D"}
    assert listed["reason_1"].str.match(r"^[▲▼] ").all()
    assert {"first_name", "email", "company"} <= set(listed.columns)  # SDRs need to reach the lead
    assert first["list"]["rows"] == len(first_list) == len(listed)


def test_first_model_is_champion_and_second_run_applies_the_gate(weekly_twice):
    settings, first, _, second = weekly_twice
    client = MlflowClient(settings.resolved_tracking_uri())
    assert first["gate"]["promoted"] and first["gate"]["version"] == "1"
    assert second["gate"]["version"] == "2" and second["gate"]["champion_auc"] is not None
    champion = str(client.get_model_version_by_alias("lead-scoring", "champion").version)
    alias = "champion" if second["gate"]["promoted"] else "challenger"
    assert str(client.get_model_version_by_alias("lead-scoring", alias).version) == "2"
    assert champion == ("2" if second["gate"]["promoted"] else "1")
    run = client.get_run(second["mlflow"]["run_id"])
    assert run.data.tags["gate_decision"] == second["gate"]["reason"]
    assert run.data.metrics["gate.champion_auc"] == pytest.approx(second["gate"]["champion_auc"])
    assert "model.roc_auc" in run.data.metrics and "persona_rule.roc_auc" in run.data.metrics
    assert "logistic_regression.roc_auc" in run.data.metrics
    mv = client.get_model_version("lead-scoring", "2")
    assert set(mv.tags) >= {"tier_cutoffs", "tier_cutoffs_set_by", "gate_decision", "holdout_auc"}


def test_the_list_uses_the_champion_of_the_run(weekly_twice):
    settings, _, _, second = weekly_twice
    listed = pd.read_csv(settings.workspace / "lists" / "latest.csv")
    client = MlflowClient(settings.resolved_tracking_uri())
    expected = (
        "2"
        if second["gate"]["promoted"]
        else str(client.get_model_version_by_alias("lead-scoring", "champion").version)
    )
    assert listed["model_version"].astype(str).unique().tolist() == [expected]


def test_the_repeated_run_reuses_the_feature_table_of_the_first(weekly_twice):
    from pipelines.feature_cache import folder_of

    settings, first, _, second = weekly_twice
    assert first["features"]["cache"] == "built" and second["features"] == {**first["features"], "cache": "reused"}
    assert [p.stem for p in folder_of(settings.workspace).glob("*.parquet")] == [first["features"]["key"]]


def test_no_pii_anywhere_in_the_mlflow_store(weekly_twice, crm):
    settings, *_ = weekly_twice
    markers = [s.encode() for s in pd.concat([crm.leads["Email"], crm.leads["Phone"]]).head(400)]
    markers += [s.encode() for s in crm.leads["Company"].unique()[:200]]
    blobs = [(settings.workspace / "mlflow.db").read_bytes()]
    blobs += [p.read_bytes() for p in (settings.workspace / "mlartifacts").rglob("*") if p.is_file()]
    hits = [m for m in markers for b in blobs if m in b]
    assert hits == []


def test_pyfunc_model_scores_feature_rows_like_the_batch_scorer(weekly_twice, canonical, config):
    import mlflow.pyfunc

    from features.build import build_features
    from models.tracking import resolve

    settings, *_ = weekly_twice
    tracking = settings.tracking(config.name)
    leads, acts = canonical
    X = build_features(leads.head(200), acts, config=config)
    from models.tracking.client import _tracking_uri

    with _tracking_uri(tracking.tracking_uri):  # set_tracking_uri alone would leak into the environment
        pyfunc = mlflow.pyfunc.load_model("models:/lead-scoring@champion")
    served = np.asarray(pyfunc.predict(X))
    batch = resolve(tracking).scorer.predict_proba(X)
    np.testing.assert_allclose(served, batch, rtol=0, atol=1e-12)


def test_score_flow_uses_the_model_asked_for_and_accounts_for_every_row(weekly_twice, tmp_path, crm):
    from pipelines.flows import score_flow

    settings, *_ = weekly_twice
    leads = crm.leads.head(300).copy()
    leads.loc[5, "MQL Date"] = "not a date"  # one bad row must land in the rejects, not vanish
    path, acts = tmp_path / "new_leads.csv", tmp_path / "new_acts.csv"
    leads.to_csv(path, index=False)
    crm.activities[crm.activities["Lead ID"].isin(leads["Lead ID"])].to_csv(acts, index=False)
    summary = score_flow(path, acts, tmp_path / "out" / "list.csv", settings, model_uri="models:/lead-scoring/1")
    listed = pd.read_csv(tmp_path / "out" / "list.csv")
    rejects = pd.read_csv(tmp_path / "out" / "list_rejects.csv")
    assert summary["model_version"] == "1" and listed["model_version"].astype(str).unique().tolist() == ["1"]
    # impact reads the list at the export's own moment (never scored_at's wall clock), as a score list
    saved = json.loads((tmp_path / "out" / "list_summary.json").read_text())
    export = load_export(path, acts, load_config(SYNTHETIC_CONFIG))
    assert saved["as_of"] == summary["as_of"] == str(default_as_of(export.leads, export.activities))
    assert saved["list"]["kind"] == "score"
    lead_rejects = rejects[rejects["table"] == "leads"]
    assert len(listed) + len(lead_rejects) == 300 and lead_rejects["row"].tolist() == [6]
    # the bad lead's activities are accounted for too, as rejects that say why
    assert (
        rejects.loc[rejects["table"] == "activities", "reason"] == "lead_id: its lead was rejected (see the leads rows)"
    ).all()
    assert "mql_at: not a timestamp" in rejects["reason"].iloc[0]


def test_features_flow_writes_the_table_with_state_and_label(prefect_harness, export_files, tmp_path, crm):
    from pipelines.flows import build_features_flow

    leads, acts = export_files
    summary = build_features_flow(leads, acts, SYNTHETIC_CONFIG, tmp_path / "features.parquet")
    table = pd.read_parquet(tmp_path / "features.parquet")
    assert len(table) == len(crm.leads) == summary["inputs"]["leads_in"]
    assert set(table["state"]) == {"mature", "open"}
    assert (table.loc[table["state"] == "open", "label"] == -1).all()
    assert not {"email", "first_name", "phone", "company"} & set(table.columns)


@pytest.fixture(scope="module")
def fresh_champion(prefect_harness, export_files, tmp_path_factory):
    from pipelines.flows import weekly_flow

    ws = tmp_path_factory.mktemp("ws-guard")
    # compile_predictor = on: the export is below auto's size, and this champion is the one the suite serves
    # compiled through MLflow (models/compiled.py)
    settings = Settings(
        workspace=ws,
        tracking_uri=f"sqlite:///{ws / 'mlflow.db'}",
        train={"num_threads": 1},
        compile_predictor="on",
    )
    weekly_flow(*export_files, SYNTHETIC_CONFIG, settings)
    return settings


def test_compile_on_serves_a_compiled_champion_with_the_boosters_scores(fresh_champion, canonical, config):
    from features.build import build_features
    from models.tracking import resolve

    leads, acts = canonical
    X = build_features(leads.head(500), acts, config=config)
    scorer = resolve(fresh_champion.tracking(config.name)).scorer
    assert scorer.predictor == "compiled", scorer.predictor_reason
    compiled = scorer.predict_proba(X)
    scorer.compiled = None
    np.testing.assert_allclose(compiled, scorer.predict_proba(X), rtol=0, atol=1e-9)


def test_a_leaky_config_stops_the_run_and_leaves_the_champion(fresh_champion, export_files, tmp_path):
    from models.leaks import LeakSuspected
    from pipelines.flows import train_flow

    leaky = tmp_path / "leaky.toml"
    text = SYNTHETIC_CONFIG.read_text()
    leaky.write_text(
        text.replace('name = "lead_status",  role = "exclude"', 'name = "lead_status",  role = "categorical"')
    )
    assert leaky.read_text() != text
    with pytest.raises(LeakSuspected, match="Lead Status"):
        train_flow(*export_files, leaky, fresh_champion)
    client = MlflowClient(fresh_champion.resolved_tracking_uri())
    assert str(client.get_model_version_by_alias("lead-scoring", "champion").version) == "1"
    assert len(client.search_model_versions("name='lead-scoring'")) == 1  # nothing registered


def test_an_export_without_open_leads_keeps_the_previous_list(fresh_champion, crm, export_files, tmp_path):
    from pipelines.flows import weekly_flow

    latest = fresh_champion.workspace / "lists" / "latest.csv"
    before = latest.read_bytes()
    old = crm.leads[~crm.leads["Lead ID"].isin(crm.open_ids())]
    old_file = tmp_path / "old_leads.csv"
    old.to_csv(old_file, index=False)
    summary = weekly_flow(old_file, export_files[1], SYNTHETIC_CONFIG, fresh_champion, as_of=crm.export_at)
    assert summary["list"]["rows"] == 0 and "previous list was kept" in summary["list"]["note"]
    assert latest.read_bytes() == before
    assert "<!DOCTYPE html>" in Path(summary["review_pages"]["review_en"]).read_text()  # the model still gets its page


def test_a_too_small_export_gets_the_minimum_data_message_and_a_persona_list(prefect_harness, tmp_path):
    from features.synthetic import generate
    from pipelines.flows import weekly_flow

    small = generate(150, 12, 3)
    small.leads.to_csv(tmp_path / "leads.csv", index=False)
    small.activities.to_csv(tmp_path / "acts.csv", index=False)
    ws = tmp_path / "ws"
    settings = Settings(workspace=ws, tracking_uri=f"sqlite:///{ws / 'mlflow.db'}", control_share=0.2)
    stale = ws / "lists" / "latest_review.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("last week's page, about a model")
    (ws / "lists" / "latest_assignment.parquet").write_text("last week's assignment, of a model's list")
    summary = weekly_flow(tmp_path / "leads.csv", tmp_path / "acts.csv", SYNTHETIC_CONFIG, settings, capacity=5)
    assert summary["status"] == "persona_rule"
    assert not stale.exists()  # no model this week: no page that reads as if there were one
    # nor an assignment, nor a control group: the persona rule ranks every lead
    assert not (ws / "lists" / "latest_assignment.parquet").exists() and "control" not in summary["list"]
    assert summary["list"]["capacity"]["leads"] == 5 and summary["list"]["kind"] == "persona"
    assert "at least 40 of each are needed" in summary["training"] and "persona rule stays" in summary["training"]
    listed = pd.read_csv(ws / "lists" / "latest.csv")
    assert set(listed["lead_id"]) == set(small.open_ids()) and set(listed["model_version"]) == {"persona-rule"}
    assert listed["this_week"].tolist() == ["yes"] * 5 + ["no"] * (len(listed) - 5) and "group" not in listed
    assert (
        not (ws / "mlflow.db").exists() or not MlflowClient(settings.resolved_tracking_uri()).search_registered_models()
    )


def test_weekly_publishes_the_review_page_logs_it_and_trends_the_second_list(weekly_twice):
    settings, first, first_list, second = weekly_twice
    lists = settings.workspace / "lists"
    en, es = (lists / "latest_review.html").read_text(), (lists / "latest_review_es.html").read_text()
    assert en.startswith("<!DOCTYPE html>") and '<html lang="es">' in es and "this-week" in en
    assert "<section id='fairness'>" in en and "<section id='fairness'>" in es  # the config audits country
    assert {p.name for p in lists.glob("archive/*/list_review*.html")} == {"list_review.html", "list_review_es.html"}
    client = MlflowClient(settings.resolved_tracking_uri())
    run_id = second["mlflow"]["run_id"]
    assert {a.path for a in client.list_artifacts(run_id, "review")} == {"review/review.html", "review/review_es.html"}
    version = second["gate"]["version"]
    assert client.get_model_version("lead-scoring", version).tags["review_page"] == f"runs:/{run_id}/review/review.html"
    # the second list knows each lead's score on the first
    listed = pd.read_csv(lists / "latest.csv")
    before = first_list.set_index("lead_id")["score"]
    assert listed["previous_score"].tolist() == before.loc[listed["lead_id"]].tolist()
    assert set(listed["trend"]) <= {"Improving", "Steady", "Declining"}
    kpis = second["list"]["kpis"]
    assert second["list"]["kind"] == "weekly"
    assert kpis["expected_sqls"] == pytest.approx(listed["score"].sum() / 100, abs=0.01)
    assert kpis["response_by_tier"] is None  # the synthetic export logs no replies


def test_thresholds_set_then_score_uses_them_and_a_bad_set_changes_nothing(weekly_twice, export_files, tmp_path):
    import json as _json
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from models import tracking as trk
    from pipelines.cli import app
    from pipelines.flows import score_flow

    settings, *_ = weekly_twice
    runner, ws = CliRunner(), ["--workspace", str(settings.workspace), "--json"]
    tracking = settings.tracking("default")
    before = trk.cutoff_record(tracking)
    r = runner.invoke(app, ["thresholds", "set", "A=70", "B=45", "C=20", "--by", "Ana", "--note", "capacity 300", *ws])
    assert r.exit_code == 0, r.output
    record = trk.cutoff_record(tracking)
    assert record["current"]["cutoffs"] == {"A": 70.0, "B": 45.0, "C": 20.0} and record["current"]["by"] == "Ana"
    assert [h["cutoffs"] for h in record["history"]] == [before["current"]["cutoffs"], record["current"]["cutoffs"]]
    for bad in (["A=20", "B=45", "C=10"], ["A=170", "B=45", "C=10"], ["A=70", "B=45"], ["A=70", "B=45", "C=9", "A=60"]):
        r = runner.invoke(app, ["thresholds", "set", *bad, "--by", "Ana", "--note", "try", *ws])
        assert r.exit_code == 2 and "nothing was changed" in _json.loads(r.stdout)["error"]
    assert trk.cutoff_record(tracking) == record
    leads, acts = export_files
    summary = score_flow(leads, acts, tmp_path / "list.csv", settings, capacity=50)
    listed = pd.read_csv(tmp_path / "list.csv")
    assert summary["tier_cutoffs"] == {"A": 70.0, "B": 45.0, "C": 20.0}
    assert (listed.loc[listed["score"] >= 70, "tier"] == "A").all() and (
        listed.loc[listed["score"] < 20, "tier"] == "D"
    ).all()
    assert listed["this_week"].tolist() == ["yes"] * 50 + ["no"] * (len(listed) - 50)
    # a person's cut-offs outlive a retrain: the next registered version carries them over
    champion = record["version"]
    mv = MlflowClient(settings.resolved_tracking_uri()).get_model_version("lead-scoring", champion)
    fake = SimpleNamespace(
        metrics={"model": {"roc_auc": 0.8, "ece": 0.01}},
        windows={"holdout": {"rows": 10}},
        tier_cutoffs=before["current"]["cutoffs"],
    )
    new = trk.register(tracking, mv.source, mv.run_id, fake, by=trk.DEFAULT_SETTER, dataset="synthetic")
    carried = trk.cutoff_record(tracking, f"models:/lead-scoring/{new}")
    assert carried["current"]["cutoffs"] == record["current"]["cutoffs"] and carried["current"]["by"] == "Ana"
    assert carried["current"]["note"].startswith(f"carried over from v{champion}")
    assert carried["current"]["at"] == record["current"]["at"]  # when the person decided, not when copied
    # another dataset's decision says nothing about this one: its new version starts from the defaults
    other = trk.register(tracking, mv.source, mv.run_id, fake, by=trk.DEFAULT_SETTER, dataset="another_crm")
    assert trk.cutoff_record(tracking, f"models:/lead-scoring/{other}")["current"]["by"] == trk.DEFAULT_SETTER


def test_report_rebuilds_the_validation_window_the_model_was_evaluated_on(weekly_twice, export_files, tmp_path):
    from pipelines.flows import report_flow

    settings, first, *_ = weekly_twice
    leads, acts = export_files
    s = report_flow(leads, acts, tmp_path / "review.html", settings, model_uri="models:/lead-scoring/1", lang="es")
    assert s["window"]["leads"] == first["windows"]["holdout"]["rows"]
    assert s["window"]["sqls"] == first["windows"]["holdout"]["sqls"]
    assert s["auc"] == pytest.approx(first["metrics"]["model"]["roc_auc"])
    page = (tmp_path / "review.html").read_text()
    assert '<html lang="es">' in page and "<section id='fairness'>" in page  # audit columns read from the export


def test_tracking_calls_leave_the_environment_as_they_found_it(weekly_twice):
    import os

    from models.tracking import resolve

    settings, *_ = weekly_twice
    before = os.environ.get("MLFLOW_TRACKING_URI")
    resolve(settings.tracking("synthetic"))
    assert os.environ.get("MLFLOW_TRACKING_URI") == before


def test_every_model_scored_list_has_its_assignment_and_a_control_group_when_asked(weekly_twice, tmp_path, crm):
    import json

    settings, first, _, second = weekly_twice
    lists = settings.workspace / "lists"
    summary = json.loads((lists / "latest_summary.json").read_text(encoding="utf-8"))
    assert not (lists / "latest_assignment.parquet").exists()  # the withheld scores stay in the archive
    for run in (first, second):
        assert Path(run["files"]["assignment"]) == Path(run["files"]["archive"]) / "list_assignment.parquet"
    assert summary["files"]["assignment"] == second["files"]["assignment"]
    listed, assigned = pd.read_parquet(lists / "latest.parquet"), pd.read_parquet(summary["files"]["assignment"])
    assert "group" not in listed and (assigned["group"] == "model").all()  # share 0: today's list, and who is in it
    assert assigned["lead_id"].tolist() == listed["lead_id"].astype(str).tolist()
    np.testing.assert_allclose(assigned["p_model"], listed["score"] / 100)
    assert assigned["worked"].tolist() == listed["tier"].isin(["A", "B", "C"]).tolist()
    assert summary["list"]["control"] == {"share": 0.0, "leads": 0, "salt": "leadscore-control"}
    # a control group of 30% with a capacity of 40, on a batch scored by v1
    from pipelines.flows import score_flow

    path, acts = tmp_path / "leads.csv", tmp_path / "acts.csv"
    crm.leads.head(400).to_csv(path, index=False)
    crm.activities[crm.activities["Lead ID"].isin(crm.leads["Lead ID"].head(400))].to_csv(acts, index=False)
    with_control = settings.model_copy(update={"control_share": 0.3})
    result = score_flow(path, acts, tmp_path / "out" / "list.csv", with_control, "models:/lead-scoring/1", capacity=40)
    listed = pd.read_parquet(tmp_path / "out" / "list.parquet")
    assigned = pd.read_parquet(result["files"]["assignment"])
    control = listed["group"] == "control"
    c = result["list"]["control"]
    assert c["leads"] == control.sum() and abs(c["leads"] - 120) <= 4 * (400 * 0.3 * 0.7) ** 0.5
    assert listed.loc[control, "score"].isna().all() and (listed.loc[control, "tier"].fillna("") == "").all()
    assert (listed["this_week"] == "yes").sum() == 40 == c["capacity_model"] + c["capacity_control"]
    assert assigned["worked"].tolist() == (listed["this_week"] == "yes").tolist()
    assert assigned["p_model"][control.to_numpy()].notna().all() and c["expected_sqls_given_up"] >= 0


def test_score_lang_es_writes_the_list_in_spanish_over_an_english_one(weekly_twice, tmp_path, crm, prefect_api_url):
    import json as _json
    import os
    import subprocess
    import sys

    from pipelines.flows import score_flow
    from serving.vocabulary import list_headers, words

    settings, *_ = weekly_twice
    leads = crm.leads.head(300)
    path, acts, out = tmp_path / "leads.csv", tmp_path / "acts.csv", tmp_path / "out" / "list.csv"
    leads.to_csv(path, index=False)
    crm.activities[crm.activities["Lead ID"].isin(leads["Lead ID"])].to_csv(acts, index=False)
    score_flow(path, acts, out, settings, model_uri="models:/lead-scoring/1")  # last week's list, in English
    english = pd.read_csv(out)
    args = ["score", "--leads", str(path), "--activities", str(acts), "--out", str(out), "--lang", "es"]
    model = ["--model", "models:/lead-scoring/1", "--workspace", str(settings.workspace), "--json"]
    # the real command in its own process, on the session's Prefect server (an in-process CliRunner run of a
    # flow leaves Prefect's print patch behind for the tests after it)
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", *args, *model], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _json.loads(r.stdout)["list"]["lang"] == "es"
    spanish = pd.read_csv(out, keep_default_na=False)
    headers = list_headers("es")
    assert set(spanish.columns) <= set(headers.values()) and headers["reason_1"] in spanish.columns
    # the English list before it was read back by its ids: every lead has a trend, in Spanish
    assert set(spanish["tendencia"]) <= set(words("es", "list.trends").values()) and "" not in set(spanish["tendencia"])
    assert (spanish["puntuación"].to_numpy() == english["score"].to_numpy()).all()
    assert spanish["motivo_1"].str.contains(" en los últimos | del cargo| email", regex=True).any()
    assert list(pd.read_parquet(out.with_suffix(".parquet")).columns[:2]) == ["rank", "lead_id"]
    bad = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args[:-1], "fr", *model], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "'fr' is not one of 'en', 'es'" in bad.stderr
