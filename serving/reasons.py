"""Per-lead reasons in plain words, from the model's contributions (TreeSHAP, exact linear terms, or both)."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from features.names import OTHER, FeatureWords
from serving.vocabulary import counted, number
from serving.vocabulary import words as vocabulary

_WINDOWED = re.compile(r"^(?P<kind>.+)_(?P<days>\d+)d$")
_SUMMED = re.compile(r"^(?P<kind>.+)_sum_(?P<days>\d+)d$")  # an event table's value column summed per window


class _Say:
    """The reasons' words in one language (serving/vocabulary/<lang>.toml: tables reasons, activities with
    their singular and plural, seniority): ``say("key", n=...)`` picks a template's singular or plural,
    and ``say.num(x)`` writes a number with the language's decimal mark when formatted."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = vocabulary(lang, "reasons")
        self.activities = vocabulary(lang, "activities")
        self.seniority = vocabulary(lang, "seniority")
        self.plain_numbers = vocabulary(lang, "format")["decimal"] == "."  # English: numbers as Python writes them
        own = vocabulary(lang, "format")["feature_names"] == "vocabulary"
        self.features = vocabulary(lang, "features") if own else {}  # else the export's column names

    def __call__(self, key: str, n: float = 0.0) -> str:
        return counted(self.table[key], n)

    def num(self, value: object) -> object:
        return value if self.plain_numbers else number(value, self.lang)


@cache
def _say_in(lang: str) -> _Say:
    return _Say(lang)


def _count(say: _Say, n: float, singular: str, plural: str) -> str:
    n = int(round(n))
    return say("count").format(n=n, word=singular if n == 1 else plural)


def _in_window(say: _Say, value: object, missing: bool, what: str, days: str, said: str) -> str:
    """``said`` in the last ``days`` days, or "no ``what``" there when the lead has none."""
    if missing or value == 0:
        return say("none_in_window").format(what=what, days=days)
    return say("in_window").format(what=said, days=days)


def _held(say: _Say, types: tuple[str, ...], most: int = 3) -> str:
    """'(A, B, C and 4 more)': the types pooled in the other-activities bucket (as features.names.other_label)."""
    more = say("other_more", len(types) - most).format(n=len(types) - most) if len(types) > most else ""
    return f"({', '.join(types[:most])}{more})"


def describe(
    feature: str,
    value: object,
    *,
    known: list[str] | None = None,
    typical: float | None = None,
    words: FeatureWords | None = None,
    lang: str = "en",
) -> str:
    """One feature value as an SDR would say it, in ``lang`` ("en" or "es").

    ``known``: the categories the model learned for this column (a value outside them is new to it);
    ``typical``: the median MQL's value, to give a number a reference point; ``words``: the dataset's own
    names (``features.names.feature_words``), so an activity type or a column reads as the export writes
    it ("3 × Page View: Pricing in the last 7 days", "Company Size: 51-200") rather than as its id.
    """
    words = words or FeatureWords()
    say = _say_in(lang)
    num = say.num
    missing = value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
    label = say.features.get(feature) or words.columns.get(feature, feature.replace("_", " "))
    if known is not None and not missing and str(value) not in known:
        return say("new_value").format(label=label, value=num(value))
    if feature == "seniority":
        return say("seniority_missing") if missing else say("seniority").format(level=say.seniority.get(value, value))
    if feature == "email_type":
        return say(f"email_{value}") if value in ("free", "corporate") else say("email_missing")
    if feature == "days_since_last_activity":
        return say("last_activity_missing") if missing else say("last_activity", value).format(value=num(value))
    if feature == "days_created_to_mql":
        return say("created_missing") if missing else say("created", value).format(value=num(value))
    if feature == "mql_month":
        return (
            say("mql_month").format(month=["", *say("months").split()][int(value)])
            if not missing
            else say("mql_month_missing")
        )
    if feature == "engagement_recency_weighted":
        ref = say("engagement_typical").format(typical=num(typical)) if typical is not None else ""
        return say("engagement").format(value=num(value), typical=ref)
    if feature == "distinct_types_90d":
        return say("distinct_types", int(value)).format(n=int(value))
    if feature == "velocity_7d_vs_30d":
        return say("velocity_missing") if missing else say("velocity").format(value=num(value))
    m = _SUMMED.match(feature)
    if m:
        label, days = words.values.get(m["kind"], m["kind"].replace("_", " ")), m["days"]
        if missing or value == 0:
            return say("none_in_window").format(what=label, days=days)
        return say("sum_in_window").format(label=label, value=num(float(value)), days=days)
    m = _WINDOWED.match(feature)
    if m:
        kind, days = m["kind"], m["days"]
        if kind == OTHER and words.other:
            held = _held(say, words.other)
            counted_ = _count(say, float(value), say("other_one"), say("other_many")) if not missing else ""
            return _in_window(say, value, missing, f"{say('other_many')} {held}", days, f"{counted_} {held}")
        if kind not in say.activities and kind in words.kinds:
            # the type as the CRM writes it: "Page View: Pricing" has no plural to make
            text = words.kinds[kind]
            if missing or value == 0:
                return say("none_in_window").format(what=text, days=days)
            return say("times_in_window").format(n=int(round(float(value))), what=text, days=days)
        said = say.activities.get(kind, {"one": kind.replace("_", " "), "many": kind.replace("_", " ")})
        counted_ = _count(say, float(value), said["one"], said["many"]) if not missing else ""
        return _in_window(say, value, missing, said["many"], days, counted_)
    if missing:
        return say("unknown").format(label=label)
    return say("number" if isinstance(value, int | float) else "text").format(label=label, value=num(value))


def top_reasons(
    features: pd.DataFrame,
    contributions: pd.DataFrame,
    k: int = 3,
    *,
    categories: dict[str, list[str]] | None = None,
    typical: dict[str, float] | None = None,
    words: FeatureWords | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """The k features that moved each lead's score most, with ▲ (raises) or ▼ (lowers), in ``lang``.

    ``words``: the dataset's own names (see ``describe``)."""
    categories = categories or {}
    typical = typical or {}
    contrib = contributions.to_numpy()
    order = np.argsort(-np.abs(contrib), axis=1)[:, :k]
    names = np.array(contributions.columns)
    # each column's values as .iat reads them (its array, read once), and each value described once per column:
    # the top 10,000 leads repeat the same few values (for speed only: the words are describe's own)
    values = {j: features[names[j]].array for j in np.unique(order)}
    said: dict[tuple, str] = {}
    rows = []
    for i in range(len(contrib)):
        row = []
        for j in order[i]:
            if abs(contrib[i, j]) < 1e-6:
                row.append("")
                continue
            arrow = "▲" if contrib[i, j] > 0 else "▼"
            value = values[j][i]
            key = (j, type(value), "NaN" if pd.isna(value) else value)  # NaN != NaN: one key for them all
            if key not in said:
                name = names[j]
                said[key] = describe(
                    name, value, known=categories.get(name), typical=typical.get(name), words=words, lang=lang
                )
            row.append(f"{arrow} {said[key]}")
        rows.append(row)
    return pd.DataFrame(rows, columns=[f"reason_{i + 1}" for i in range(k)], index=features.index)
