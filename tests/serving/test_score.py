"""Tiers, reasons in plain words, and writers that are atomic and safe for spreadsheets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from features.files import atomic_write, neutralise_formulas, write_csv
from serving.reasons import describe, top_reasons
from serving.score import assign_tiers, validate_cutoffs


def test_tiers_from_cutoffs():
    score = np.array([80.0, 40.0, 39.9, 20.0, 5.0, 0.0])
    assert assign_tiers(score, {"A": 40, "B": 20, "C": 5}).tolist() == ["A", "A", "B", "B", "C", "D"]


@pytest.mark.parametrize(
    ("cutoffs", "message"),
    [
        ({"A": 20, "B": 40, "C": 5}, "must decrease"),
        ({"A": 120, "B": 40, "C": 5}, "within 0-100"),
        ({"A": 50, "B": 40}, "missing \\['C'\\]"),
    ],
)
def test_invalid_cutoffs_are_refused(cutoffs, message):
    with pytest.raises(ValueError, match=message):
        validate_cutoffs(cutoffs)


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("pricing_view_7d", 3.0, "3 pricing-page visits in the last 7 days"),
        ("pricing_view_7d", 1.0, "1 pricing-page visit in the last 7 days"),
        ("demo_request_30d", 0.0, "no demo requests in the last 30 days"),
        ("activities_90d", 12.0, "12 activities in the last 90 days"),
        ("seniority", "director", "job title reads director-level"),
        ("seniority", np.nan, "no seniority in the job title"),
        ("email_type", "free", "free email address (gmail, hotmail...)"),
        ("days_since_last_activity", np.nan, "no activity before the MQL"),
        ("mql_month", 8.0, "MQL in August"),
        ("industry", "Retail", "industry: Retail"),
        ("company_size", np.nan, "company size unknown"),
    ],
)
def test_reasons_read_as_plain_words(feature, value, text):
    assert describe(feature, value) == text


def test_a_category_the_model_never_saw_is_called_new():
    assert (
        describe("campaign", "spring-2027", known=["a", "b"])
        == "campaign 'spring-2027' is new (no history to learn from)"
    )


def test_top_reasons_pick_the_largest_contributions_with_their_direction():
    feats = pd.DataFrame({"pricing_view_7d": [3.0], "email_type": ["free"], "mql_month": [8.0]}, index=["L1"])
    contrib = pd.DataFrame({"pricing_view_7d": [0.9], "email_type": [-1.2], "mql_month": [0.0]}, index=["L1"])
    r = top_reasons(feats, contrib, k=3).iloc[0].tolist()
    assert r == ["▼ free email address (gmail, hotmail...)", "▲ 3 pricing-page visits in the last 7 days", ""]


def test_formula_cells_are_neutralised_and_others_untouched():
    df = pd.DataFrame({"a": ["=1+1", "+34 600", "-x", "@SUM(A1)", "\tx", "\rx", "ok", None], "n": range(8)})
    out = neutralise_formulas(df)
    assert out["a"].tolist()[:7] == ["'=1+1", "'+34 600", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "ok"]
    assert pd.isna(out["a"].iloc[7]) and out["n"].tolist() == list(range(8))
    assert df["a"].iloc[0] == "=1+1"  # input untouched


def test_csv_has_a_bom_for_excel_and_reads_back(tmp_path):
    path = write_csv(pd.DataFrame({"name": ["José Peña"], "score": [12.5]}), tmp_path / "l.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert pacsv.read_csv(path).to_pandas()["name"].tolist() == ["José Peña"]
    assert pd.read_csv(path)["name"].tolist() == ["José Peña"]


def test_a_failed_write_leaves_the_previous_file_and_no_temp_file(tmp_path):
    target = tmp_path / "latest.csv"
    target.write_text("previous list")

    def explode(tmp):
        tmp.write_text("half a li")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert target.read_text() == "previous list"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.csv"]


def test_persona_list_ranks_by_conditions_met_and_says_which(config):
    from serving.persona import persona_list

    feats = pd.DataFrame(
        {
            "seniority": ["student", "director"],
            "company_size": ["1-10", "51-200"],
            "email_type": ["free", "corporate"],
            "activities_30d": [0.0, 3.0],
        },
        index=pd.Index(["weak", "strong"], name="lead_id"),
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["weak", "strong"],
            "mql_at": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "email": ["w@gmail.com", "s@acme.es"],
        }
    )
    out = persona_list(feats, leads, config.persona, pii_columns=["email"])
    assert out["lead_id"].tolist() == ["strong", "weak"] and out["score"].tolist() == [100.0, 0.0]
    assert out["tier"].tolist() == ["A", "D"] and set(out["model_version"]) == {"persona-rule"}
    assert out.loc[1, "reason_1"] == "▼ job title reads student or intern (rule: c_level, vp, director, manager)"
    assert out.loc[0, "email"] == "s@acme.es"


def test_the_list_carries_each_leads_own_pii_time_and_reasons(canonical, config):
    # score_leads copies text columns as Arrow arrays: every row must still carry its own lead's values,
    # missing stays missing, a numeric PII column stays numeric, and only the top rows get reasons
    from features.build import build_features, feature_columns
    from models.train import TrainParams, fit_scorer
    from serving.score import score_leads

    leads, acts = canonical
    leads = leads.head(1500).copy()
    leads.loc[leads.index[[3, 7]], "mql_at"] = pd.NaT
    leads.loc[leads.index[5], "email"] = np.nan
    leads["customer_number"] = np.arange(len(leads)) * 10
    features = build_features(leads, acts, config=config)
    cat, num = feature_columns(config)
    y = (features["pricing_view_30d"].to_numpy() > 0).astype(int)
    params = TrainParams(max_rounds=20, min_class_count=5)
    model, _ = fit_scorer(features, y, features, y, categorical=cat, numeric=num, monotone={}, params=params)
    shuffled = features.sample(frac=1.0, random_state=1)  # features in another order than the leads
    pii = ["first_name", "email", "customer_number"]
    cutoffs = {"A": 60, "B": 30, "C": 10}
    out = score_leads(model, shuffled, leads, cutoffs=cutoffs, model_version="7", pii_columns=pii, reasons_limit=40)
    assert out["rank"].tolist() == list(range(1, len(leads) + 1))
    assert out["score"].is_monotonic_decreasing
    by_id = leads.set_index("lead_id")
    for col in ("first_name", "email"):
        assert out[col].dtype == "str"
        expected = by_id.loc[out["lead_id"], col].to_numpy()
        assert ((out[col].to_numpy() == expected) | (out[col].isna() & pd.isna(expected))).all()
    assert out["customer_number"].dtype == np.int64
    assert (out["customer_number"].to_numpy() == by_id.loc[out["lead_id"], "customer_number"].to_numpy()).all()
    stamps = by_id.loc[out["lead_id"], "mql_at"]
    assert out["mql_at"].isna().sum() == 2
    assert (out["mql_at"].dropna() == stamps.dropna().dt.strftime("%Y-%m-%d %H:%M").to_numpy()).all()
    assert (out["reason_1"].iloc[:40] != "").all() and (out["reason_1"].iloc[40:] == "").all()
    assert out["reason_3"].dtype == "str" and out["reason_3"].notna().all()
