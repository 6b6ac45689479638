"""Labels and split, training guards, and behavioural tests on a small trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from models.baselines import persona_score
from models.train import (
    InsufficientData,
    TrainParams,
    default_as_of,
    default_tier_cutoffs,
    label_leads,
    time_split,
    train_and_evaluate,
)


def test_open_leads_are_never_negatives():
    leads = pd.DataFrame(
        {
            "lead_id": ["old_sql", "old_no", "old_late_sql", "young_no", "young_sql"],
            "mql_at": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-01", "2026-03-20", "2026-03-20"]),
            "sql_at": pd.to_datetime(["2026-01-10", None, "2026-03-01", None, "2026-03-25"]),
        }
    )
    lab = label_leads(leads, horizon_days=30, as_of=pd.Timestamp("2026-04-01")).set_index("lead_id")
    assert lab["state"].to_dict() == {
        "old_sql": "mature",
        "old_no": "mature",
        "old_late_sql": "mature",
        "young_no": "open",
        "young_sql": "already_sql",
    }
    # an SQL after the horizon is a miss for this label; young leads have no label at all
    assert lab["label"].to_dict() == {"old_sql": 1, "old_no": 0, "old_late_sql": 0, "young_no": -1, "young_sql": -1}


def test_a_past_as_of_ignores_what_happened_later():
    leads = pd.DataFrame(
        {
            "lead_id": ["mature_late_sql", "open_then", "future_mql"],
            "mql_at": pd.to_datetime(["2026-01-01", "2026-01-20", "2026-02-10"]),
            "sql_at": pd.to_datetime(["2026-01-25", "2026-01-28", "2026-02-11"]),
        }
    )
    lab = label_leads(leads, horizon_days=30, as_of=pd.Timestamp("2026-02-01")).set_index("lead_id")
    assert lab["state"].to_dict() == {
        "mature_late_sql": "mature",
        "open_then": "already_sql",
        "future_mql": "after_as_of",
    }
    lab = label_leads(leads, horizon_days=30, as_of=pd.Timestamp("2026-01-22")).set_index("lead_id")
    # on 22 Jan the SQL of 25 Jan had not happened yet: the lead was still open
    assert lab.loc["mature_late_sql", "state"] == "open" and lab.loc["open_then", "state"] == "open"


def test_time_split_puts_the_newest_leads_in_the_holdout():
    mql = pd.Series(pd.date_range("2026-01-01", periods=100, freq="D"))
    split = time_split(mql, holdout_fraction=0.2, calibration_fraction=0.2)
    assert (split[:60] == "train").all() and (split[60:80] == "calibration").all() and (split[80:] == "holdout").all()


def test_default_as_of_is_the_latest_timestamp_in_the_export():
    leads = pd.DataFrame(
        {
            "mql_at": pd.to_datetime(["2026-01-01"]),
            "sql_at": pd.to_datetime(["2026-01-05"]),
            "created_at": pd.to_datetime([None]),
        }
    )
    acts = pd.DataFrame({"occurred_at": pd.to_datetime(["2026-01-07"])})
    assert default_as_of(leads, acts) == pd.Timestamp("2026-01-07")


def test_tier_cutoffs_follow_the_default_shares():
    cut = default_tier_cutoffs(np.linspace(0, 1, 1001))
    assert cut == {"A": 90.0, "B": 70.0, "C": 40.0}


def test_too_little_history_stops_with_the_counts(canonical, config):
    leads, acts = canonical
    small = leads.sample(300, random_state=0)
    feats = build_features(small, acts, config=config)
    lab = label_leads(small, horizon_days=30, as_of=default_as_of(leads, acts))
    with pytest.raises(
        InsufficientData, match=r"\d+ SQLs and \d+ non-SQLs with a known outcome; at least 40 .* persona rule stays"
    ):
        train_and_evaluate(feats, lab, config=config, params=TrainParams())


@pytest.fixture(scope="module")
def trained(canonical, config):
    leads, acts = canonical
    feats = build_features(leads, acts, config=config)
    lab = label_leads(leads, horizon_days=30, as_of=default_as_of(leads, acts))
    return feats, lab, train_and_evaluate(feats, lab, config=config, params=TrainParams(num_threads=1))


def test_model_beats_the_persona_rule_and_is_calibrated_on_the_holdout(trained):
    _, _, result = trained
    m = result.metrics
    assert m["model"]["roc_auc"] > m["persona_rule"]["roc_auc"] + 0.05
    assert m["model"]["brier"] < m["model"]["brier_base_rate"]
    assert m["model"]["ece"] < 0.05
    assert result.windows["holdout"]["first_mql"] >= result.windows["calibration"]["last_mql"]


def test_more_pricing_visits_never_lower_a_score(trained):
    feats, lab, result = trained
    X = feats.loc[lab.loc[lab["state"] == "open", "lead_id"]].copy()
    base = result.model.predict_proba(X)
    for extra in (1, 3, 6):
        more = X.copy()
        for col in ("pricing_view_7d", "pricing_view_30d", "pricing_view_90d"):
            more[col] = more[col] + extra
        assert (result.model.predict_proba(more) >= base - 1e-12).all()


def test_students_on_free_email_score_below_corporate_directors(trained):
    # the data says so (the generator's truth); the model must have learnt it, all else equal
    feats, lab, result = trained
    X = feats.loc[lab.loc[lab["state"] == "open", "lead_id"]]
    weak, strong = X.copy(), X.copy()
    weak["seniority"], weak["email_type"] = "student", "free"
    strong["seniority"], strong["email_type"] = "director", "corporate"
    assert (result.model.predict_proba(strong) > result.model.predict_proba(weak)).mean() > 0.95


def test_calibration_never_reorders_leads(trained):
    feats, _, result = trained
    margin = result.model.margin(feats)
    proba = result.model.predict_proba(feats)
    order = np.argsort(margin)
    assert (np.diff(proba[order]) >= -1e-15).all()


def test_scorer_round_trips_through_plain_files(trained, tmp_path):
    from models.scorer import LeadScoreModel

    feats, _, result = trained
    loaded = LeadScoreModel.load(result.model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(feats), result.model.predict_proba(feats))


def test_unseen_categories_score_like_missing_ones(trained):
    feats, _, result = trained
    X = feats.head(50).copy()
    unseen, missing = X.copy(), X.copy()
    unseen["industry"] = "Space Mining"
    missing["industry"] = pd.NA
    np.testing.assert_array_equal(result.model.predict_proba(unseen), result.model.predict_proba(missing))


def test_persona_score_counts_conditions_met(config):
    X = pd.DataFrame(
        {
            "seniority": ["director", "student", None],
            "company_size": ["51-200", "1-10", "1000+"],
            "email_type": ["corporate", "free", "corporate"],
            "activities_30d": [2.0, 5.0, 0.0],
        }
    )
    assert persona_score(X, config.persona).tolist() == [1.0, 0.25, 0.5]


def test_a_leaky_column_stops_the_run_and_is_named(canonical, crm, config):
    from features.config import parse_config
    from features.contract import canonical_leads
    from models.leaks import LeakSuspected

    data = config.model_dump(by_alias=True)
    for attr in data["leads"]["attributes"]:
        if attr["name"] == "lead_status":  # written after the outcome: Qualified / Disqualified
            attr["role"] = "categorical"
    leaky = parse_config(data)
    leads, _ = canonical_leads(crm.leads, leaky)
    _, acts = canonical
    feats = build_features(leads, acts, config=leaky)
    lab = label_leads(leads, horizon_days=30, as_of=default_as_of(leads, acts))
    with pytest.raises(LeakSuspected, match=r"leak alarm, run stopped: 1 column\(s\) alone .* 'Lead Status'"):
        train_and_evaluate(feats, lab, config=leaky, params=TrainParams())


def test_the_audit_ranks_columns_by_evidence_without_knowing_their_names():
    from models.leaks import field_audit

    rng = np.random.default_rng(0)
    n = 3000
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame(
        {
            "honest": y * 0.8 + rng.normal(0, 1, n),  # a real, noisy signal
            "written_later": np.where(
                y == 1,
                rng.choice(["won", "call back"], n, p=[0.9, 0.1]),
                rng.choice(["lost", "call back"], n, p=[0.9, 0.1]),
            ),  # decides the outcome
            "noise": rng.normal(0, 1, n),
        }
    )
    half = n // 2
    audit = field_audit(
        X.iloc[:half], y[:half], X.iloc[half:], y[half:], categorical=["written_later"], numeric=["honest", "noise"]
    )
    assert audit["feature"].tolist() == ["written_later", "honest", "noise"]
    top = audit.iloc[0]
    assert top["auc_alone"] > 0.85 and top["pure_share"] > 0.5 and top["drop_loss"] > 0.05
    assert "decide the outcome" in top["evidence"]


def test_the_audit_drop_loss_is_a_refit_on_the_feature_list_without_the_column():
    # the audit reuses one matrix and drops a column from it; it must equal fitting on the smaller list
    import lightgbm as lgb

    from models.leaks import field_audit
    from models.metrics import fast_auc
    from models.scorer import learn_categories, to_matrix

    rng = np.random.default_rng(4)
    n = 1600
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame(
        {
            "size": y * 0.7 + rng.normal(0, 1, n),
            "channel": np.where(rng.random(n) < 0.5 + 0.3 * y, "web", rng.choice(["ads", "event", None], n)),
            "visits": rng.poisson(1 + 2 * y),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    cat, num = ["channel", "region"], ["size", "visits"]
    half = n // 2

    def refit_auc(cats, nums):
        codes = learn_categories(X.iloc[:half], cats)
        params = dict(objective="binary", learning_rate=0.1, num_leaves=15, min_data_in_leaf=20, verbosity=-1)
        params |= dict(num_threads=1, seed=0, deterministic=True)
        data = lgb.Dataset(
            to_matrix(X.iloc[:half], cats, nums, codes), y[:half], categorical_feature=[0, 1][: len(cats)]
        )
        booster = lgb.train(params, data, num_boost_round=150)
        return fast_auc(y[half:], booster.predict(to_matrix(X.iloc[half:], cats, nums, codes)))

    audit = field_audit(X.iloc[:half], y[:half], X.iloc[half:], y[half:], categorical=cat, numeric=num)
    full = refit_auc(cat, num)
    for col in cat + num:
        expected = full - refit_auc([c for c in cat if c != col], [c for c in num if c != col])
        assert audit.set_index("feature").loc[col, "drop_loss"] == expected
    assert audit["drop_loss"].nunique() == 4  # every column's removal changes the fit differently


def test_the_logistic_sample_keeps_the_sql_rate_and_all_rows_when_few():
    from models.baselines import sample_rows

    y = np.array([1] * 300 + [0] * 2700)
    rows = sample_rows(y, 1000, seed=3)
    assert len(rows) == 1000 and y[rows].sum() == 100  # 10% SQLs, as in the window
    assert np.all(np.diff(rows) > 0)  # distinct rows, in window order
    assert np.array_equal(sample_rows(y, 3000, seed=3), np.arange(3000))
