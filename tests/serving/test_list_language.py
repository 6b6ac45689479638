"""The SDR list in the team's language: list.csv's headers, labels, trend words and reasons from the vocabulary."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.files import write_csv
from features.names import FeatureWords
from serving import vocabulary
from serving.planning import score_trend, trend_counts
from serving.publish import publish, read_previous, sdr_csv
from serving.reasons import describe


def template_pattern(template: str) -> str:
    """A template as a regular expression: its words literally, each placeholder any text."""
    return "".join(
        re.escape(text) + (".*?" if name is not None else "") for text, name, _, _ in string.Formatter().parse(template)
    )


def rendered_from(lang: str) -> re.Pattern:
    """Any reason a list in ``lang`` can hold: ▲/▼ and one of the language's [reasons] templates, whole."""
    templates = [
        t for v in vocabulary.words(lang, "reasons").values() for t in (v.values() if isinstance(v, dict) else [v])
    ]
    return re.compile(r"[▲▼] (?:" + "|".join(template_pattern(t) for t in templates) + r")", re.DOTALL)


def english_only_words() -> set[str]:
    """Words of the English reasons and activity names that no Spanish one uses."""

    def words_of(lang: str) -> set[str]:
        text = " ".join(
            [
                *(
                    t
                    for v in vocabulary.words(lang, "reasons").values()
                    for t in (v.values() if isinstance(v, dict) else [v])
                ),
                *(w for v in vocabulary.words(lang, "activities").values() for w in v.values()),
                *vocabulary.words(lang, "seniority").values(),
            ]
        )
        return {w.lower() for w in re.findall(r"[A-Za-zÁÉÍÓÚáéíóúñü]{3,}", re.sub(r"\{[^}]*\}", " ", text))}

    return words_of("en") - words_of("es")


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("pricing_view_7d", 3.0, "3 visitas a la página de precios en los últimos 7 días"),
        ("pricing_view_7d", 1.0, "1 visita a la página de precios en los últimos 7 días"),
        ("demo_request_30d", 1.0, "1 solicitud de demo en los últimos 30 días"),
        ("demo_request_30d", 2.0, "2 solicitudes de demo en los últimos 30 días"),
        ("demo_request_30d", 0.0, "sin solicitudes de demo en los últimos 30 días"),
        ("seniority", "director", "nivel del cargo: director"),
        ("email_type", "free", "dirección de email gratuita (gmail, hotmail...)"),
        ("days_since_last_activity", 1.0, "última actividad 1 día antes del MQL"),
        ("days_since_last_activity", 4.0, "última actividad 4 días antes del MQL"),
        ("distinct_types_90d", 1, "1 solo tipo de actividad en los últimos 90 días"),
        ("velocity_7d_vs_30d", 1.53, "ritmo de la última semana 1,5 veces el de los últimos 30 días"),
        ("mql_month", 8.0, "MQL en agosto"),
        ("company_size", 51.5, "Tamaño de la empresa: 51,5"),
        ("company_size", np.nan, "Tamaño de la empresa: sin dato"),
        ("industry", "Retail", "Sector: Retail"),
    ],
)
def test_spanish_reasons_read_naturally_with_singular_plural_and_a_decimal_comma(feature, value, text):
    assert describe(feature, value, lang="es") == text


def test_every_spanish_reason_with_words_of_its_own_is_translated():
    en, es = vocabulary.words("en", "reasons"), vocabulary.words("es", "reasons")
    for key, template in en.items():
        if re.search(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}|MQL|CRM", "", str(template))):
            assert es[key] != template, key


def test_a_standard_feature_is_named_in_the_lists_language_a_column_of_its_own_as_the_export_names_it():
    words = FeatureWords(columns={"industry": "Industry", "facturacion": "Facturación (M€)"})
    assert describe("industry", "Retail", words=words) == "Industry: Retail"  # English: the export's column
    assert describe("industry", "Retail", words=words, lang="es") == "Sector: Retail"
    assert describe("facturacion", 2.5, words=words, lang="es") == "Facturación (M€): 2,5"


def test_the_pooled_other_activities_read_in_each_language():
    words = FeatureWords(other=("Chat", "Call", "Fax", "Post", "Ping"))
    assert (
        describe("other_activities_7d", 1.0, words=words)
        == "1 other activity (Chat, Call, Fax and 2 more) in the last 7 days"
    )
    assert describe("other_activities_7d", 1.0, words=words, lang="es") == (
        "1 otra actividad (Chat, Call, Fax y 2 más) en los últimos 7 días"
    )


def test_an_unknown_language_is_refused_naming_the_languages():
    with pytest.raises(ValueError, match=r"lang must be one of \('en', 'es'\), got 'fr'"):
        describe("pricing_view_7d", 1.0, lang="fr")


@pytest.fixture(scope="module")
def features(canonical, config):
    from features.build import build_features

    leads, acts = canonical
    return build_features(leads.head(600), acts, config=config)


