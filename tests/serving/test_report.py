"""The threshold review: figure functions against hand-computed values, and the page in headless Chromium."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from serving.review import (
    FIGURE_FORMATS,
    FIGURE_SLUGS,
    RULE_SLUGS,
    TEXT,
    calibration_table,
    cumulative_gains,
    cutoff_tradeoffs,
    factor_insights,
    feature_label,
    format_figure,
    format_number,
    reference_tradeoffs,
    render_report,
    score_bands,
    weekly_volume,
)

NAN = math.nan


def tiny() -> pd.DataFrame:
    """Ten leads, scores 95 down to 1, rows shuffled; 4 SQLs; the persona rule passes 4 leads, 1 an SQL."""
    proba = [0.95, 0.80, 0.72, 0.60, 0.45, 0.33, 0.25, 0.12, 0.05, 0.01]
    label = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0]
    persona = [True, False, True, False, True, False, False, True, False, False]
    order = [3, 9, 0, 6, 1, 8, 4, 2, 7, 5]
    return pd.DataFrame(
        {
            "proba": [proba[i] for i in order],
            "label": [label[i] for i in order],
            "persona_pass": [persona[i] for i in order],
        },
        index=pd.Index([f"L{i}" for i in order], name="lead_id"),
    )


def frame(proba, label, persona=None) -> pd.DataFrame:
    persona = [False] * len(proba) if persona is None else persona
    return pd.DataFrame({"proba": proba, "label": label, "persona_pass": persona})


def assert_figures(actual: pd.Series | dict, expected: dict) -> None:
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got), f"{key}: expected NaN, got {got}"
        else:
            assert got == pytest.approx(want), f"{key}: expected {want}, got {got}"


# ---------------------------------------------------------------------------------------------------
# score bands


def test_score_bands_on_the_tiny_frame():
    bands = score_bands(tiny(), n_bands=5)
    model = bands[bands["group"] == "model"]
    assert model["band"].tolist() == [1, 2, 3, 4, 5]
    assert model["leads"].tolist() == [2, 2, 2, 2, 2]
    assert model["sqls"].tolist() == [2, 1, 1, 0, 0]
    assert model["conversion"].tolist() == pytest.approx([1.0, 0.5, 0.5, 0.0, 0.0])
    assert model["lift"].tolist() == pytest.approx([2.5, 1.25, 1.25, 0.0, 0.0])
    assert model["top_to"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert (model["score_min"].iloc[0], model["score_max"].iloc[0]) == (80.0, 95.0)
    rule = bands[bands["group"] == "persona_rule"].iloc[0]
    assert_figures(rule, {"leads": 4, "sqls": 1, "conversion": 0.25, "lift": 0.625})


@pytest.mark.parametrize(
    ("n_bands", "sizes"),
    [(10, [1] * 10), (3, [4, 3, 3]), (1, [10]), (25, [1] * 10)],  # more bands than leads: one lead each
)
def test_score_bands_are_equal_sized(n_bands, sizes):
    model = score_bands(tiny(), n_bands=n_bands).query("group == 'model'")
    assert model["leads"].tolist() == sizes


def test_score_bands_without_sqls_or_persona_passes_give_nan_lift():
    bands = score_bands(frame([0.9, 0.5, 0.1], [0, 0, 0]), n_bands=3)
    assert bands["lift"].isna().all()
    rule = bands.iloc[-1]
    assert rule["leads"] == 0 and math.isnan(rule["conversion"])


# ---------------------------------------------------------------------------------------------------
# cumulative gains and calibration


def test_cumulative_gains_on_the_tiny_frame():
    gains = cumulative_gains(tiny())
    model = gains[gains["group"] == "model"]
    assert model["share_worked"].tolist() == pytest.approx([i / 10 for i in range(11)])
    assert model["share_captured"].tolist() == pytest.approx([0, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1, 1, 1])
    assert model["min_score"].iloc[1:].tolist() == [95.0, 80.0, 72.0, 60.0, 45.0, 33.0, 25.0, 12.0, 5.0, 1.0]
    rule = gains[gains["group"] == "persona_rule"].iloc[0]
    assert (rule["share_worked"], rule["share_captured"]) == (0.4, 0.25)


def test_cumulative_gains_never_split_tied_scores():
    model = cumulative_gains(frame([0.5, 0.2, 0.5], [1, 0, 0])).query("group == 'model'")
    assert model["share_worked"].tolist() == pytest.approx([0, 2 / 3, 1])
    assert model["share_captured"].tolist() == pytest.approx([0, 1, 1])


def test_calibration_table_on_the_tiny_frame():
    cal = calibration_table(tiny(), bins=10)
    model = cal[cal["group"] == "model"].reset_index(drop=True)
    assert model["leads"].tolist() == [2, 1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert_figures(model.iloc[0], {"bin_low": 0.0, "bin_high": 0.1, "mean_predicted": 0.03, "observed_rate": 0.0})
    assert_figures(model.iloc[5], {"mean_predicted": NAN, "observed_rate": NAN})
    assert_figures(model.iloc[9], {"mean_predicted": 0.95, "observed_rate": 1.0})
    rule = cal[cal["group"] == "persona_rule"].iloc[0]
    assert_figures(rule, {"leads": 4, "mean_predicted": 0.56, "observed_rate": 0.25})


# ---------------------------------------------------------------------------------------------------
# cut-off trade-offs


# weekly volume 100 MQLs, 15 minutes a lead, 30 an hour; scores 95 80 72 60 45 33 25 12 5 1, SQLs at 95 80 60 33
TINY_TRADEOFFS = {
    0: {
        "leads_passed": 10,
        "sqls_passed": 4,
        "share_passed": 1.0,
        "leads_per_week": 100.0,
        "sqls_per_week": 40.0,
        "sql_rate_passed": 0.4,
        "share_captured": 1.0,
        "sdr_hours_per_week": 25.0,
        "sdr_hours_saved_per_week": 0.0,
        "cost_per_sql": 18.75,
    },
    50: {
        "leads_passed": 4,
        "sqls_passed": 3,
        "share_passed": 0.4,
        "leads_per_week": 40.0,
        "sqls_per_week": 30.0,
        "sql_rate_passed": 0.75,
        "share_captured": 0.75,
        "sdr_hours_per_week": 10.0,
        "sdr_hours_saved_per_week": 15.0,
        "cost_per_sql": 10.0,
    },
    72: {  # a score equal to the cut-off passes
        "leads_passed": 3,
        "sqls_passed": 2,
        "share_passed": 0.3,
        "leads_per_week": 30.0,
        "sqls_per_week": 20.0,
        "sql_rate_passed": 2 / 3,
        "share_captured": 0.5,
        "sdr_hours_per_week": 7.5,
        "sdr_hours_saved_per_week": 17.5,
        "cost_per_sql": 11.25,
    },
    96: {  # above the best score: nothing passes, nothing is spent, no cost per SQL
        "leads_passed": 0,
        "sqls_passed": 0,
        "share_passed": 0.0,
        "leads_per_week": 0.0,
        "sqls_per_week": 0.0,
        "sql_rate_passed": NAN,
        "share_captured": 0.0,
        "sdr_hours_per_week": 0.0,
        "sdr_hours_saved_per_week": 25.0,
        "cost_per_sql": NAN,
    },
}


@pytest.mark.parametrize("cutoff", sorted(TINY_TRADEOFFS))
def test_cutoff_tradeoffs_on_the_tiny_frame(cutoff):
    table = cutoff_tradeoffs(tiny(), weekly_mql_volume=100, minutes_per_lead=15, cost_per_hour=30.0)
    assert table["cutoff"].tolist() == list(range(101))
    assert_figures(table.set_index("cutoff").loc[cutoff], TINY_TRADEOFFS[cutoff])


def test_the_two_inputs_scale_hours_and_cost():
    table = cutoff_tradeoffs(tiny(), weekly_mql_volume=100, minutes_per_lead=30, cost_per_hour=40.0, cutoffs=[50])
    # 40 leads a week x 30 minutes = 20 hours, x 40 = 800 for 30 SQLs
    assert_figures(
        table.iloc[0], {"sdr_hours_per_week": 20.0, "sdr_hours_saved_per_week": 30.0, "cost_per_sql": 80 / 3}
    )


@pytest.mark.parametrize(
    ("window", "cutoff", "expected"),
    [
        pytest.param(
            frame([0.3, 0.2, 0.1], [0, 1, 0]),
            0,
            {"share_passed": 1.0, "share_captured": 1.0, "sqls_per_week": 7.0},
            id="cut-off 0 passes all",
        ),
        pytest.param(
            frame([0.3, 0.2, 0.1], [0, 1, 0]),
            100,
            {"share_passed": 0.0, "sql_rate_passed": NAN, "cost_per_sql": NAN, "sdr_hours_per_week": 0.0},
            id="cut-off above every score passes none",
        ),
        pytest.param(
            frame([0.3, 0.2, 0.1], [0, 0, 0]),
            0,
            {"sqls_per_week": 0.0, "share_captured": NAN, "cost_per_sql": NAN, "sdr_hours_per_week": 5.25},
            id="hours spent but no SQL: no cost per SQL",
        ),
        pytest.param(
            frame([0.29, 0.289], [1, 0]),
            29,
            {"leads_passed": 1, "sqls_passed": 1},
            id="the rounded score decides, as on the SDR list (0.29*100 < 29 in floats)",
        ),
        pytest.param(
            frame([0.2895, 0.2849], [1, 0]),
            29,
            {"leads_passed": 1},
            id="28.95 rounds to 29.0 and passes, 28.49 does not",
        ),
    ],
)
def test_cutoff_tradeoff_edge_cases(window, cutoff, expected):
    row = cutoff_tradeoffs(window, weekly_mql_volume=21, minutes_per_lead=15, cost_per_hour=30, cutoffs=[cutoff])
    assert_figures(row.iloc[0], expected)


def test_reference_tradeoffs_at_the_tiers_the_persona_rule_and_every_mql():
    refs = reference_tradeoffs(tiny(), {"A": 72, "B": 50, "C": 0}, weekly_mql_volume=100)
    assert refs.index.tolist() == ["A", "B", "C", "persona_rule", "all"]
    assert_figures(refs.loc["A"], {"cutoff": 72.0, **TINY_TRADEOFFS[72]})
    assert_figures(refs.loc["B"], TINY_TRADEOFFS[50])
    assert_figures(refs.loc["all"], TINY_TRADEOFFS[0])
    assert_figures(
        refs.loc["persona_rule"],
        {
            "cutoff": NAN,
            "share_passed": 0.4,
            "leads_per_week": 40.0,
            "sqls_per_week": 10.0,
            "sql_rate_passed": 0.25,
            "share_captured": 0.25,
            "sdr_hours_per_week": 10.0,
            "cost_per_sql": 30.0,
        },
    )


def test_a_persona_rule_that_passes_nobody():
    window = tiny().assign(persona_pass=False)
    refs = reference_tradeoffs(window, {"A": 72, "B": 50, "C": 0}, weekly_mql_volume=100)
    assert_figures(refs.loc["persona_rule"], {"share_passed": 0.0, "sql_rate_passed": NAN, "cost_per_sql": NAN})
    gains = cumulative_gains(window)
    assert gains.iloc[-1][["share_worked", "share_captured"]].tolist() == [0.0, 0.0]
    assert calibration_table(window).iloc[-1]["leads"] == 0


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (frame([], []), "no leads"),
        (frame([0.5, 1.2], [0, 1]), "proba must lie within 0-1"),
        (frame([0.5, 0.2], [0, 2]), "label must be 0 or 1"),
        (pd.DataFrame({"proba": [0.1], "label": [0]}), "persona_pass"),
    ],
)
def test_a_bad_window_is_refused_with_the_reason(window, message):
    with pytest.raises(ValueError, match=message):
        cutoff_tradeoffs(window, weekly_mql_volume=10)


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError, match="minutes_per_lead"):
        cutoff_tradeoffs(tiny(), weekly_mql_volume=10, minutes_per_lead=-5)


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (pd.date_range("2025-01-01", periods=15, freq="D"), 7.5),  # 15 MQLs over 14 days
        (pd.to_datetime(["2025-03-03 09:00"] * 12), 12.0),  # one day counts as a week, not 7 x 12
        (pd.to_datetime(["2025-03-03", "2025-03-05", None]), 2.0),  # missing stamps ignored
        (pd.Series([], dtype="datetime64[ns]"), 0.0),
    ],
)
def test_weekly_volume(stamps, expected):
    assert weekly_volume(pd.Series(stamps)) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------------
# words and numbers


@pytest.mark.parametrize(
    ("x", "decimals", "en", "es"),
    [
        (1234.5, 1, "1,234.5", "1.234,5"),
        (1234567.0, 0, "1,234,567", "1.234.567"),
        (0.125, 2, "0.13", "0,13"),  # half away from zero, as JavaScript's toFixed
        (6.5, 0, "7", "7"),  # not to even
        (-0.04, 1, "0.0", "0,0"),  # no "-0.0"
        (-2.25, 1, "-2.3", "-2,3"),
        (NAN, 1, "—", "—"),
    ],
)
def test_format_number(x, decimals, en, es):
    assert (format_number(x, decimals, "en"), format_number(x, decimals, "es")) == (en, es)


@pytest.mark.parametrize(
    ("kind", "x", "en", "es"),
    [
        ("pct", 0.1234, "12.3%", "12,3\u00a0%"),
        ("money", 1234.5, "€1,234.50", "1.234,50\u00a0€"),
        ("signed1", 14.25, "+14.3", "+14,3"),
        ("signed1", -0.01, "0.0", "0,0"),
        ("lift", 2.5, "×2.5", "×2,5"),
        ("money", math.inf, "—", "—"),
    ],
)
def test_format_figure(kind, x, en, es):
    assert (format_figure(kind, x, "en"), format_figure(kind, x, "es")) == (en, es)


@pytest.mark.parametrize(
    ("feature", "en", "es"),
    [
        (
            "pricing_view_7d",
            "Pricing-page visits in the last 7 days",
            "Visitas a la página de precios en los últimos 7 días",
        ),
        ("activities_30d", "Activities in the last 30 days", "Actividades en los últimos 30 días"),
        ("email_type", "Email type (corporate or free)", "Tipo de email (corporativo o gratuito)"),
        ("annual_revenue", "Annual revenue", "Annual revenue"),  # a dataset's own column: its name, readable
    ],
)
def test_feature_labels(feature, en, es):
    assert (feature_label(feature, "en"), feature_label(feature, "es")) == (en, es)


def test_factor_insights_rank_by_gain_and_read_the_direction_off_the_window():
    importance = pd.DataFrame({"feature": ["seniority", "pricing_view_7d", "unsubscribe_30d"], "gain": [20, 60, 20]})
    rng = np.random.default_rng(0)
    n = 200
    pricing = rng.integers(0, 5, n).astype(float)
    unsub = rng.integers(0, 3, n).astype(float)
    seniority = np.where(np.arange(n) % 2 == 0, "director", "student")
    proba = np.clip(0.1 + 0.1 * pricing - 0.05 * unsub + np.where(seniority == "director", 0.2, 0.0), 0, 1)
    feats = pd.DataFrame({"seniority": seniority, "pricing_view_7d": pricing, "unsubscribe_30d": unsub})
    out = factor_insights(importance, features=feats, proba=proba)
    assert out["feature"].tolist()[0] == "pricing_view_7d"
    assert out["share_of_gain"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    effect = dict(zip(out["feature"], out["effect"], strict=True))
    assert effect["pricing_view_7d"] == "more → higher score"
    assert effect["unsubscribe_30d"] == "more → lower score"
    assert (
        effect["seniority"].startswith("highest: director-level") and "lowest: student or intern" in effect["seniority"]
    )
    assert factor_insights(importance)["effect"].eq("").all()  # no window: no direction claimed


def test_both_languages_have_every_word():
    assert set(TEXT["en"]) == set(TEXT["es"])


# ---------------------------------------------------------------------------------------------------
# the page

WEEKLY = 123.4
TIER_CUTOFFS = {"A": 48.0, "B": 21.4, "C": 8.8}
METRICS = {
    "model": {"roc_auc": 0.8244, "roc_auc_ci_low": 0.80, "roc_auc_ci_high": 0.845, "capture_top20": 0.52},
    "persona_rule": {"roc_auc": 0.68, "roc_auc_ci_low": 0.65, "roc_auc_ci_high": 0.71, "capture_top20": 0.35},
}
COMPARISONS = {"persona_rule": {"diff": 0.144, "low": 0.12, "high": 0.17, "verdict": "better"}}
IMPORTANCE = pd.DataFrame({"feature": ["pricing_view_7d", "seniority"], "gain": [3.0, 1.0]})


def page_window(n: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    proba = rng.beta(1.6, 5.0, n)
    return pd.DataFrame(
        {
            "proba": proba,
            "label": (rng.random(n) < proba).astype(int),
            "persona_pass": rng.random(n) < 0.25 + 0.5 * proba,
            "mql_at": pd.Timestamp("2025-04-01") + pd.to_timedelta(rng.uniform(0, 42, n), unit="D"),
        }
    )


def render(window: pd.DataFrame, lang: str = "en", **kw) -> str:
    return render_report(
        window,
        weekly_mql_volume=WEEKLY,
        tier_cutoffs=TIER_CUTOFFS,
        metrics=METRICS,
        comparisons=COMPARISONS,
        importance=IMPORTANCE,
        persona_description="Manager or above, 51+ employees",
        lang=lang,
        generated_at=datetime(2025, 5, 20, tzinfo=UTC),
        **kw,
    )


def embedded_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_page_is_self_contained(lang):
    page = render(page_window(), lang)
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*//""", page)  # no protocol-relative loads either
    assert "<link" not in page and not re.search(r"<script[^>]*\bsrc=", page)
    assert TEXT[lang]["s_cutoff"] in page and TEXT[lang]["cal_title"] in page


