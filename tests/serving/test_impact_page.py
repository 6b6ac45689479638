"""The impact page and its section on the review page, in English and Spanish, from a hand-made report."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from serving.review.format import esc
from serving.review.impact_section import IMPACT_TEXT, impact_section, lift_text, render_impact
from tests.serving.test_report import page_window, render

WEEK = {
    "week_of": "2026-03-02 06:00", "status": "realised", "leads": 400, "worked_leads": 80, "control_leads": 80,
    "expected_sqls": 30.25, "score_sum": 80.0, "sqls": 33, "expected_low": 21.0, "expected_high": 39.5,
    "sqls_by_tier": {"A": {"leads": 20, "sqls": 9}, "B": {"leads": 40, "sqls": 8}, "control": {"leads": 80, "sqls": 5}},
    "worked": {"leads": 64, "sqls": 17, "rate": 0.2656}, "rest": {"leads": 256, "sqls": 11, "rate": 0.043},
    "control_worked": {"leads": 16, "sqls": 2, "rate": 0.125},
    "kpis": {"sql_volume": 33, "sqls_worked": 19, "sdr_hours_worked": 20.0, "sdr_hours_recovered": 80.0,
             "cost_per_sql": 31.58, "response_by_tier": None},
}  # fmt: skip
PENDING = {"week_of": "2026-03-09 06:00", "status": "pending", "leads": 410, "expected_sqls": 29.0, "due": "2026-04-08"}
LIFT = {
    "weeks": 1, "model": {"worked_leads": 64, "sqls": 17, "rate": 0.2656, "cost_per_sql": 14.12},
    "control": {"worked_leads": 16, "sqls": 2, "rate": 0.125, "cost_per_sql": 60.0}, "lift": 0.1406,
    "lift_low": -0.05, "lift_high": 0.3312, "sqls_gained_per_week": 9.0, "expected_sqls_given_up_per_week": 1.25,
    "weeks_needed": 3,
}  # fmt: skip
REPORT = {
    "as_of": "2026-04-01 06:00:00", "horizon_days": 30, "lists": 2, "realised_weeks": 1, "pending_weeks": 1,
    "weeks": [WEEK, PENDING], "total": {**WEEK, "weeks": 1}, "lift": LIFT, "notes": [],
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_impact_page_is_self_contained_and_says_what_the_lift_means(lang):
    page = render_impact(REPORT, lang=lang, generated_at=datetime(2026, 4, 1, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    assert "http://" not in page and "https://" not in page and not re.search(r"<script[^>]*\bsrc=", page)
    t = IMPACT_TEXT[lang]
    assert t["title"] in page and t["s_weeks"] in page and t["chart_title"] in page
    assert t["pending"].format(due="2026-04-08") in page
    assert t["lift_more"].format(n=3) in page  # the interval still holds zero: the weeks still needed
    # the lift in points, and its interval, in the language's number format
    assert ("+14.1" if lang == "en" else "+14,1") in page and ("+33.1" if lang == "en" else "+33,1") in page
    assert ("€31.58" if lang == "en" else "31,58\u00a0€") in page


def test_without_a_control_group_the_page_says_how_to_get_one():
    assert lift_text(None, "en") == [IMPACT_TEXT["en"]["no_control"]]
    page = render_impact({**REPORT, "lift": None}, lang="es")
    assert "LEADSCORE_CONTROL_SHARE" in page and IMPACT_TEXT["es"]["no_control"] in page


def test_the_vocabulary_has_the_same_impact_words_in_both_languages():
    assert set(IMPACT_TEXT["en"]) == set(IMPACT_TEXT["es"])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_review_page_shows_the_impact_section_when_there_is_a_report(lang):
    window = page_window()
    assert "id='impact'" not in render(window, lang)
    page = render(window, lang, impact=REPORT)
    assert impact_section(REPORT, lang) in page and IMPACT_TEXT[lang]["review_link"] in page


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_persona_rule_week_is_labelled_and_shows_the_rules_worked_leads(lang):
    persona = {**WEEK, "kind": "persona", "worked": {"leads": 0, "sqls": 0, "rate": None},
               "persona_worked": {"leads": 50, "sqls": 7, "rate": 0.14}}  # fmt: skip
    page = render_impact({**REPORT, "weeks": [persona, PENDING]}, lang=lang)
    assert esc(IMPACT_TEXT[lang]["persona_week"].format(date="2026-03-02")) in page
    assert ("14.0%" if lang == "en" else "14,0\u00a0%") in page


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_control_group_still_pending_is_not_reported_as_missing(lang):
    control = {"since": "2026-03-09", "due": "2026-04-08", "lists": 1, "realised": 0}
    page = render_impact({**REPORT, "lift": None, "control": control}, lang=lang)
    said = IMPACT_TEXT[lang]["control_pending"].format(since="2026-03-09", due="2026-04-08")
    assert esc(said) in page and "LEADSCORE_CONTROL_SHARE" not in page
