"""Global factor insights in plain words: what the model leans on, and which way it moves scores."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.names import OTHER, FeatureWords, other_label
from serving.review.format import TEXT, format_number
from serving.vocabulary import check_lang
from serving.vocabulary import words as vocabulary


def feature_label(feature: str, lang: str = "en", words: FeatureWords | None = None) -> str:
    """A feature column's name as a marketer would say it ("Pricing-page visits in the last 7 days").

    ``words``: the dataset's own names (``features.names.feature_words``): an activity type or a column
    the project has no words for reads as the export writes it ("Page View: Pricing in the last 7 days").
    """
    check_lang(lang)
    said = vocabulary(lang, "labels")
    words = words or FeatureWords()
    shown = words.labels.get(feature)
    if feature in words.columns and shown not in (None, words.columns[feature]):
        return shown  # a lookup's column, "Industry (accounts)": the export's word and its table
    names = vocabulary(lang, "features")
    if feature in names:
        return names[feature]
    summed = words.value_sum(feature)
    if summed is not None:  # an event table's value column, in its own words
        what, d = summed
        return said["sum_over"].format(what=what, days=d)
    kind, _, days = feature.rpartition("_")
    if kind and days.endswith("d") and days[:-1].isdigit():
        last = said["last_days"].format(days=days[:-1])
        if kind == OTHER and words.other:
            held = other_label(words.other).removeprefix("other activities ")
            return f"{said['other']} {held} {last}"
        activities = vocabulary(lang, "activities")
        if kind not in activities and kind in words.kinds:
            return f"{words.kinds[kind]} {last}"
        what = activities[kind]["many"] if kind in activities else kind.replace("_", " ")
        return f"{what.capitalize()} {last}"
    if feature in words.columns:
        return words.columns[feature]
    return feature.replace("_", " ").capitalize()


def _value_label(feature: str, value: str, lang: str) -> str:
    values = vocabulary(lang, "values").get(feature, {})
    if value in values:
        return values[value]
    if feature == "seniority":
        return vocabulary(lang, "seniority").get(value, value)
    return value


def factor_insights(
    importance: pd.DataFrame,
    *,
    features: pd.DataFrame | None = None,
    proba: np.ndarray | None = None,
    lang: str = "en",
    top: int = 8,
    words: FeatureWords | None = None,
) -> pd.DataFrame:
    """The ``top`` features the model leans on most, in plain words, with which way they move scores.

    ``importance``: ``TrainingResult.importance`` (columns feature, gain). ``share_of_gain``: the feature's
    share of the model's total gain. With the window's ``features`` and ``proba`` (same rows, same order),
    ``effect`` says how scores move with the feature on that window: for a number, the sign of its rank
    correlation with the score (below 0.05 in size: no clear direction); for a category, the categories
    with the highest and the lowest mean score among those holding at least 2% of the window (20 leads
    at least). Without them, ``effect`` is empty. ``words``: the dataset's own names, for ``label``.
    """
    check_lang(lang)
    t = TEXT[lang]
    total = float(importance["gain"].sum())
    head = importance.sort_values("gain", ascending=False).head(top)
    rows = []
    for feature, gain in zip(head["feature"], head["gain"], strict=True):
        effect = ""
        if features is not None and proba is not None and feature in features.columns:
            effect = _effect(feature, features[feature], np.asarray(proba, dtype=float), t, lang)
        rows.append(
            {
                "feature": feature,
                "label": feature_label(feature, lang, words),
                "share_of_gain": float(gain) / total if total > 0 else math.nan,
                "effect": effect,
            }
        )
    return pd.DataFrame(rows, columns=["feature", "label", "share_of_gain", "effect"])


def _effect(feature: str, column: pd.Series, proba: np.ndarray, t: Mapping[str, str], lang: str) -> str:
    if len(column) != len(proba):
        raise ValueError(f"features has {len(column)} rows and proba {len(proba)}: they must be the same leads")
    if pd.api.types.is_numeric_dtype(column):
        x = pd.Series(column.to_numpy(dtype=float))
        ok = x.notna().to_numpy()
        if x[ok].nunique() < 2:
            return ""
        rho = x[ok].corr(pd.Series(proba[ok]), method="spearman")
        if not math.isfinite(rho) or abs(rho) < 0.05:
            return t["effect_unclear"]
        return t["effect_up"] if rho > 0 else t["effect_down"]
    key = column.astype("str").where(column.notna()).to_numpy()
    frame = pd.DataFrame({"k": key, "p": proba}).dropna()
    stats = frame.groupby("k")["p"].agg(["mean", "size"])
    stats = stats[stats["size"] >= max(20, 0.02 * len(column))].sort_values("mean")
    if len(stats) < 2:
        return ""
    hi, lo = stats.index[-1], stats.index[0]
    return t["effect_categories"].format(
        high=_value_label(feature, hi, lang),
        high_score=format_number(stats["mean"].iloc[-1] * 100, 0, lang),
        low=_value_label(feature, lo, lang),
        low_score=format_number(stats["mean"].iloc[0] * 100, 0, lang),
    )
