"""Per-lead reasons in plain words, from the model's contributions (TreeSHAP, exact linear terms, or both)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.names import OTHER, FeatureWords, other_label
from serving.vocabulary import words as vocabulary

# the reasons are in English for now: serving/vocabulary/en.toml, tables reasons, activities and seniority
_SAY = vocabulary("en", "reasons")
ACTIVITY_WORDS = vocabulary("en", "activities")  # type -> {"one": singular, "many": plural}
SENIORITY_WORDS = vocabulary("en", "seniority")
_WINDOWED = re.compile(r"^(?P<kind>.+)_(?P<days>\d+)d$")
_SUMMED = re.compile(r"^(?P<kind>.+)_sum_(?P<days>\d+)d$")  # an event table's value column summed per window


def _count(n: float, singular: str, plural: str) -> str:
    n = int(round(n))
    return _SAY["count"].format(n=n, word=singular if n == 1 else plural)


def _in_window(value: object, missing: bool, what: str, days: str, said: str) -> str:
    """``said`` in the last ``days`` days, or "no ``what``" there when the lead has none."""
    if missing or value == 0:
        return _SAY["none_in_window"].format(what=what, days=days)
    return _SAY["in_window"].format(what=said, days=days)


def describe(
    feature: str,
    value: object,
    *,
    known: list[str] | None = None,
    typical: float | None = None,
    words: FeatureWords | None = None,
) -> str:
    """One feature value as an SDR would say it.

    ``known``: the categories the model learned for this column (a value outside them is new to it);
    ``typical``: the median MQL's value, to give a number a reference point; ``words``: the dataset's own
    names (``features.names.feature_words``), so an activity type or a column reads as the export writes
    it ("3 × Page View: Pricing in the last 7 days", "Company Size: 51-200") rather than as its id.
    """
    words = words or FeatureWords()
    missing = value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
    label = words.columns.get(feature, feature.replace("_", " "))
    if known is not None and not missing and str(value) not in known:
        return _SAY["new_value"].format(label=label, value=value)
    if feature == "seniority":
        return (
            _SAY["seniority_missing"] if missing else _SAY["seniority"].format(level=SENIORITY_WORDS.get(value, value))
        )
    if feature == "email_type":
        return _SAY[f"email_{value}"] if value in ("free", "corporate") else _SAY["email_missing"]
    if feature == "days_since_last_activity":
        return _SAY["last_activity_missing"] if missing else _SAY["last_activity"].format(value=value)
    if feature == "days_created_to_mql":
        return _SAY["created_missing"] if missing else _SAY["created"].format(value=value)
    if feature == "mql_month":
        return (
            _SAY["mql_month"].format(month=["", *_SAY["months"].split()][int(value)])
            if not missing
            else _SAY["mql_month_missing"]
        )
    if feature == "engagement_recency_weighted":
        ref = _SAY["engagement_typical"].format(typical=typical) if typical is not None else ""
        return _SAY["engagement"].format(value=value, typical=ref)
    if feature == "distinct_types_90d":
        return _SAY["distinct_types"].format(n=int(value))
    if feature == "velocity_7d_vs_30d":
        return _SAY["velocity_missing"] if missing else _SAY["velocity"].format(value=value)
    m = _SUMMED.match(feature)
    if m:
        label, days = words.values.get(m["kind"], m["kind"].replace("_", " ")), m["days"]
        if missing or value == 0:
            return _SAY["none_in_window"].format(what=label, days=days)
        return _SAY["sum_in_window"].format(label=label, value=float(value), days=days)
    m = _WINDOWED.match(feature)
    if m:
        kind, days = m["kind"], m["days"]
        if kind == OTHER and words.other:
            held = other_label(words.other).removeprefix("other activities ")
            counted = _count(float(value), _SAY["other_one"], _SAY["other_many"]) if not missing else ""
            return _in_window(value, missing, f"{_SAY['other_many']} {held}", days, f"{counted} {held}")
        if kind not in ACTIVITY_WORDS and kind in words.kinds:
            # the type as the CRM writes it: "Page View: Pricing" has no plural to make
            text = words.kinds[kind]
            if missing or value == 0:
                return _SAY["none_in_window"].format(what=text, days=days)
            return _SAY["times_in_window"].format(n=int(round(float(value))), what=text, days=days)
        said = ACTIVITY_WORDS.get(kind, {"one": kind.replace("_", " "), "many": kind.replace("_", " ")})
        counted = _count(float(value), said["one"], said["many"]) if not missing else ""
        return _in_window(value, missing, said["many"], days, counted)
    if missing:
        return _SAY["unknown"].format(label=label)
    return _SAY["number" if isinstance(value, int | float) else "text"].format(label=label, value=value)


def top_reasons(
    features: pd.DataFrame,
    contributions: pd.DataFrame,
    k: int = 3,
    *,
    categories: dict[str, list[str]] | None = None,
    typical: dict[str, float] | None = None,
    words: FeatureWords | None = None,
) -> pd.DataFrame:
    """The k features that moved each lead's score most, with ▲ (raises) or ▼ (lowers).

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
                said[key] = describe(name, value, known=categories.get(name), typical=typical.get(name), words=words)
            row.append(f"{arrow} {said[key]}")
        rows.append(row)
    return pd.DataFrame(rows, columns=[f"reason_{i + 1}" for i in range(k)], index=features.index)