def test_every_feature_of_the_dataset_is_said_in_spanish_from_a_spanish_template(features, config):
    # every branch of describe the dataset reaches, with the dataset's own words, on 600 leads' values
    from features.names import feature_words

    pattern, english, words = rendered_from("es"), english_only_words(), feature_words(config)
    for feature in features.columns:
        for value in features[feature].drop_duplicates().head(12):  # missing values too, where the data has them
            said = "▲ " + describe(feature, value, typical=3.0, words=words, lang="es")
            assert pattern.fullmatch(said), said
            assert not english & {w.lower() for w in re.findall(r"\w{3,}", said)}, said


@pytest.fixture(scope="module")
def scored_both(canonical, config, features):
    """One small model's list of 600 leads, scored in English and in Spanish (50 leads get reasons)."""
    from features.build import feature_columns
    from models.train import TrainParams, fit_scorer
    from serving.score import score_leads

    leads = canonical[0].head(600)
    cat, num = feature_columns(config)
    y = ((features["pricing_view_30d"].to_numpy() > 0) | (features["demo_request_30d"].to_numpy() > 0)).astype(int)
    model, _ = fit_scorer(
        features,
        y,
        features,
        y,
        categorical=cat,
        numeric=num,
        monotone={},
        params=TrainParams(max_rounds=20, min_class_count=5),
    )
    kw = {"cutoffs": {"A": 60, "B": 30, "C": 10}, "model_version": "3", "pii_columns": ["email"], "reasons_limit": 50}
    at = pd.Timestamp("2026-01-05", tz="UTC").to_pydatetime()
    return (
        score_leads(model, features, leads, scored_at=at, **kw),
        score_leads(model, features, leads, scored_at=at, lang="es", **kw),
    )


def test_the_spanish_list_differs_from_the_english_one_in_its_reasons_words_only(scored_both):
    en, es = scored_both
    reasons = ["reason_1", "reason_2", "reason_3"]
    pd.testing.assert_frame_equal(en.drop(columns=reasons), es.drop(columns=reasons))
    for c in reasons:  # the same features, the same way, for the same leads: only the words change
        assert (en[c].str[:1] == es[c].str[:1]).all() and ((en[c] == "") == (es[c] == "")).all()


def test_every_spanish_reason_of_the_top_leads_comes_from_a_spanish_template(scored_both):
    _, es = scored_both
    pattern, english = rendered_from("es"), english_only_words()
    said = [r for c in ("reason_1", "reason_2", "reason_3") for r in es[c].head(50) if r]
    assert len(said) > 100
    for reason in said:
        assert pattern.fullmatch(reason), reason
        assert not english & {w.lower() for w in re.findall(r"\w{3,}", reason)}, reason
    # a lone activity is said in the singular, several in the plural
    assert not [
        r for r in said if re.search(r"\b1 (?:visitas|solicitudes|emails|descargas|formularios|días|tipos)\b", r)
    ]


def listed_with_extras(scored: pd.DataFrame) -> pd.DataFrame:
    out = scored.head(4).copy()
    out["this_week"] = ["yes", "yes", "no", "no"]
    out["group"] = ["model", "model", "model", "control"]  # the control part's column, when it is there
    return out


def test_list_csv_is_written_in_spanish_and_list_parquet_keeps_the_ids(scored_both, tmp_path):
    _, es = scored_both
    listed = listed_with_extras(es)
    files = publish(tmp_path, "latest", listed, pd.DataFrame({"row": []}), {"status": "ok"}, lang="es")
    csv = pd.read_csv(files["csv"], encoding="utf-8-sig", keep_default_na=False)
    headers = vocabulary.list_headers("es")
    assert list(csv.columns) == [headers[c] for c in listed.columns]
    assert csv["esta_semana"].tolist() == ["sí", "sí", "no", "no"] and csv["grupo"].tolist()[-1] == "control"
    assert csv["nivel"].tolist() == [vocabulary.words("es", "list.tiers")[t] for t in listed["tier"]]
    parquet = pd.read_parquet(files["parquet"])
    assert list(parquet.columns) == list(listed.columns) and parquet["this_week"].tolist() == ["yes", "yes", "no", "no"]
    assert parquet["reason_1"].tolist() == listed["reason_1"].tolist()  # the reasons are the cells in Spanish


def test_the_english_list_csv_is_the_list_itself(scored_both, tmp_path):
    en, _ = scored_both
    listed = listed_with_extras(en)
    assert sdr_csv(listed, "en") is listed
    files = publish(tmp_path, "latest", listed, pd.DataFrame({"row": []}), {"status": "ok"})
    assert Path(files["csv"]).read_bytes() == write_csv(listed, tmp_path / "plain.csv").read_bytes()


