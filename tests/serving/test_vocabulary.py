"""The vocabulary (serving/vocabulary/{en,es}.toml) and the review page's assets, read as package data."""

from __future__ import annotations

import re
import string
import tomllib
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from serving import vocabulary
from serving.review import render_report


def is_counted(v: object) -> bool:
    """A word or template with a singular and a plural: one key, whatever forms a language needs."""
    return isinstance(v, dict) and set(v) <= {"one", "many"} and "many" in v


def table_keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for k, v in data.items():
        keys |= table_keys(v, f"{prefix}{k}.") if isinstance(v, dict) and not is_counted(v) else {prefix + k}
    return keys


def load(lang: str) -> dict:
    return tomllib.loads(files("serving.vocabulary").joinpath(f"{lang}.toml").read_text(encoding="utf-8"))


def forms(v: str | dict) -> list[str]:
    return list(v.values()) if isinstance(v, dict) else [v]


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_hold_the_same_words():
    en, es = load("en"), load("es")
    assert table_keys(en) == table_keys(es)


@pytest.mark.parametrize("table", ["reasons", "labels", "page", "list.trends"])
def test_a_spanish_template_fills_only_what_the_english_one_is_given(table):
    # the code fills a template with the English one's fields: a Spanish one asking for another is a KeyError
    en, es = vocabulary.words("en", table), vocabulary.words("es", table)
    for key, template in es.items():
        given = set().union(*(fields(t) for t in forms(en[key])))
        for form in forms(template):
            assert fields(form) <= given, (table, key, form)


def test_every_activity_has_a_singular_and_a_plural_in_both_languages():
    for lang in vocabulary.LANGS:
        assert all(set(v) == {"one", "many"} for v in vocabulary.words(lang, "activities").values()), lang


def test_the_english_list_headers_are_the_column_ids_and_every_tier_has_a_label():
    assert dict(vocabulary.list_headers("en")) == {k: k for k in vocabulary.list_headers("es")}
    for lang in vocabulary.LANGS:
        assert set(vocabulary.words(lang, "list.tiers")) == {"A", "B", "C", "D"}


def test_the_seniority_levels_are_the_same_in_both_languages():
    assert set(vocabulary.seniority_words("en")) == set(vocabulary.seniority_words("es"))


def test_an_unknown_language_is_refused_clearly():
    with pytest.raises(ValueError, match="lang must be one of"):
        vocabulary.words("fr", "page")


@pytest.mark.parametrize("asset", ["page.css", "page.js", "page.html"])
def test_the_page_inlines_its_assets_from_package_data(asset):
    text = files("serving.review").joinpath("assets", asset).read_text(encoding="utf-8")
    rng = np.random.default_rng(1)
    proba = rng.random(50)
    window = pd.DataFrame({"proba": proba, "label": (rng.random(50) < proba).astype(int), "persona_pass": proba > 0.5})
    page = render_report(
        window,
        weekly_mql_volume=50,
        tier_cutoffs={"A": 60, "B": 40, "C": 15},
        metrics={"model": {"roc_auc": 0.7}},
        importance=pd.DataFrame({"feature": ["industry"], "gain": [1.0]}),
    )
    if asset == "page.html":
        assert page.startswith(text.split("$lang")[0]) and page.endswith(text.rstrip("\n").split("$js")[1])
    else:
        assert text in page and "</script" not in text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_review_pages_impact_link_names_the_impact_page_of_its_language(lang):
    from pipelines.flows.impact import page_name

    link = vocabulary.words(lang, "impact")["review_link"]
    assert re.findall(r"latest_impact\w*\.html", link) == [page_name(lang)]
