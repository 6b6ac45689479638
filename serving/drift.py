"""Drift: how far a scored batch has moved from the data the model learned from.

At training time ``reference_profile`` (models/reference.py) summarises the training window once, as plain
JSON kept in the model (``model.extra["drift_reference"]``, saved with its other plain files):

- each numeric feature: about ten quantile bins of the training window (right-closed, cut at values of
  the window, so a count that is mostly 0 gets one bin for the zeros), plus a missing bin;
- each categorical feature: its ten most frequent categories, one bin for the other known ones, a
  missing bin, and the list of every category seen (to count the batch's unseen ones);
- the calibrated score's distribution, in ten quantile bins of the *holdout* window (see below);
- the features ordered by the booster's gain, so "top feature" needs no other file.

**Why the score reference is the holdout window, not the training window.** Features are compared with
the training window because that is what the model learned. A training lead's *score*, however, is not
a scoring-time score: boosting pulls the leads it trained on towards their outcomes, so their scores
spread wider than those of any batch the model has not seen, drifted or not. The holdout window (the
newest mature leads, never trained on, scored exactly as a batch is) is the honest "no drift" picture of
the score. It is the newest history too, which is what the next batch should look like.

At scoring time ``compare`` bins the batch the same way and computes, per feature and for the score,
the population stability index

    PSI = sum over bins of (now - then) * ln(now / then),

with each share floored at ``EPS`` so that an empty bin keeps the PSI finite (a bin empty in the
training window that now holds a share p costs about p * ln(p / EPS): 2% of unseen values is a watch,
4% an alert). Levels: PSI >= ``watch`` (0.1) is a watch, >= ``alert`` (0.2) an alert; both are settings.
Two samples of one population differ by about (bins - 1) * (1 / batch rows + 1 / reference rows): 0.05
for a week of 300 leads against a holdout of 400, so noise alone stays below the watch level.

An alert on the score or on one of the model's top features (by gain; 5 by default) is an alert for the
run. Other features are listed with their level, and at most make the run a watch. Calendar features
(the MQL month) are reported but not assessed: a week's batch sits in one month by construction.

Pure numpy and pandas, no I/O: flows write the table and log it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from features.names import FeatureWords, feature_words
from models.reference import bin_shares, categorical_counts, numeric_counts

EPS = 1e-4  # floor of a bin's share: keeps PSI finite when a bin is empty on one side
TOP_FEATURES = 5
CALENDAR_FEATURES = ("mql_month",)
MISSING, OTHER, UNSEEN = "(missing)", "(other)", "(unseen)"
LEVELS = ("ok", "watch", "alert")
NO_REFERENCE = "n/a"
COLUMNS = [
    "feature",
    "kind",
    "top",
    "psi",
    "level",
    "unseen_now",
    "missing_then",
    "missing_now",
    "largest_shift",
    "note",
]


def psi(then: Sequence[float], now: Sequence[float], *, eps: float = EPS) -> float:
    """Population stability index of two share vectors over the same bins (each floored at ``eps``)."""
    e = np.clip(np.asarray(then, dtype=float), eps, None)
    a = np.clip(np.asarray(now, dtype=float), eps, None)
    if e.shape != a.shape:
        raise ValueError(f"PSI needs the same bins on both sides, got {e.shape} and {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def level_of(value: float, *, watch: float = 0.1, alert: float = 0.2) -> str:
    """'ok', 'watch' (PSI >= watch) or 'alert' (PSI >= alert)."""
    if value >= alert:
        return "alert"
    return "watch" if value >= watch else "ok"


# ---------------------------------------------------------------------------------------------------
# binning, shared by the reference and the batch


def _numeric_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["(any value)", MISSING]
    inner = [f"({_g(a)}, {_g(b)}]" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"<= {_g(edges[0])}", *inner, f"> {_g(edges[-1])}", MISSING]


def _g(x: float) -> str:
    return f"{x:.3g}"


# ---------------------------------------------------------------------------------------------------
# the comparison at scoring time


def _largest_shift(labels: list[str], then: np.ndarray, now: np.ndarray) -> str:
    e, a = np.clip(then, EPS, None), np.clip(now, EPS, None)
    i = int(np.argmax((a - e) * np.log(a / e)))
    return f"{labels[i]}: {then[i]:.0%} -> {now[i]:.0%}"


@dataclass(frozen=True)
class Levels:
    """PSI at or above ``watch`` is a watch, at or above ``alert`` an alert; ``top_n`` features count as top."""

    watch: float = 0.1
    alert: float = 0.2
    top_n: int = TOP_FEATURES


def compare(reference: dict, features: pd.DataFrame, scores: np.ndarray, levels: Levels = Levels()) -> pd.DataFrame:
    """One row for the score and one per feature: PSI, level, unseen share, missing rate then and now.

    Columns: ``feature``, ``kind`` (score, numeric, categorical), ``top`` (one of ``levels.top_n`` features by
    gain, or the score: an alert there is an alert for the run), ``psi``, ``level`` (ok, watch, alert; n/a
    for calendar features), ``unseen_now`` (share of the batch in categories the training window never
    had), ``missing_then``, ``missing_now``, ``largest_shift`` (the bin that moved most, with its shares)
    and ``note``. The score first, then the features by PSI, largest first.
    """
    if len(features) == 0:
        raise ValueError("drift needs at least one scored lead")
    top = set(top_features(reference, levels.top_n))
    rows = []
    s = reference["score"]
    then = np.array([*s["shares"], 0.0])
    now = bin_shares(numeric_counts(np.asarray(scores, dtype=float), s["edges"]))
    labels = _numeric_labels([100 * e for e in s["edges"]])  # in score points, as on the list
    rows.append(_row("score", "score", True, then, now, labels, levels=levels))
    for c, ref in reference["numeric"].items():
        if c not in features:
            continue
        then = np.array([*ref["shares"], ref["missing"]])
        now = bin_shares(
            numeric_counts(pd.to_numeric(features[c], errors="coerce").to_numpy(dtype=float), ref["edges"])
        )
        labels = _numeric_labels(ref["edges"])
        rows.append(_row(c, "numeric", c in top, then, now, labels, missing=(then[-1], now[-1]), levels=levels))
    for c, ref in reference["categorical"].items():
        if c not in features:
            continue
        then = np.array([*ref["shares"], ref["other"], ref["missing"], 0.0])
        now = bin_shares(categorical_counts(features[c], ref["bins"], set(ref["seen"])))
        labels = [*ref["bins"], OTHER, MISSING, UNSEEN]
        missing = (then[-2], now[-2])
        rows.append(_row(c, "categorical", c in top, then, now, labels, unseen=now[-1], missing=missing, levels=levels))
    table = pd.DataFrame(rows, columns=COLUMNS)
    body = table.iloc[1:].sort_values("psi", ascending=False, kind="stable")
    return pd.concat([table.iloc[:1], body], ignore_index=True)


def _row(
    name: str,
    kind: str,
    top: bool,
    then: np.ndarray,
    now: np.ndarray,
    labels: list[str],
    *,
    levels: Levels,
    unseen: float = np.nan,
    missing: tuple[float, float] = (np.nan, np.nan),
) -> dict:
    value = psi(then, now)
    calendar = kind == "numeric" and name in CALENDAR_FEATURES
    return {
        "feature": name,
        "kind": kind,
        "top": bool(top) and not calendar,
        "psi": round(value, 4),
        "level": NO_REFERENCE if calendar else level_of(value, watch=levels.watch, alert=levels.alert),
        "unseen_now": round(float(unseen), 4),
        "missing_then": round(float(missing[0]), 4),
        "missing_now": round(float(missing[1]), 4),
        "largest_shift": _largest_shift(labels, then, now),
        "note": "calendar: a batch covers only its own weeks; not assessed" if calendar else "",
    }


def top_features(reference: dict, n: int = TOP_FEATURES) -> list[str]:
    """The model's ``n`` most important features by gain, calendar features left out."""
    return [f for f in reference.get("features_by_gain", []) if f not in CALENDAR_FEATURES][:n]