@pytest.mark.parametrize(("before", "now"), [("es", "en"), ("en", "es")])
def test_a_previous_list_in_another_language_still_gives_the_trend(scored_both, tmp_path, before, now):
    en, es = scored_both
    previous = {"en": en, "es": es}[before].head(30).copy()
    previous["score"] = previous["score"] - np.r_[10.0, -10.0, np.zeros(28)]  # one improves, one declines
    folder = tmp_path / "csv_only"
    publish(folder, "latest", previous, pd.DataFrame({"row": []}), {"status": "ok"}, lang=before)
    (folder / "latest.parquet").unlink()  # a list.csv alone, as a user may keep it: headers in `before`
    read = read_previous(folder / "latest.csv")
    assert {"lead_id", "score", "tier"} <= set(read.columns)
    out = score_trend({"en": en, "es": es}[now].head(40), read, points=5)
    assert out["trend"].tolist()[:3] == ["Improving", "Declining", "Steady"]  # list.parquet's words, any language
    assert trend_counts(out) == {"improving": 1, "steady": 28, "declining": 1, "new": 10, "tier_moved": 0}
    trends = vocabulary.words(now, "list.trends")
    csv = sdr_csv(out, now)[vocabulary.list_headers(now)["trend"]]
    assert csv.tolist()[:3] == [trends["improving"], trends["declining"], trends["steady"]]


def test_a_tier_moved_by_the_cutoffs_is_explained_in_spanish_with_a_decimal_comma():
    now = pd.DataFrame({"lead_id": ["L2"], "score": [50.0], "tier": ["B"], "reason_1": ["▲ x"]})
    previous = pd.DataFrame({"lead_id": ["L2"], "score": [52.0], "tier": ["A"], "model_version": ["1"]})
    out = sdr_csv(score_trend(now, previous, points=5), "es")
    headers = vocabulary.list_headers("es")
    assert out[headers["trend"]].item() == "Estable"
    assert out[headers["tier_change_reason"]].item() == (
        "puntuación 52,0 → 50,0: cerca de un umbral de nivel, o los umbrales cambiaron"
    )


def test_list_parquet_keeps_the_english_trend_words_and_list_csv_says_them_in_spanish(tmp_path):
    # list.parquet is the machine-readable list: the same trend cells in every language (read by tools, not SDRs)
    now = pd.DataFrame(
        {"lead_id": ["L1", "L2", "L3", "L4"], "score": [80.0, 50.0, 20.0, 60.0], "tier": ["A", "B", "D", "B"]}
    )
    now["reason_1"] = ["▲ subió", "▲ x", "▼ bajó", "▲ y"]
    previous = pd.DataFrame(
        {"lead_id": ["L1", "L2", "L3"], "score": [60.0, 52.4, 40.0], "tier": ["B", "A", "C"], "model_version": "1"}
    )
    listed = score_trend(now, previous, points=5)
    files = {
        lang: publish(tmp_path / lang, "latest", listed, pd.DataFrame({"row": []}), {}, lang=lang)
        for lang in ("en", "es")
    }
    parquet = {lang: pd.read_parquet(f["parquet"]) for lang, f in files.items()}
    pd.testing.assert_frame_equal(parquet["es"], parquet["en"])
    assert parquet["es"]["trend"].tolist() == ["Improving", "Steady", "Declining", ""]
    near = "score 52.4 → 50.0: close to a tier cut-off, or the cut-offs changed"
    assert parquet["es"]["tier_change_reason"].tolist() == ["▲ subió", near, "▼ bajó", ""]
    csv = pd.read_csv(files["es"]["csv"], encoding="utf-8-sig", keep_default_na=False)
    assert csv["tendencia"].tolist() == ["Mejora", "Estable", "Empeora", ""]
    near_es = "puntuación 52,4 → 50,0: cerca de un umbral de nivel, o los umbrales cambiaron"
    assert csv[vocabulary.list_headers("es")["tier_change_reason"]].tolist() == ["▲ subió", near_es, "▼ bajó", ""]
    # the next week reads either list back to the same previous scores and tiers
    for lang in ("en", "es"):
        (tmp_path / lang / "latest.parquet").unlink()
        back = read_previous(tmp_path / lang / "latest.csv")
        assert back["score"].tolist() == listed["score"].tolist() and back["tier"].tolist() == listed["tier"].tolist()


def test_a_persona_list_says_its_rule_in_spanish(config):
    from serving.persona import persona_list

    feats = pd.DataFrame(
        {"seniority": ["student"], "company_size": ["1-10"], "email_type": ["free"], "activities_30d": [0.0]},
        index=pd.Index(["weak"], name="lead_id"),
    )
    leads = pd.DataFrame({"lead_id": ["weak"], "mql_at": pd.to_datetime(["2026-01-01"])})
    out = persona_list(feats, leads, config.persona, pii_columns=[], lang="es")
    assert out.loc[0, "reason_1"] == "▼ nivel del cargo: estudiante o becario (regla: c_level, vp, director, manager)"
    assert all(rendered_from("es").fullmatch(r.split(" (regla: ")[0]) for r in out.filter(like="reason_").iloc[0] if r)