def test_the_spanish_page_writes_spanish_numbers():
    page = render(page_window(), "es")
    assert TEXT["es"]["title"] in page and TEXT["en"]["title"] not in page
    assert re.search(r"\d,\d\u00a0%", page)  # 12,3 %
    assert "abr 2025" in page  # the window's dates, with Spanish months


def test_the_page_embeds_exactly_what_the_functions_compute():
    window = page_window()
    page = render(window)
    data = embedded_data(page)
    table = cutoff_tradeoffs(window, weekly_mql_volume=WEEKLY)
    embedded = pd.DataFrame(data["rows"]).astype(float)
    pd.testing.assert_frame_equal(embedded, table.astype(float), check_exact=True)
    refs = reference_tradeoffs(window, TIER_CUTOFFS, weekly_mql_volume=WEEKLY)
    assert data["refs"]["persona_rule"]["sqls_per_week"] == refs.loc["persona_rule", "sqls_per_week"]
    # the figures written into the page before any script runs are the start cut-off's
    start = int(re.search(r'id="cutoff" min="0" max="100" step="1" value="(\d+)"', page).group(1))
    row = table.set_index("cutoff").loc[start]
    for column, slug in FIGURE_SLUGS.items():
        text = re.search(rf'id="fig-{slug}" data-value="[^"]*">([^<]*)<', page).group(1)
        assert text == format_figure(FIGURE_FORMATS[column], row[column], "en")