def assess(table: pd.DataFrame, *, worst: int = 5, words: FeatureWords | None = None) -> dict:
    """The run's drift verdict from the table: its level, a one-line message and the worst rows.

    The run's level is the worst level of the score and the top features. A feature outside the top
    that reaches alert makes an ``ok`` run a ``watch``, never an alert: it is listed, it does not flip the run.
    ``words``: the dataset's own names, so a feature named by an id the project made up reads as the export
    writes it.
    """
    said = partial(_describe, words=words or FeatureWords())
    assessed = table[table["level"].isin(LEVELS)]
    key = assessed[assessed["top"]]
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    level = max(key["level"], key=rank.__getitem__, default="ok")
    others = assessed[~assessed["top"] & (assessed["level"] == "alert")]
    if level == "ok" and len(others):
        level = "watch"
    score = table.loc[table["kind"] == "score"].iloc[0]
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in assessed.head(worst + 1).to_dict(orient="records")
        if r["kind"] != "score"
    ][:worst]
    return {
        "level": level,
        "score_psi": float(score["psi"]),
        "score_level": str(score["level"]),
        "alerts": [said(r) for r in key[key["level"] == "alert"].to_dict(orient="records")],
        "other_alerts": [said(r) for r in others.to_dict(orient="records")],
        "worst": records,
        "message": _message(level, key, others, said),
    }


