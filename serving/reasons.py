"""Per-lead reasons in plain words, from the model's contributions (TreeSHAP, exact linear terms, or both)."""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

from features.names import OTHER, FeatureWords, other_label

ACTIVITY_WORDS = {  # type: (singular, plural)
    "email_open": ("email opened", "emails opened"),
    "email_click": ("email link clicked", "email links clicked"),
    "page_view": ("web page viewed", "web pages viewed"),
    "pricing_view": ("pricing-page visit", "pricing-page visits"),
    "download": ("content download", "content downloads"),
    "webinar": ("webinar attended", "webinars attended"),
    "form_fill": ("form filled in", "forms filled in"),
    "demo_request": ("demo request", "demo requests"),
    "unsubscribe": ("unsubscribe", "unsubscribes"),
}
SENIORITY_WORDS = {
    "c_level": "C-level or founder",
    "vp": "vice-president",
    "director": "director-level",
    "manager": "manager-level",
    "individual": "individual contributor",
    "student": "student or intern",
}
_WINDOWED = re.compile(r"^(?P<kind>.+)_(?P<days>\d+)d$")
_SUMMED = re.compile(r"^(?P<kind>.+)_sum_(?P<days>\d+)d$")  # an event table's value column summed per window


def _count(n: float, singular: str, plural: str) -> str:
    n = int(round(n))
    return f"{n} {singular if n == 1 else plural}"


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
        return f"{label} '{value}' is new (no history to learn from)"
    if feature == "seniority":
        return "no seniority in the job title" if missing else f"job title reads {SENIORITY_WORDS.get(value, value)}"
    if feature == "email_type":
        return {"free": "free email address (gmail, hotmail...)", "corporate": "corporate email domain"}.get(
            value, "no usable email"
        )
    if feature == "days_since_last_activity":
        return "no activity before the MQL" if missing else f"last activity {value:.0f} days before the MQL"
    if feature == "days_created_to_mql":
        return "creation date unknown" if missing else f"became an MQL {value:.0f} days after entering the CRM"
    if feature == "mql_month":
        return f"MQL in {calendar.month_name[int(value)]}" if not missing else "MQL month unknown"
    if feature == "engagement_recency_weighted":
        ref = f" (typical MQL: {typical:.0f})" if typical is not None else ""
        return f"recent engagement level {value:.0f}{ref}; the more recent the activity, the more it counts"
    if feature == "distinct_types_90d":
        return f"{int(value)} different kinds of activity in the last 90 days"
    if feature == "velocity_7d_vs_30d":
        return "no activity in the last 30 days" if missing else f"last week's pace {value:.1f}x the 30-day pace"
    m = _SUMMED.match(feature)
    if m:
        label, days = words.values.get(m["kind"], m["kind"].replace("_", " ")), m["days"]
        if missing or value == 0:
            return f"no {label} in the last {days} days"
        return f"{label}: {float(value):g} in the last {days} days"
    m = _WINDOWED.match(feature)
    if m:
        kind, days = m["kind"], m["days"]
        if kind == "activities":
            singular, plural = "activity", "activities"
        elif kind == OTHER and words.other:
            singular, plural = "other activity", "other activities"
            held = other_label(words.other).removeprefix("other activities ")
            if missing or value == 0:
                return f"no {plural} {held} in the last {days} days"
            return f"{_count(float(value), singular, plural)} {held} in the last {days} days"
        elif kind not in ACTIVITY_WORDS and kind in words.kinds:
            # the type as the CRM writes it: "Page View: Pricing" has no plural to make
            text = words.kinds[kind]
            if missing or value == 0:
                return f"no {text} in the last {days} days"
            return f"{int(round(float(value)))} × {text} in the last {days} days"
        else:
            singular, plural = ACTIVITY_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
        if missing or value == 0:
            return f"no {plural} in the last {days} days"
        return f"{_count(float(value), singular, plural)} in the last {days} days"
    if missing:
        return f"{label} unknown"
    return f"{label}: {value:g}" if isinstance(value, int | float) else f"{label}: {value}"


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
    rows = []
    for i in range(len(contrib)):
        row = []
        for j in order[i]:
            if abs(contrib[i, j]) < 1e-6:
                row.append("")
                continue
            arrow = "▲" if contrib[i, j] > 0 else "▼"
            name = names[j]
            value = features.iat[i, features.columns.get_loc(name)]
            said = describe(name, value, known=categories.get(name), typical=typical.get(name), words=words)
            row.append(f"{arrow} {said}")
        rows.append(row)
    return pd.DataFrame(rows, columns=[f"reason_{i + 1}" for i in range(k)], index=features.index)