def test_the_slider_starts_where_the_persona_rule_passes_as_many_leads():
    window = page_window()
    page = render(window)
    start = int(re.search(r'id="cutoff" min="0" max="100" step="1" value="(\d+)"', page).group(1))
    table = cutoff_tradeoffs(window, weekly_mql_volume=WEEKLY)
    gap = (table["share_passed"] - window["persona_pass"].mean()).abs()
    assert gap.iloc[start] == gap.min()


@pytest.mark.parametrize(
    "window",
    [
        pytest.param(tiny().assign(persona_pass=False), id="no persona passes"),
        pytest.param(tiny().assign(label=0), id="no SQLs"),
        pytest.param(frame([0.4], [1], [True]), id="a single lead"),
    ],
)
def test_the_page_renders_edge_windows_with_dashes_not_errors(window):
    page = render(window)
    start = int(re.search(r'id="cutoff" min="0" max="100" step="1" value="(\d+)"', page).group(1))
    if not window["persona_pass"].any():
        assert start == round(TIER_CUTOFFS["B"])  # nothing to match: the slider starts at tier B
    last = embedded_data(page)["rows"][-1]
    assert last["cutoff"] == 100 and last["cost_per_sql"] is None  # JSON null, shown as "—"


def test_the_page_says_which_way_factors_move_the_score():
    window = page_window()
    feats = pd.DataFrame({"pricing_view_7d": np.round(window["proba"] * 10), "seniority": "director"})
    page = render(window, features=feats)
    assert "more → higher score" in page
    assert "Pricing-page visits in the last 7 days" in page