def _describe(r: dict, words: FeatureWords) -> str:
    name = words.named(r["feature"])
    what = "the score" if r["kind"] == "score" else f"top feature {name}" if r["top"] else name
    return f"{what} PSI {r['psi']:.2f}, most in {r['largest_shift']}"


def _message(level: str, key: pd.DataFrame, others: pd.DataFrame, said: Callable[[dict], str]) -> str:
    if level == "alert":
        hits = key[key["level"] == "alert"].to_dict(orient="records")
        return "drift alert: " + "; ".join(said(r) for r in hits)
    if level == "watch":
        hits = key[key["level"] == "watch"].to_dict(orient="records") + others.to_dict(orient="records")
        more = f"; and {len(hits) - 3} more features" if len(hits) > 3 else ""
        return "drift watch: " + "; ".join(said(r) for r in hits[:3]) + more
    return "no drift: the score and the top features are below the watch level"


def no_reference(why: str = "") -> dict:
    """The summary's drift section for a model without a reference profile (trained before drift checks)."""
    return {
        "level": NO_REFERENCE,
        "message": why
        or "no reference in this model: it was trained before drift checks; the next training run stores one",
    }


def check(
    extra: dict,
    features: pd.DataFrame,
    scores: np.ndarray,
    *,
    watch: float = 0.1,
    alert: float = 0.2,
    top_n: int = TOP_FEATURES,
) -> tuple[pd.DataFrame | None, dict]:
    """Compare a scored batch with the reference saved in a model's ``extra``: (table, summary section).

    The table has a ``label`` column beside ``feature``: the feature in the export's words.

    A model trained before drift checks has no reference: the table is None and the section says so.
    """
    reference = extra.get("drift_reference")
    if not reference:
        return None, no_reference()
    table = compare(reference, features, scores, Levels(watch, alert, top_n))
    # the export's own words beside each id, from the dataset config saved with the model
    words = feature_words(extra.get("dataset_config"))
    table.insert(1, "label", [words.labels.get(f, f) for f in table["feature"]])
    return table, {
        **assess(table, words=words),
        "rows": len(features),
        "reference": (
            f"features: the {reference['window']} window ({reference['rows']:,} leads); scores: the "
            f"{reference['score_window']} window ({reference['score_rows']:,} leads)"
        ),
        "top_features": {
            r["feature"]: r["psi"] for r in table[table["top"] & (table["kind"] != "score")].to_dict("records")
        },
        "thresholds": {"watch": watch, "alert": alert},
        # features whose id the project made up (folded activity types), as messages name them
        "named": {f: words.named(f) for f in table["feature"] if words.named(f) != f},
    }
