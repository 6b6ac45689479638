"""Point-in-time features: exact values on hand-built frames, and the cutoff rule as a property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features, email_type, feature_columns
from features.seniority import EXAMPLE_TITLES, LEVELS, seniority_from_title


def leads_frame(**cols) -> pd.DataFrame:
    base = {
        "lead_id": ["A", "B"],
        "mql_at": pd.to_datetime(["2026-03-31 12:00", "2026-03-10 00:00"]),
        "sql_at": pd.to_datetime([None, None]),
        "created_at": pd.to_datetime(["2026-03-01 12:00", None]),
        "first_name": ["Ana", "Bo"],
        "last_name": ["Ruiz", "Li"],
        "email": ["ana@acme.es", "bo@gmail.com"],
        "phone": ["+34", "+52"],
        "company": ["Acme", "Bo Co"],
        "job_title": ["Directora Comercial", None],
        "industry": ["Software", None],
        "company_size": ["51-200", "1-10"],
        "country": ["Spain", "Mexico"],
        "lead_source": ["referral", "paid_social"],
        "campaign": ["c1", "c2"],
    }
    base.update(cols)
    df = pd.DataFrame(base)
    for c in ("mql_at", "sql_at", "created_at"):
        df[c] = df[c].astype("datetime64[ns]")
    return df


def acts_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "occurred_at": pd.to_datetime([r[1] for r in rows]).astype("datetime64[ns]"),
            "activity_type": [r[2] for r in rows],
        }
    )


def test_hand_built_features_are_exact(config):
    acts = acts_frame(
        [
            ("A", "2026-03-31 12:00", "form_fill"),  # at the cutoff: known, age 0
            ("A", "2026-03-30 12:00", "pricing_view"),  # 1 day before
            ("A", "2026-03-20 12:00", "pricing_view"),  # 11 days before
            ("A", "2026-01-10 12:00", "webinar"),  # 80 days before
            ("A", "2026-04-02 12:00", "meeting_held"),  # after the MQL: never read
            ("A", "2026-04-01 12:00", "pricing_view"),  # after the MQL: never read
            ("B", "2026-03-09 00:00", "unsubscribe"),
        ]
    )
    f = build_features(leads_frame(), acts, config=config)
    a, b = f.loc["A"], f.loc["B"]
    assert (a["pricing_view_7d"], a["pricing_view_30d"], a["pricing_view_90d"]) == (1, 2, 2)
    assert (a["form_fill_7d"], a["webinar_30d"], a["webinar_90d"]) == (1, 0, 1)
    assert (a["activities_7d"], a["activities_30d"], a["activities_90d"]) == (2, 3, 4)
    assert a["distinct_types_90d"] == 3
    assert a["days_since_last_activity"] == 0
    assert a["days_created_to_mql"] == 30
    assert a["mql_month"] == 3
    assert a["velocity_7d_vs_30d"] == pytest.approx((2 / 7) / (3 / 30))
    assert a["engagement_recency_weighted"] == pytest.approx(1 + 0.5 ** (1 / 14) + 0.5 ** (11 / 14) + 0.5 ** (80 / 14))
    assert (a["seniority"], a["email_type"], a["industry"]) == ("director", "corporate", "Software")
    assert b["unsubscribe_7d"] == 1 and b["activities_90d"] == 1 and b["days_since_last_activity"] == 1
    assert pd.isna(b["seniority"]) and b["email_type"] == "free" and pd.isna(b["industry"])
    assert pd.isna(b["days_created_to_mql"])


def test_distinct_kinds_count_each_kind_once_and_unknown_leads_are_ignored(config):
    acts = acts_frame(
        [
            ("A", "2026-03-30 12:00", "pricing_view"),
            ("A", "2026-03-29 12:00", "pricing_view"),  # the same kind again: still one kind
            ("A", "2026-03-28 12:00", "call_attempt"),  # not a counted type, but a kind and an activity
            ("A", "2025-11-01 12:00", "webinar"),  # 150 days before: outside the 90-day kinds
            ("B", "2026-03-09 00:00", "call_attempt"),
            ("Z", "2026-03-09 00:00", "webinar"),  # no such lead
        ]
    )
    f = build_features(leads_frame(), acts, config=config)
    assert (f.loc["A", "distinct_types_90d"], f.loc["B", "distinct_types_90d"]) == (2, 1)
    assert (f.loc["A", "activities_7d"], f.loc["A", "pricing_view_7d"], f.loc["A", "webinar_90d"]) == (3, 2, 0)
    assert f["webinar_90d"].sum() == 0 and f.loc["B", "activities_7d"] == 1


def test_lead_without_activities_gets_zero_counts_and_missing_recency(config):
    f = build_features(leads_frame(), acts_frame([]), config=config)
    assert f.loc["A", "activities_90d"] == 0 and f.loc["A", "engagement_recency_weighted"] == 0
    assert np.isnan(f.loc["A", "days_since_last_activity"]) and np.isnan(f.loc["A", "velocity_7d_vs_30d"])


def test_pii_is_never_a_feature_and_columns_follow_the_config(config):
    f = build_features(leads_frame(), acts_frame([]), config=config)
    cats, nums = feature_columns(config)
    assert list(f.columns) == cats + nums
    assert not set(config.names_with_role("pii")) & set(f.columns)
    assert "lead_status" not in f.columns and "job_title" not in f.columns


def test_inputs_are_not_modified(config):
    leads, acts = leads_frame(), acts_frame([("A", "2026-03-30", "page_view")])
    before = (leads.copy(), acts.copy())
    build_features(leads, acts, config=config)
    pd.testing.assert_frame_equal(leads, before[0])
    pd.testing.assert_frame_equal(acts, before[1])


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("CEO", "c_level"),
        ("Director General", "c_level"),
        ("Co-founder & CEO", "c_level"),
        ("Presidente Ejecutivo", "c_level"),
        ("VP de Ventas", "vp"),
        ("Vice President of Operations", "vp"),
        ("Vicepresidente Comercial", "vp"),
        ("Directora de Operaciones", "director"),
        ("Head of Growth", "director"),
        ("Jefa de Marketing Digital", "manager"),
        ("Gerente de Ventas", "manager"),
        ("Team Lead", "manager"),
        ("Analista de Marketing", "individual"),
        ("Técnico de Soporte", "individual"),
        ("Becario de Marketing", "student"),
        ("Asistente del CEO", "individual"),
        ("Executive Assistant to the CFO", "individual"),
        ("Estudiante", "student"),
        ("Otro", None),
        (None, None),
    ],
)
def test_seniority_is_read_from_free_text_titles(title, level):
    got = seniority_from_title(pd.Series([title], dtype="str")).iloc[0]
    assert (None if pd.isna(got) else got) == level


@pytest.mark.parametrize(
    ("email", "kind"),
    [
        ("ana@acme.es", "corporate"),
        ("bo@GMAIL.com", "free"),
        ("x@hotmail.es", "free"),
        ("y@yahoo.com.mx", "free"),
        ("z@gmailcorp.com", "corporate"),
        ("ana@me.gob.mx", "corporate"),
        ("ana@live.unam.mx", "corporate"),
        ("bo@hotmail.co.uk", "free"),
        ("no-at-sign", None),
        (None, None),
        # the domain is what follows the last '@'
        ("x@gmail.com@corp.es", "corporate"),
        ("x@corp.es@gmail.com", "free"),
        ("x@@gmail.com", "free"),
        ("@gmail.com", "free"),
        ("x@mail.gmail.com", "corporate"),
        (" X@Gmail.Com\t", "free"),
        ("x@", None),
        ("@", None),
        ("", None),
    ],
)
def test_email_domain_kind(email, kind):
    got = email_type(pd.Series([email], dtype="str")).iloc[0]
    assert (None if pd.isna(got) else got) == kind


TYPES = ["email_open", "pricing_view", "demo_request", "unsubscribe", "meeting_held"]


@st.composite
def histories(draw):
    n = draw(st.integers(1, 4))
    base = pd.Timestamp("2026-05-01")
    mql_offsets = draw(st.lists(st.integers(0, 60 * 24), min_size=n, max_size=n))
    leads = leads_frame(
        lead_id=[f"L{i}" for i in range(n)],
        mql_at=[base + pd.Timedelta(hours=h) for h in mql_offsets],
        sql_at=[None] * n,
        created_at=[base - pd.Timedelta(days=10)] * n,
        first_name=["x"] * n,
        last_name=["y"] * n,
        email=["a@b.es"] * n,
        phone=["1"] * n,
        company=["c"] * n,
        job_title=["CEO"] * n,
        industry=["Software"] * n,
        company_size=["1-10"] * n,
        country=["Spain"] * n,
        lead_source=["referral"] * n,
        campaign=["c"] * n,
    )
    before = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 200 * 24), st.sampled_from(TYPES)), max_size=25)
    )
    after = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(1, 200 * 24), st.sampled_from(TYPES)), min_size=1, max_size=25
        )
    )
    cut = leads.set_index("lead_id")["mql_at"]

    def rows(items, sign):
        return [(f"L{i}", str(cut[f"L{i}"] + sign * pd.Timedelta(hours=h)), t) for i, h, t in items]

    return leads, acts_frame(rows(before, -1)), acts_frame(rows(after, +1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_activities_after_the_cutoff_never_change_any_feature(config, data):
    leads, before, after = data
    without = build_features(leads, before, config=config)
    with_future = build_features(leads, pd.concat([before, after], ignore_index=True), config=config)
    pd.testing.assert_frame_equal(without, with_future)


@pytest.mark.parametrize("level", LEVELS)
def test_each_levels_example_titles_read_as_that_level(level):
    """The synthetic export's titles come from EXAMPLE_TITLES: the rules must read each one as its level."""
    titles = pd.Series(EXAMPLE_TITLES[level], dtype="str")
    assert seniority_from_title(titles).tolist() == [level] * len(titles)