def test_render_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="lang"):
        render(page_window(), "fr")


# ---------------------------------------------------------------------------------------------------
# the page in headless Chromium

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's Chromium and ChromeDriver; installed once per session (as root) when missing.

    Skips, saying why, where they are missing and cannot be installed: not root, no apt-get,
    LEADSCORE_NO_APT=1, or the install failing (no network, say).
    """
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return CHROMIUM, CHROMEDRIVER
    if os.environ.get("LEADSCORE_NO_APT") == "1":
        pytest.skip("Chromium is not installed and LEADSCORE_NO_APT=1 forbids installing it")
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]):
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        tail = (getattr(e, "stderr", "") or "")[-300:]
        pytest.skip(f"Chromium is not installed and installing it failed: {e}; {tail}")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} or {CHROMEDRIVER} is still missing")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture(scope="module")
def browser(chromium):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1000"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(chromium[1]), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def displayed(driver, element_id: str) -> tuple[str, str]:
    el = driver.find_element("id", element_id)
    # textContent, not .text: WebDriver's .text turns the no-break space of "12,3 %" into a space
    return el.get_property("textContent"), el.get_attribute("data-value")


def check_figures(driver, row: pd.Series, lang: str) -> None:
    """Every figure of the cut-off control shows the Python value, formatted the Python way."""
    for column, slug in FIGURE_SLUGS.items():
        text, raw = displayed(driver, f"fig-{slug}")
        want = row[column]
        assert text == format_figure(FIGURE_FORMATS[column], want, lang), f"fig-{slug}"
        if math.isfinite(want):
            assert float(raw) == pytest.approx(want, rel=1e-12), f"fig-{slug}"
        else:
            assert raw == "", f"fig-{slug}"


def check_references(driver, refs: pd.DataFrame, lang: str) -> None:
    for rule, slug in RULE_SLUGS.items():
        for column in ("sdr_hours_per_week", "cost_per_sql", "sqls_per_week"):
            text, _ = displayed(driver, f"ref-{slug}-{FIGURE_SLUGS[column]}")
            assert text == format_figure(FIGURE_FORMATS[column], refs.loc[rule, column], lang), (rule, column)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_moving_the_cutoff_in_chromium_shows_the_python_figures(browser, tmp_path, lang):
    from selenium.webdriver.common.keys import Keys

    window = page_window()
    page = tmp_path / "review.html"
    page.write_text(render(window, lang), encoding="utf-8")
    browser.get(page.as_uri())
    assert browser.execute_script("return document.documentElement.lang") == lang
    slider = browser.find_element("id", "cutoff")
    table = cutoff_tradeoffs(window, weekly_mql_volume=WEEKLY).set_index("cutoff")
    start = int(slider.get_attribute("value"))
    check_figures(browser, table.loc[start], lang)
    marker = browser.find_element("id", "gains-marker")
    first_position = marker.get_attribute("transform")

    slider.send_keys(Keys.HOME)
    assert slider.get_attribute("value") == "0"
    assert browser.find_element("id", "cutoff-value").text == "0"
    check_figures(browser, table.loc[0], lang)

    slider.send_keys(Keys.ARROW_RIGHT * 37)
    assert slider.get_attribute("value") == "37"
    check_figures(browser, table.loc[37], lang)
    assert marker.get_attribute("transform") != first_position
    x, y = map(float, re.match(r"translate\(([\d.]+) ([\d.]+)\)", marker.get_attribute("transform")).groups())
    svg = browser.find_element("css selector", "svg[data-x0]")
    x0, y0, w, h = (float(svg.get_attribute(f"data-{k}")) for k in ("x0", "y0", "w", "h"))
    assert x == pytest.approx(x0 + table.loc[37, "share_passed"] * w, abs=0.01)
    assert y == pytest.approx(y0 - table.loc[37, "share_captured"] * h, abs=0.01)

    minutes = browser.find_element("id", "minutes")
    minutes.clear()
    minutes.send_keys("20")
    cost = browser.find_element("id", "cost-hour")
    cost.clear()
    cost.send_keys("45.5")
    inputs = {"weekly_mql_volume": WEEKLY, "minutes_per_lead": 20, "cost_per_hour": 45.5}
    row = cutoff_tradeoffs(window, cutoffs=[37], **inputs).iloc[0]
    assert row["sdr_hours_per_week"] != table.loc[37, "sdr_hours_per_week"]  # the inputs did change the figures
    check_figures(browser, row, lang)
    check_references(browser, reference_tradeoffs(window, TIER_CUTOFFS, **inputs), lang)
    refs = reference_tradeoffs(window, TIER_CUTOFFS, **inputs)
    text, _ = displayed(browser, "fig-vs-persona-sqls")
    assert text == format_figure("signed1", row["sqls_per_week"] - refs.loc["persona_rule", "sqls_per_week"], lang)

    slider.send_keys(Keys.END)
    last = cutoff_tradeoffs(window, cutoffs=[100], **inputs).iloc[0]
    assert last["leads_passed"] == 0
    check_figures(browser, last, lang)
    assert displayed(browser, "fig-cost-per-sql")[0] == "—"
