"""The dataset config's ``audit`` columns and the review page's section per group (serving/review/fairness.py)."""

from __future__ import annotations

import json
import math
import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from features.config import ConfigError, parse_config
from features.contract import canonical_leads
from serving.review import audit_values, feature_label, format_figure, group_figures, render_report
from serving.review.fairness import assign_groups, passed_by_cutoff
from serving.vocabulary import words
from tests.conftest import SYNTHETIC_CONFIG
from tests.serving.test_report import TIER_CUTOFFS, browser, chromium, displayed, page_window, render  # noqa: F401


def synthetic_with(**changes) -> dict:
    data = tomllib.loads(SYNTHETIC_CONFIG.read_text(encoding="utf-8"))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        (["email"], r"audit names 'email', a pii column"),
        (["nowhere"], r"audit names 'nowhere', which is neither an attribute nor a categorical feature"),
        (["country", "country"], r"audit lists \['country'\] twice"),
    ],
)
def test_an_audit_column_that_cannot_be_grouped_is_refused_naming_the_key_and_the_column(audit, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(synthetic_with(audit=audit))


def test_a_numeric_audit_column_is_refused_with_what_to_do():
    data = synthetic_with(audit=["employees"])
    data["leads"]["attributes"].append({"source": "Employees", "name": "employees", "role": "numeric"})
    with pytest.raises(ConfigError, match=r"audit names 'employees', a numeric column: .* banded column"):
        parse_config(data)


def test_an_excluded_audit_column_is_read_but_never_a_feature_and_a_derived_one_is_accepted(crm):
    plain = parse_config(synthetic_with(audit=[]))
    config = parse_config(synthetic_with(audit=["lead_status", "seniority"]))
    assert plain.fingerprint() != config.fingerprint()
    leads, _ = canonical_leads(crm.leads.head(200), config)
    without, _ = canonical_leads(crm.leads.head(200), plain)
    assert "lead_status" in leads.columns and "lead_status" not in without.columns
    raw = crm.leads.set_index("Lead ID")["Lead Status"]
    status = leads.set_index("lead_id")["lead_status"].dropna()
    assert len(status) and status.tolist() == raw.loc[status.index].str.strip().tolist()
    features = pd.DataFrame(
        {"seniority": ["vp", None, "manager"], "country": ["ES", "MX", None]},
        index=pd.Index(leads["lead_id"].iloc[[5, 0, 9]], name="lead_id"),
    )
    values = audit_values(config, features, leads)
    assert values.index.equals(features.index) and list(values.columns) == ["lead_status", "seniority"]
    assert values["lead_status"].tolist() == leads["lead_status"].iloc[[5, 0, 9]].tolist()
    assert values["seniority"].isna().tolist() == [False, True, False]
    assert values["seniority"].dropna().tolist() == ["vp", "manager"]
    # without the canonical leads a column that is not a feature is left out, never shown as all missing
    assert list(audit_values(config, features, None).columns) == ["seniority"]


def test_rare_values_are_pooled_missing_is_its_own_group_and_the_largest_come_first():
    values = pd.Series(["b", "a", "b", "c", None, "a", "b", "d"])
    codes, groups = assign_groups(values, min_leads=2)
    assert groups == [("b", "value"), ("a", "value"), (None, "other"), (None, "missing")]
    assert codes.tolist() == [0, 1, 0, 2, 3, 1, 0, 2]
    codes, groups = assign_groups(values, min_leads=1, max_groups=1)
    assert groups == [("b", "value"), (None, "other"), (None, "missing")]


def test_the_figures_per_group_equal_a_hand_count():
    window = pd.DataFrame(
        {
            "proba": [0.9, 0.5, 0.2, 0.1, 0.6, 0.3, 0.05, 0.7],
            "label": [1, 1, 0, 0, 0, 1, 0, 1],
            "persona_pass": [True] * 8,
        }
    )
    values = pd.Series(["ES", "ES", "ES", "MX", "MX", "MX", "AR", None])
    figs = group_figures(window, values, {"A": 80, "B": 50, "C": 30}, min_leads=3, sigmas=2.0)
    assert figs["kind"].tolist() == ["value", "value", "other", "missing", "all"]
    assert figs["group"].tolist()[:2] == ["ES", "MX"]  # equal counts: by value
    es, mx, other, missing, every = (figs.iloc[i] for i in range(5))
    assert (es.leads, es.sqls, es.passed_c) == (3, 2, 2)  # scores 90, 50 pass C (30); 20 does not
    assert es.sql_rate == pytest.approx(2 / 3) and es.share_passed_c == pytest.approx(2 / 3)
    assert es.expected_sqls == pytest.approx(1.6)
    assert es.sd == pytest.approx(math.sqrt(0.09 + 0.25 + 0.16))
    assert es.z == pytest.approx(0.4 / es.sd) and es.flag == ""
    assert (mx.leads, mx.sqls, mx.passed_c) == (3, 1, 2)  # 60 and 30 pass: "at least the cut-off"
    assert (other.leads, other.sqls, other.expected_sqls) == (1, 0, pytest.approx(0.05))
    assert (missing.leads, missing.sqls, missing.passed_c) == (1, 1, 1)
    assert (every.leads, every.sqls, every.passed_c) == (8, 4, 5)
    assert every.expected_sqls == pytest.approx(3.35)
    passed = passed_by_cutoff(window, values, min_leads=3)
    assert passed.shape == (5, 101)
    assert passed[:, 30].tolist() == [2, 2, 0, 1, 5] and passed[:, 0].tolist() == [3, 3, 1, 1, 8]
    assert passed[:, 91].tolist() == [0, 0, 0, 0, 0]


def test_a_group_whose_scores_are_off_is_flagged_beyond_the_noise():
    n = 400
    window = pd.DataFrame({"proba": np.full(n, 0.2), "label": np.r_[np.ones(40), np.zeros(360)].astype(int)})
    window["persona_pass"] = False
    values = pd.Series(["low"] * 200 + ["high"] * 200)  # "low" realises 40 of 40 expected, "high" 0 of 40
    figs = group_figures(window, values, TIER_CUTOFFS).set_index("group")
    sd = math.sqrt(200 * 0.2 * 0.8)
    assert figs.loc["low", "z"] == pytest.approx(0.0) and figs.loc["low", "flag"] == ""
    assert figs.loc["high", "z"] == pytest.approx(-40 / sd) and figs.loc["high", "flag"] == "fewer"


def audit_for(window: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    country = rng.choice(["ES", "MX", "AR", "CL", "PE"], len(window), p=[0.4, 0.3, 0.2, 0.07, 0.03]).astype(object)
    country[rng.random(len(window)) < 0.05] = None
    return pd.DataFrame({"country": country}, index=window.index)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_page_shows_a_table_per_audit_column_that_follows_the_slider(lang):
    window = page_window()
    audit = audit_for(window)
    page = render(window, lang, audit=audit)
    t = words(lang, "fairness")
    section = page[page.index("<section id='fairness'>") :]
    section = section[: section.index("</section>") + len("</section>")]
    assert t["title"] in section and t["by"].format(column=feature_label("country", lang)) in section
    figs = group_figures(window, audit["country"], TIER_CUTOFFS)
    rows = re.findall(r"<tr[^>]*><td>(.*?)</td><td>(.*?)</td>", section)
    assert [r[0] for r in rows] == ["ES", "MX", "AR", "CL", t["group_other"], t["group_missing"], t["group_all"]]
    assert [int(r[1].replace(",", "").replace(".", "")) for r in rows] == figs["leads"].tolist()
    # the slider's first cell per group is the share passed at the slider's first position
    start = int(re.search(r'id="cutoff"[^>]*value="(\d+)"', page).group(1))
    passed = passed_by_cutoff(window, audit["country"])
    cells = [float(v) for v in re.findall(r'id="fair-0-\d+" data-value="([^"]+)"', section)]
    assert cells == pytest.approx((passed[:, start] / figs["leads"].to_numpy()).tolist())
    data = json.loads(re.search(r'id="fairness-data">(.*?)</script>', section, re.S).group(1))
    assert data["columns"][0]["passed"] == passed.tolist()
    # values held by fewer than 30 leads never reach the page (nor MLflow, which logs it)
    assert "PE" not in section


def test_without_audit_columns_the_page_is_unchanged():
    window = page_window()
    page = render(window)
    assert render(window, audit=None) == page
    assert render(window, audit=pd.DataFrame(index=window.index)) == page
    assert "fairness" not in page
    assert "fairness" in render_report(
        window,
        weekly_mql_volume=100,
        tier_cutoffs=TIER_CUTOFFS,
        metrics={"model": {"roc_auc": 0.7}},
        importance=pd.DataFrame({"feature": ["industry"], "gain": [1.0]}),
        audit=audit_for(window),
    )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_moving_the_cutoff_in_chromium_moves_each_groups_share_passed(browser, tmp_path, lang):  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    window = page_window()
    audit = audit_for(window)
    page = tmp_path / "review.html"
    page.write_text(render(window, lang, audit=audit), encoding="utf-8")
    browser.get(page.as_uri())
    slider = browser.find_element("id", "cutoff")
    leads = group_figures(window, audit["country"], TIER_CUTOFFS)["leads"].to_numpy()
    passed = passed_by_cutoff(window, audit["country"])
    for keys, cutoff in (((Keys.HOME,), 0), ((Keys.ARROW_RIGHT,) * 23, 23), ((Keys.END,), 100)):
        slider.send_keys(*keys)
        assert slider.get_attribute("value") == str(cutoff)
        heads = browser.find_elements("css selector", ".fair-cut")
        assert [h.get_property("textContent") for h in heads] == [str(cutoff)]
        for i, share in enumerate(passed[:, cutoff] / leads):
            text, raw = displayed(browser, f"fair-0-{i}")
            assert text == format_figure("pct", share, lang) and float(raw) == pytest.approx(share, rel=1e-12)


def test_init_config_proposes_a_market_column_as_audit_and_the_written_config_loads():
    from features.init_config import propose, render_toml
    from tests.features.test_init_config import export

    frame = export()
    frame["País"] = np.random.default_rng(1).choice(["España", "México", "Chile"], len(frame))
    text = render_toml(propose(frame, name="demo"))
    assert 'audit = ["pais"]  # the review page shows' in text
    assert parse_config(tomllib.loads(text)).audit == ["pais"]
    assert "audit" not in propose(export(), name="demo").config  # no market column, no audit proposed
