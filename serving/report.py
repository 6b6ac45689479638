"""Marketing's threshold review: the figures, as pure functions, and the one-file HTML page built from them.

Every figure on the page comes from the functions in the first half of this module, computed on a
*window*: a frame with one row per validation lead and the columns

- ``proba``: the model's calibrated SQL probability, 0-1 (the score is ``proba * 100``, 0-100);
- ``label``: 1 if the lead became an SQL within the horizon, else 0;
- ``persona_pass``: True where the manual persona rule passes the lead (all its conditions met);
- ``mql_at`` (optional): the MQL moment, used only to print the window's dates.

A lead *passes* a cut-off ``c`` when its score, rounded to one decimal as on the SDR list
(``serving.score``), is at least ``c``; so "tier B and above" here is exactly what the list calls
tier A or B. Figures that divide by nothing (the SQL rate of no leads, the cost per SQL when no SQL is
expected, the share of SQLs captured in a window without SQLs) are NaN, shown as "—" on the page.
An empty window is refused with a ValueError: no figure means anything on it.

The page (``render_report``) embeds the trade-off table as JSON; its script only recomputes what
depends on the two inputs a reader can change (minutes per lead, cost of an SDR hour), with the same
formulas as ``cutoff_tradeoffs``, and formats numbers with the same rules as ``format_figure``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.names import OTHER, FeatureWords, other_label
from serving.reasons import ACTIVITY_WORDS, SENIORITY_WORDS

if TYPE_CHECKING:
    from features.config import Persona
    from models.train import TrainingResult

LANGS = ("en", "es")
TIERS = ("A", "B", "C")
WEEK = pd.Timedelta(days=7)

TRADEOFF_COLUMNS = (
    "cutoff",
    "leads_passed",
    "sqls_passed",
    "share_passed",
    "leads_per_week",
    "sqls_per_week",
    "sql_rate_passed",
    "share_captured",
    "sdr_hours_per_week",
    "sdr_hours_saved_per_week",
    "cost_per_sql",
)
# how each trade-off figure is written on the page; the page's script has the same table
FIGURE_FORMATS = {
    "share_passed": "pct",
    "leads_per_week": "int",
    "sqls_per_week": "num1",
    "sql_rate_passed": "pct",
    "share_captured": "pct",
    "sdr_hours_per_week": "num1",
    "sdr_hours_saved_per_week": "num1",
    "cost_per_sql": "money",
}
# element ids of the cut-off control's figures: "fig-<slug>"; reference table cells: "ref-<rule>-<slug>"
FIGURE_SLUGS = {
    "share_passed": "share-passed",
    "leads_per_week": "leads-week",
    "sqls_per_week": "sqls-week",
    "sql_rate_passed": "sql-rate",
    "share_captured": "share-captured",
    "sdr_hours_per_week": "hours-week",
    "sdr_hours_saved_per_week": "hours-saved",
    "cost_per_sql": "cost-per-sql",
}
REFERENCE_RULES = ("A", "B", "C", "persona_rule", "all")
RULE_SLUGS = {"A": "a", "B": "b", "C": "c", "persona_rule": "persona", "all": "all"}


# ---------------------------------------------------------------------------------------------------
# the window


def review_window(result: TrainingResult, persona: Persona, *, mql_at: pd.Series | None = None) -> pd.DataFrame:
    """The validation window of a training run as the frame every figure here reads.

    ``persona``: the dataset config's persona rule. ``mql_at``: MQL moments indexed by lead_id (e.g.
    ``labels.set_index("lead_id")["mql_at"]``), kept so the page can print the window's dates and
    ``weekly_volume`` can measure the MQL volume.
    """
    from models.baselines import persona_score

    index = result.holdout_features.index
    window = pd.DataFrame(
        {
            "proba": np.asarray(result.holdout_proba, dtype=float),
            "label": np.asarray(result.holdout_labels, dtype=int),
            "persona_pass": persona_score(result.holdout_features, persona) == 1.0,
        },
        index=index,
    )
    if mql_at is not None:
        window["mql_at"] = mql_at.reindex(index).to_numpy()
    return window


def _check_window(window: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [c for c in ("proba", "label", "persona_pass") if c not in window.columns]
    if missing:
        raise ValueError(f"the window needs the columns proba, label and persona_pass; missing {missing}")
    if len(window) == 0:
        raise ValueError("the window has no leads: there is nothing to measure")
    p = window["proba"].to_numpy(dtype=float)
    bad = window["proba"][~((p >= 0) & (p <= 1))]
    if len(bad):
        raise ValueError(f"column proba must lie within 0-1; offending values: {bad.head(3).tolist()}")
    y = window["label"].to_numpy()
    bad = window["label"][~np.isin(y, (0, 1))]
    if len(bad):
        raise ValueError(f"column label must be 0 or 1; offending values: {bad.head(3).tolist()}")
    return p, y.astype(int), window["persona_pass"].to_numpy(dtype=bool)


def scores(proba: np.ndarray) -> np.ndarray:
    """The 0-100 score as printed on the SDR list (one decimal), which cut-offs are compared with."""
    return np.round(np.asarray(proba, dtype=float) * 100, 1)


def weekly_volume(mql_at: pd.Series) -> float:
    """MQLs per week over the span of ``mql_at`` (first to last MQL).

    A span shorter than a week counts as one week, so a window of a single day (or a single lead) is
    never extrapolated to seven times its volume. Missing timestamps are ignored; no MQL gives 0.
    """
    t = pd.to_datetime(pd.Series(mql_at)).dropna()
    if t.empty:
        return 0.0
    span = max(t.max() - t.min(), WEEK)
    return float(len(t) / (span / WEEK))


# ---------------------------------------------------------------------------------------------------
# figures


def score_bands(window: pd.DataFrame, n_bands: int = 10) -> pd.DataFrame:
    """Leads, SQLs, conversion and lift per score band (band 1 = best scores), plus the persona rule.

    Bands split the window ranked by score into ``n_bands`` groups of equal size (sizes differ by at
    most one; ties at a boundary are split by row order); with fewer leads than bands, one lead per band.
    ``top_from``/``top_to``: the band's place in the ranking as shares of the window. ``lift``: the band's
    conversion divided by the window's (NaN in a window without SQLs). The last row, ``group ==
    "persona_rule"``, holds the same figures for the leads the persona rule passes (conversion NaN when
    it passes none).
    """
    if n_bands < 1:
        raise ValueError(f"n_bands must be at least 1, got {n_bands}")
    p, y, persona = _check_window(window)
    n = len(p)
    overall = y.mean()
    score = scores(p)
    order = np.argsort(-p, kind="stable")
    k = min(n_bands, n)
    band_of_rank = np.arange(n) * k // n
    rows, done = [], 0
    for b in range(k):
        idx = order[band_of_rank == b]
        sqls = int(y[idx].sum())
        conversion = sqls / len(idx)
        rows.append(
            {
                "group": "model",
                "band": b + 1,
                "top_from": done / n,
                "top_to": (done + len(idx)) / n,
                "score_min": float(score[idx].min()),
                "score_max": float(score[idx].max()),
                "leads": len(idx),
                "sqls": sqls,
                "conversion": conversion,
                "lift": conversion / overall if overall > 0 else math.nan,
            }
        )
        done += len(idx)
    passed = int(persona.sum())
    sqls = int(y[persona].sum())
    conversion = sqls / passed if passed else math.nan
    rows.append(
        {
            "group": "persona_rule",
            "band": pd.NA,
            "top_from": math.nan,
            "top_to": math.nan,
            "score_min": float(score[persona].min()) if passed else math.nan,
            "score_max": float(score[persona].max()) if passed else math.nan,
            "leads": passed,
            "sqls": sqls,
            "conversion": conversion,
            "lift": conversion / overall if overall > 0 else math.nan,
        }
    )
    return pd.DataFrame(rows).astype({"band": "Int64"})


def cumulative_gains(window: pd.DataFrame) -> pd.DataFrame:
    """Share of leads worked (best score first) against the share of all SQLs captured.

    ``group == "model"`` rows run from (0, 0) to (1, 1) with one point after each distinct score
    (``min_score``, 0-100: the lowest score worked so far), so every point is a reachable cut-off and
    leads with equal scores are never split. The last row, ``group == "persona_rule"``, is the persona
    rule's point: the share of leads it passes and the share of SQLs among them. Shares of SQLs are
    NaN in a window without SQLs.
    """
    p, y, persona = _check_window(window)
    n, total = len(p), int(y.sum())
    order = np.argsort(-p, kind="stable")
    ps, cum = p[order], np.cumsum(y[order])
    worked = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True]) + 1
    captured = cum[worked - 1] / total if total else np.full(len(worked), math.nan)
    model = pd.DataFrame(
        {
            "group": "model",
            "share_worked": np.r_[0.0, worked / n],
            "share_captured": np.r_[0.0 if total else math.nan, captured],
            "min_score": np.r_[math.nan, scores(ps[worked - 1])],
        }
    )
    rule = pd.DataFrame(
        {
            "group": ["persona_rule"],
            "share_worked": [persona.sum() / n],
            "share_captured": [y[persona].sum() / total if total else math.nan],
            "min_score": [math.nan],
        }
    )
    return pd.concat([model, rule], ignore_index=True)


def calibration_table(window: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed SQL rate, per equal-width probability bin.

    The bins are those of ``models.metrics.expected_calibration_error`` (``[0, 0.1)``, ... ``[0.9, 1]``
    for 10 bins); every bin is listed, an empty one with 0 leads and NaN rates. The last row, ``group ==
    "persona_rule"``, holds the leads the persona rule passes: whether the model is calibrated on them
    too (NaN rates when it passes none).
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    p, y, persona = _check_window(window)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        rows.append(_calibration_row("model", b / bins, (b + 1) / bins, p[m], y[m]))
    rows.append(_calibration_row("persona_rule", math.nan, math.nan, p[persona], y[persona]))
    return pd.DataFrame(rows)


def _calibration_row(group: str, low: float, high: float, p: np.ndarray, y: np.ndarray) -> dict:
    return {
        "group": group,
        "bin_low": low,
        "bin_high": high,
        "leads": len(p),
        "mean_predicted": float(p.mean()) if len(p) else math.nan,
        "observed_rate": float(y.mean()) if len(p) else math.nan,
    }


def _check_inputs(weekly_mql_volume: float, minutes_per_lead: float, cost_per_hour: float) -> None:
    for name, v in {
        "weekly_mql_volume": weekly_mql_volume,
        "minutes_per_lead": minutes_per_lead,
        "cost_per_hour": cost_per_hour,
    }.items():
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number of at least 0, got {v}")


def _tradeoff(
    passed: np.ndarray,
    y: np.ndarray,
    *,
    cutoff: float,
    weekly_mql_volume: float,
    minutes_per_lead: float,
    cost_per_hour: float,
) -> dict[str, float]:
    n, total = len(y), int(y.sum())
    n_passed, sqls = int(passed.sum()), int(y[passed].sum())
    leads_per_week = weekly_mql_volume * n_passed / n
    # = weekly volume x share passed x SQL rate of the passed leads, and 0 (not NaN) when none pass
    sqls_per_week = weekly_mql_volume * sqls / n
    # the page's script recomputes the next three lines with these exact operations, in this order
    hours = leads_per_week * minutes_per_lead / 60.0
    saved = (weekly_mql_volume - leads_per_week) * minutes_per_lead / 60.0
    cost = hours * cost_per_hour / sqls_per_week if sqls_per_week > 0 else math.nan
    return {
        "cutoff": float(cutoff),
        "leads_passed": n_passed,
        "sqls_passed": sqls,
        "share_passed": n_passed / n,
        "leads_per_week": float(leads_per_week),
        "sqls_per_week": float(sqls_per_week),
        "sql_rate_passed": sqls / n_passed if n_passed else math.nan,
        "share_captured": sqls / total if total else math.nan,
        "sdr_hours_per_week": float(hours),
        "sdr_hours_saved_per_week": float(saved),
        "cost_per_sql": float(cost),
    }


def cutoff_tradeoffs(
    window: pd.DataFrame,
    *,
    weekly_mql_volume: float,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
    cutoffs: Iterable[float] = range(0, 101),
) -> pd.DataFrame:
    """What each cut-off on the 0-100 score means per week, one row per cut-off.

    A lead passes when its score (one decimal, as on the SDR list) is at least the cut-off. Per row:
    ``leads_passed``/``sqls_passed`` (counts in the window), ``share_passed``, ``leads_per_week`` (weekly
    volume x share passed), ``sqls_per_week`` (weekly volume x share passed x SQL rate of the passed
    leads; 0 when none pass), ``sql_rate_passed`` (NaN when none pass), ``share_captured`` (of all SQLs
    in the window; NaN without SQLs), ``sdr_hours_per_week`` (leads per week x minutes / 60),
    ``sdr_hours_saved_per_week`` (hours freed against working every MQL) and ``cost_per_sql`` (SDR hours
    x cost of an hour / SQLs per week; NaN when no SQL is expected).
    """
    _check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    p, y, _ = _check_window(window)
    score = scores(p)
    rows = [
        _tradeoff(
            score >= c,
            y,
            cutoff=c,
            weekly_mql_volume=weekly_mql_volume,
            minutes_per_lead=minutes_per_lead,
            cost_per_hour=cost_per_hour,
        )
        for c in cutoffs
    ]
    return pd.DataFrame(rows, columns=list(TRADEOFF_COLUMNS))


def reference_tradeoffs(
    window: pd.DataFrame,
    tier_cutoffs: Mapping[str, float],
    *,
    weekly_mql_volume: float,
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
) -> pd.DataFrame:
    """The ``cutoff_tradeoffs`` figures at the current tiers, the persona rule and working every MQL.

    Index ``rule``: "A" (tier A only), "B" (tiers A and B), "C" (tiers A to C): the leads at or above that
    tier's cut-off; "persona_rule": the leads the persona rule passes (``cutoff`` NaN); "all": every MQL.
    """
    _check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    p, y, persona = _check_window(window)
    missing = [t for t in TIERS if t not in tier_cutoffs]
    if missing:
        raise ValueError(f"tier cut-offs need A, B and C; missing {missing}")
    score = scores(p)
    kw = {"weekly_mql_volume": weekly_mql_volume, "minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}
    rows = {t: _tradeoff(score >= float(tier_cutoffs[t]), y, cutoff=float(tier_cutoffs[t]), **kw) for t in TIERS}
    rows["persona_rule"] = _tradeoff(persona, y, cutoff=math.nan, **kw)
    rows["all"] = _tradeoff(np.ones(len(y), dtype=bool), y, cutoff=0.0, **kw)
    out = pd.DataFrame.from_dict(rows, orient="index")[list(TRADEOFF_COLUMNS)]
    out.index.name = "rule"
    return out


# ---------------------------------------------------------------------------------------------------
# global factor insights in plain words

_ACTIVITY_ES = {
    "email_open": "emails abiertos",
    "email_click": "clics en enlaces de email",
    "page_view": "páginas web vistas",
    "pricing_view": "visitas a la página de precios",
    "download": "descargas de contenido",
    "webinar": "webinars a los que asistió",
    "form_fill": "formularios rellenados",
    "demo_request": "solicitudes de demo",
    "unsubscribe": "bajas de la lista de correo",
    "activities": "actividades",
}
_FEATURE_NAMES = {
    "industry": ("Industry", "Sector"),
    "company_size": ("Company size", "Tamaño de la empresa"),
    "country": ("Country", "País"),
    "lead_source": ("Lead source", "Origen del lead"),
    "campaign": ("Campaign", "Campaña"),
    "seniority": ("Seniority in the job title", "Nivel del cargo"),
    "email_type": ("Email type (corporate or free)", "Tipo de email (corporativo o gratuito)"),
    "days_created_to_mql": ("Days from entering the CRM to MQL", "Días desde el alta en el CRM hasta MQL"),
    "mql_month": ("Month of the MQL", "Mes del MQL"),
    "distinct_types_90d": (
        "Different kinds of activity in the last 90 days",
        "Tipos distintos de actividad en los últimos 90 días",
    ),
    "days_since_last_activity": ("Days since the last activity", "Días desde la última actividad"),
    "engagement_recency_weighted": (
        "Recent engagement (recent activity counts more)",
        "Interacción reciente (la actividad reciente cuenta más)",
    ),
    "velocity_7d_vs_30d": (
        "Last week's activity pace against the last 30 days",
        "Ritmo de actividad de la última semana frente a los últimos 30 días",
    ),
}
_SENIORITY_ES = {
    "c_level": "dirección general o fundador",
    "vp": "vicepresidencia",
    "director": "director",
    "manager": "mánager",
    "individual": "sin personas a cargo",
    "student": "estudiante o becario",
}
_VALUE_WORDS = {
    ("email_type", "corporate"): ("corporate email", "email corporativo"),
    ("email_type", "free"): ("free email", "email gratuito"),
}


def feature_label(feature: str, lang: str = "en", words: FeatureWords | None = None) -> str:
    """A feature column's name as a marketer would say it ("Pricing-page visits in the last 7 days").

    ``words``: the dataset's own names (``features.names.feature_words``): an activity type or a column
    the project has no words for reads as the export writes it ("Page View: Pricing in the last 7 days").
    """
    _check_lang(lang)
    i = LANGS.index(lang)
    words = words or FeatureWords()
    shown = words.labels.get(feature)
    if feature in words.columns and shown not in (None, words.columns[feature]):
        return shown  # a lookup's column, "Industry (accounts)": the export's word and its table
    if feature in _FEATURE_NAMES:
        return _FEATURE_NAMES[feature][i]
    summed = words.value_sum(feature)
    if summed is not None:  # an event table's value column, in its own words
        what, d = summed
        return f"{what}: suma de los últimos {d} días" if lang == "es" else f"{what}: sum over the last {d} days"
    kind, _, days = feature.rpartition("_")
    if kind and days.endswith("d") and days[:-1].isdigit():
        d = days[:-1]
        last = f"en los últimos {d} días" if lang == "es" else f"in the last {d} days"
        if kind == OTHER and words.other:
            held = other_label(words.other).removeprefix("other activities ")
            return f"{'Otras actividades' if lang == 'es' else 'Other activities'} {held} {last}"
        if kind not in ACTIVITY_WORDS and kind != "activities" and kind in words.kinds:
            return f"{words.kinds[kind]} {last}"
        if lang == "es":
            what = _ACTIVITY_ES.get(kind, kind.replace("_", " "))
            return f"{what.capitalize()} {last}"
        what = "activities" if kind == "activities" else ACTIVITY_WORDS.get(kind, ("", kind.replace("_", " ")))[1]
        return f"{what.capitalize()} {last}"
    if feature in words.columns:
        return words.columns[feature]
    return feature.replace("_", " ").capitalize()


def _value_label(feature: str, value: str, lang: str) -> str:
    i = LANGS.index(lang)
    if (feature, value) in _VALUE_WORDS:
        return _VALUE_WORDS[feature, value][i]
    if feature == "seniority":
        return (SENIORITY_WORDS if lang == "en" else _SENIORITY_ES).get(value, value)
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
    _check_lang(lang)
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


# ---------------------------------------------------------------------------------------------------
# number formatting (mirrored by the page's script)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def format_number(x: float | None, decimals: int, lang: str) -> str:
    """``x`` rounded half away from zero (as JavaScript's toFixed does) with the language's separators.

    English 1,234.5; Spanish 1.234,5. None or a non-finite value is "—".
    """
    if x is None or not math.isfinite(x):
        return "—"
    q = Decimal(float(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{abs(q):,.{decimals}f}"
    if lang == "es":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if q < 0 else "") + text


def format_figure(kind: str, x: float | None, lang: str, currency: str = "€") -> str:
    """One figure as the page writes it. ``kind``: pct (a 0-1 share), int, num1, num2, signed1, money or lift."""
    _check_lang(lang)
    if x is None or not math.isfinite(x):
        return "—"
    if kind == "pct":
        n = format_number(x * 100, 1, lang)
        return f"{n}\u00a0%" if lang == "es" else f"{n}%"
    if kind == "money":
        n = format_number(x, 2, lang)
        return f"{n}\u00a0{currency}" if lang == "es" else f"{currency}{n}"
    if kind == "lift":
        return "×" + format_number(x, 1, lang)
    if kind == "signed1":
        n = format_number(x, 1, lang)
        return "+" + n if x > 0 and any(ch in n for ch in "123456789") else n
    decimals = {"int": 0, "num1": 1, "num2": 2}.get(kind)
    if decimals is None:
        raise ValueError(f"unknown figure kind {kind!r}")
    return format_number(x, decimals, lang)


# ---------------------------------------------------------------------------------------------------
# the page's words

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Lead score: threshold review",
        "intro": (
            "How well the lead score sorts MQLs, and what each hand-off cut-off would mean for sales every week. "
            "Every figure is measured on the {leads} most recent MQLs, which the model never saw while it "
            "learned{period}: {sqls} of them ({rate}) became SQLs."
        ),
        "period": " (MQLs from {first} to {last})",
        "kpi_window": "MQLs checked",
        "kpi_weekly": "MQLs per week (measured)",
        "kpi_weekly_setting": "MQLs per week (from the settings)",
        "kpi_weekly_window": "MQLs per “week”: no dates, so figures are per this many MQLs",
        "s_week": "This week's list",
        "week_help": (
            "The open MQLs scored this week. Expected SQLs add up the leads' scores (a score of 40 counts as "
            "0.4 of an SQL); SDR hours and cost use the two inputs' starting values."
        ),
        "week_expected": "SQLs expected among the {n} open leads",
        "week_expected_c": "SQLs expected among the {n} leads scoring ≥ {c} (tiers A–C)",
        "week_cost": "SDR cost per SQL at that cut-off",
        "week_hours": "SDR hours recovered against working every open lead",
        "week_response": "Prospect response rate by tier",
        "week_response_na": "not available: the export logs no reply or response activity",
        "week_response_tier": "tier {tier}: {rate} of {n}",
        "kpi_rate": "became SQLs",
        "kpi_auc": "ranking quality (AUC)",
        "s_cutoff": "Choose the hand-off cut-off",
        "cutoff_help": (
            "Leads scoring at or above the cut-off go to the SDRs; the rest stay with marketing. Move the slider "
            "and set the two figures on the right to your team's; the results are per week, at the MQL volume "
            "measured above."
        ),
        "cutoff_start_persona": "It starts at the cut-off that passes about as many MQLs as the persona rule.",
        "label_cutoff": "Cut-off score",
        "label_minutes": "Minutes an SDR spends per lead",
        "label_cost": "Cost of an SDR hour ({currency})",
        "share_passed": "of MQLs passed to SDRs",
        "leads_per_week": "leads per week to work",
        "sqls_per_week": "expected SQLs per week",
        "sql_rate_passed": "of passed leads become SQLs",
        "share_captured": "of all SQLs captured",
        "sdr_hours_per_week": "SDR hours needed per week",
        "sdr_hours_saved_per_week": "SDR hours freed per week vs working every MQL",
        "cost_per_sql": "SDR cost per SQL",
        "vs_persona": "Against the persona rule: {sqls} SQLs per week, with {hours} SDR hours per week.",
        "dash_note": "“—” means no lead passes, or no SQL is expected, at this cut-off.",
        "ref_title": "What the current tiers and the persona rule mean",
        "ref_rule": "If SDRs work…",
        "ref_A": "tier A (score ≥ {c})",
        "ref_B": "tiers A–B (score ≥ {c})",
        "ref_C": "tiers A–C (score ≥ {c})",
        "ref_persona_rule": "the persona rule’s leads",
        "ref_all": "every MQL",
        "col_share_passed": "MQLs passed",
        "col_leads_per_week": "leads / week",
        "col_sqls_per_week": "SQLs / week",
        "col_sql_rate_passed": "SQL rate",
        "col_share_captured": "SQLs captured",
        "col_sdr_hours_per_week": "SDR hours / week",
        "col_cost_per_sql": "cost per SQL",
        "persona_is": "Persona rule: {desc}.",
        "gains_title": "SQLs found against leads worked",
        "gains_help": (
            "Work the leads best score first: the blue curve shows the share of all SQLs found (up) for the "
            "share of MQLs worked (across). The grey diagonal is working them in random order. The orange "
            "diamond is the persona rule, the ringed dot your cut-off, and A, B, C the current tiers."
        ),
        "gains_x": "share of MQLs worked, best score first",
        "gains_y": "share of SQLs found",
        "random": "random order",
        "s_quality": "How well the score sorts leads",
        "bands_title": "Conversion by score band",
        "bands_help": (
            "MQLs split into ten equal groups by score, best on the left. Each bar is the share that became "
            "SQLs; above it, how many times the average rate that is (lift). Dashed: all MQLs. Orange: the "
            "leads the persona rule passes."
        ),
        "bands_x": "MQLs ranked by score, best first (% of all MQLs)",
        "bands_y": "became SQLs",
        "all_mqls": "all MQLs",
        "persona": "persona rule",
        "model": "lead score",
        "cal_title": "Does a score of 40 mean a 40% chance?",
        "cal_help": (
            "Each dot groups MQLs with similar scores: across, their average score; up, the share that really "
            "became SQLs. Dots on the diagonal mean a score can be read as a chance. Bigger dots hold more "
            "leads. Orange: the leads the persona rule passes."
        ),
        "cal_x": "average score (predicted chance of SQL)",
        "cal_y": "share that became SQLs",
        "s_factors": "What moves the score",
        "factors_help": (
            "The facts about a lead that the model leans on most, with their share of everything the model "
            "learned, and which way they move the score on the MQLs checked."
        ),
        "col_factor": "factor",
        "col_weight": "weight",
        "col_effect": "effect on the score",
        "effect_up": "more → higher score",
        "effect_down": "more → lower score",
        "effect_unclear": "no single direction",
        "effect_categories": "highest: {high} (average score {high_score}) · lowest: {low} (average score {low_score})",
        "s_metrics": "How far to trust these figures",
        "metrics_help": (
            "The same MQLs scored three ways. The range in brackets comes from re-drawing the MQLs 300 times "
            "(95% bootstrap interval): how much the figure could move on another sample of leads."
        ),
        "col_measure": "measure",
        "col_model": "lead score",
        "col_logistic_regression": "simple statistical model",
        "col_persona_rule": "persona rule",
        "m_roc_auc": "Ranking quality (ROC AUC)",
        "m_roc_auc_hint": "0.5 = random order, 1 = perfect; 95% interval in brackets",
        "m_capture_top20": "SQLs found in the best-scored 20% of MQLs",
        "m_lift_top10": "Lift in the best-scored 10%",
        "m_lift_top10_hint": "their SQL rate against the average",
        "m_ece": "Calibration gap",
        "m_ece_hint": "average gap between the score and what happened, in points",
        "points": "{n} pts",
        "compare": "Lead score against {name}: AUC {diff} (95% interval {low} to {high}), {verdict}.",
        "cmp_logistic_regression": "the simple statistical model",
        "cmp_persona_rule": "the persona rule",
        "verdict_better": "clearly better",
        "verdict_worse": "worse",
        "verdict_no clear difference": "no clear difference",
        "warnings": "Warnings from training",
        "footer": (
            "Generated {date} by leadscore{model}. A self-contained page: it loads nothing from the network, "
            "and its figures are those the project's tested Python functions compute."
        ),
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    },
    "es": {
        "title": "Puntuación de leads: revisión del umbral",
        "intro": (
            "Lo bien que la puntuación ordena los MQL y qué supondría cada umbral de traspaso para ventas cada "
            "semana. Todas las cifras se miden sobre los {leads} MQL más recientes, que el modelo no vio "
            "mientras aprendía{period}: {sqls} de ellos ({rate}) se convirtieron en SQL."
        ),
        "period": " (MQL del {first} al {last})",
        "kpi_window": "MQL revisados",
        "kpi_weekly": "MQL por semana (medidos)",
        "kpi_weekly_setting": "MQL por semana (de la configuración)",
        "kpi_weekly_window": "MQL por «semana»: sin fechas, las cifras son por este número de MQL",
        "s_week": "La lista de esta semana",
        "week_help": (
            "Los MQL abiertos puntuados esta semana. Los SQL esperados suman las puntuaciones de los leads "
            "(una puntuación de 40 cuenta como 0,4 SQL); horas y coste de SDR usan los valores iniciales."
        ),
        "week_expected": "SQL esperados entre los {n} leads abiertos",
        "week_expected_c": "SQL esperados entre los {n} leads con puntuación ≥ {c} (niveles A–C)",
        "week_cost": "coste de SDR por SQL con ese umbral",
        "week_hours": "horas de SDR recuperadas frente a trabajar todos los leads abiertos",
        "week_response": "Tasa de respuesta de los prospectos por nivel",
        "week_response_na": "no disponible: la exportación no registra actividades de respuesta",
        "week_response_tier": "nivel {tier}: {rate} de {n}",
        "kpi_rate": "pasaron a SQL",
        "kpi_auc": "calidad de ordenación (AUC)",
        "s_cutoff": "Elige el umbral de traspaso",
        "cutoff_help": (
            "Los leads con una puntuación igual o superior al umbral pasan a los SDR; el resto sigue en "
            "marketing. Mueve el control y ajusta las dos cifras de la derecha a las de tu equipo; los "
            "resultados son semanales, con el volumen de MQL medido arriba."
        ),
        "cutoff_start_persona": (
            "Empieza en el umbral que deja pasar aproximadamente tantos MQL como la regla de persona."
        ),
        "label_cutoff": "Puntuación mínima",
        "label_minutes": "Minutos que un SDR dedica a cada lead",
        "label_cost": "Coste de una hora de SDR ({currency})",
        "share_passed": "de los MQL pasan a los SDR",
        "leads_per_week": "leads por semana a trabajar",
        "sqls_per_week": "SQL esperados por semana",
        "sql_rate_passed": "de los leads que pasan se convierten en SQL",
        "share_captured": "de todos los SQL capturados",
        "sdr_hours_per_week": "horas de SDR necesarias por semana",
        "sdr_hours_saved_per_week": "horas de SDR liberadas por semana frente a trabajar todos los MQL",
        "cost_per_sql": "coste de SDR por SQL",
        "vs_persona": "Frente a la regla de persona: {sqls} SQL por semana, con {hours} horas de SDR por semana.",
        "dash_note": "«—» significa que con este umbral no pasa ningún lead o no se espera ningún SQL.",
        "ref_title": "Qué significan los niveles actuales y la regla de persona",
        "ref_rule": "Si los SDR trabajan…",
        "ref_A": "el nivel A (puntuación ≥ {c})",
        "ref_B": "los niveles A–B (puntuación ≥ {c})",
        "ref_C": "los niveles A–C (puntuación ≥ {c})",
        "ref_persona_rule": "los leads de la regla de persona",
        "ref_all": "todos los MQL",
        "col_share_passed": "MQL que pasan",
        "col_leads_per_week": "leads / semana",
        "col_sqls_per_week": "SQL / semana",
        "col_sql_rate_passed": "tasa de SQL",
        "col_share_captured": "SQL capturados",
        "col_sdr_hours_per_week": "horas SDR / semana",
        "col_cost_per_sql": "coste por SQL",
        "persona_is": "Regla de persona: {desc}.",
        "gains_title": "SQL encontrados frente a leads trabajados",
        "gains_help": (
            "Trabajando los leads de mayor a menor puntuación, la curva azul muestra la parte de todos los SQL "
            "encontrados (vertical) según la parte de los MQL trabajados (horizontal). La diagonal gris es "
            "trabajarlos en orden aleatorio. El rombo naranja es la regla de persona, el punto con aro tu "
            "umbral, y A, B, C los niveles actuales."
        ),
        "gains_x": "parte de los MQL trabajados, mejor puntuación primero",
        "gains_y": "parte de los SQL encontrados",
        "random": "orden aleatorio",
        "s_quality": "Lo bien que la puntuación ordena los leads",
        "bands_title": "Conversión por tramo de puntuación",
        "bands_help": (
            "Los MQL repartidos en diez grupos iguales según su puntuación, los mejores a la izquierda. Cada "
            "barra es la parte que se convirtió en SQL; encima, cuántas veces la tasa media supone (lift). "
            "Discontinua: todos los MQL. Naranja: los leads que deja pasar la regla de persona."
        ),
        "bands_x": "MQL ordenados por puntuación, los mejores primero (% del total)",
        "bands_y": "pasaron a SQL",
        "all_mqls": "todos los MQL",
        "persona": "regla de persona",
        "model": "puntuación",
        "cal_title": "¿Una puntuación de 40 significa un 40 % de probabilidad?",
        "cal_help": (
            "Cada punto agrupa MQL con puntuaciones parecidas: en horizontal, su puntuación media; en vertical, "
            "la parte que de verdad pasó a SQL. Si los puntos caen en la diagonal, la puntuación se puede leer "
            "como una probabilidad. Los puntos grandes reúnen más leads. Naranja: los leads que deja pasar la "
            "regla de persona."
        ),
        "cal_x": "puntuación media (probabilidad prevista de SQL)",
        "cal_y": "parte que pasó a SQL",
        "s_factors": "Qué mueve la puntuación",
        "factors_help": (
            "Los datos de un lead en los que más se apoya el modelo, con su parte de todo lo que el modelo "
            "aprendió, y hacia dónde mueven la puntuación en los MQL revisados."
        ),
        "col_factor": "factor",
        "col_weight": "peso",
        "col_effect": "efecto en la puntuación",
        "effect_up": "más → puntuación más alta",
        "effect_down": "más → puntuación más baja",
        "effect_unclear": "sin una dirección única",
        "effect_categories": (
            "más alta: {high} (puntuación media {high_score}) · más baja: {low} (puntuación media {low_score})"
        ),
        "s_metrics": "Cuánto fiarse de estas cifras",
        "metrics_help": (
            "Los mismos MQL puntuados de tres formas. El rango entre paréntesis sale de volver a sortear los MQL "
            "300 veces (intervalo bootstrap del 95 %): cuánto podría moverse la cifra con otra muestra de leads."
        ),
        "col_measure": "medida",
        "col_model": "puntuación",
        "col_logistic_regression": "modelo estadístico simple",
        "col_persona_rule": "regla de persona",
        "m_roc_auc": "Calidad de ordenación (ROC AUC)",
        "m_roc_auc_hint": "0,5 = orden aleatorio, 1 = perfecto; intervalo del 95 % entre paréntesis",
        "m_capture_top20": "SQL encontrados en el 20 % de MQL con mejor puntuación",
        "m_lift_top10": "Lift en el 10 % con mejor puntuación",
        "m_lift_top10_hint": "su tasa de SQL frente a la media",
        "m_ece": "Desajuste de calibración",
        "m_ece_hint": "diferencia media entre la puntuación y lo que pasó, en puntos",
        "points": "{n} pts",
        "compare": "Puntuación comparada con {name}: AUC {diff} (intervalo del 95 %: {low} a {high}), {verdict}.",
        "cmp_logistic_regression": "el modelo estadístico simple",
        "cmp_persona_rule": "la regla de persona",
        "verdict_better": "claramente mejor",
        "verdict_worse": "peor",
        "verdict_no clear difference": "sin diferencia clara",
        "warnings": "Avisos del entrenamiento",
        "footer": (
            "Generado el {date} por leadscore{model}. Página autónoma: no carga nada de la red, y sus cifras "
            "son las que calculan las funciones de Python probadas del proyecto."
        ),
        "months": "ene feb mar abr may jun jul ago sep oct nov dic",
    },
}


def _date(t: pd.Timestamp | datetime, lang: str) -> str:
    month = TEXT[lang]["months"].split()[t.month - 1]
    return f"{t.day} {month} {t.year}"


# ---------------------------------------------------------------------------------------------------
# charts: inline SVG, no library

W, H = 560, 350
LEFT, RIGHT, TOP, BOTTOM = 62, 18, 18, 58
PW, PH = W - LEFT - RIGHT, H - TOP - BOTTOM


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _x(v: float, vmax: float = 1.0) -> float:
    return round(LEFT + v / vmax * PW, 2)


def _y(v: float, vmax: float = 1.0) -> float:
    return round(TOP + PH - v / vmax * PH, 2)


def _nice_top(vmax: float) -> tuple[float, float]:
    """An axis top at or above ``vmax`` (a share) and a tick step giving 4-6 ticks."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        if vmax / step <= 6:
            return max(step, math.ceil(round(vmax / step, 9)) * step), step
    return 1.0, 0.2


def _axes(xlabel: str, ylabel: str, yticks: Sequence[tuple[float, str]], xticks: Sequence[tuple[float, str]]) -> str:
    out = []
    for y, label in yticks:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PW}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="tick" x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{_esc(label)}</text>')
    for x, label in xticks:
        out.append(f'<text class="tick" x="{x}" y="{TOP + PH + 18}" text-anchor="middle">{_esc(label)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + PW}" y1="{TOP + PH}" y2="{TOP + PH}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PH}"/>')
    out.append(f'<text class="axis-label" x="{LEFT + PW / 2}" y="{H - 10}" text-anchor="middle">{_esc(xlabel)}</text>')
    out.append(
        f'<text class="axis-label" transform="translate(16 {TOP + PH / 2}) rotate(-90)" '
        f'text-anchor="middle">{_esc(ylabel)}</text>'
    )
    return "".join(out)


def _share_ticks(top: float, step: float, lang: str, axis: str) -> list[tuple[float, str]]:
    ticks, v = [], 0.0
    while v <= top + 1e-9:
        pos = _y(v, top) if axis == "y" else _x(v, top)
        ticks.append((pos, _pct0(v, lang)))
        v += step
    return ticks


def _pct0(v: float, lang: str) -> str:
    n = format_number(v * 100, 0, lang)
    return f"{n}\u00a0%" if lang == "es" else f"{n}%"


def _diamond(x: float, y: float, r: float = 7, extra: str = "") -> str:
    return f'<path class="persona-mark" {extra}d="M{x} {y - r}L{x + r} {y}L{x} {y + r}L{x - r} {y}Z"/>'


def _svg(label: str, body: str, extra: str = "") -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{_esc(label)}" {extra}>'
        f"<title>{_esc(label)}</title>{body}</svg>"
    )


def _bands_chart(bands: pd.DataFrame, overall: float, lang: str) -> str:
    t = TEXT[lang]
    model = bands[bands["group"] == "model"]
    rule = bands[bands["group"] == "persona_rule"].iloc[0]
    peak = max([overall, *model["conversion"], rule["conversion"] if math.isfinite(rule["conversion"]) else 0])
    top, step = _nice_top(peak * 1.12)
    slot = PW / len(model)
    body = [_axes(t["bands_x"], t["bands_y"], _share_ticks(top, step, lang, "y"), [])]
    for i, r in enumerate(model.itertuples()):
        x0 = LEFT + i * slot + slot * 0.14
        y0 = _y(r.conversion, top)
        body.append(
            f'<rect class="bar" x="{x0:.2f}" y="{y0}" width="{slot * 0.72:.2f}" height="{TOP + PH - y0:.2f}">'
            f"<title>{_esc(format_figure('pct', r.conversion, lang))} ({r.sqls}/{r.leads})</title></rect>"
        )
        if math.isfinite(r.lift):
            body.append(
                f'<text class="bar-label" x="{x0 + slot * 0.36:.2f}" y="{y0 - 5}" text-anchor="middle">'
                f"{_esc(format_figure('lift', r.lift, lang))}</text>"
            )
        label = f"{format_number(r.top_from * 100, 0, lang)}–{format_number(r.top_to * 100, 0, lang)}"
        body.append(
            f'<text class="tick" x="{x0 + slot * 0.36:.2f}" y="{TOP + PH + 18}" text-anchor="middle">'
            f"{_esc(label)}</text>"
        )
    y_all = _y(overall, top)
    body.append(f'<line class="ref-line" x1="{LEFT}" x2="{LEFT + PW}" y1="{y_all}" y2="{y_all}"/>')
    body.append(
        f'<text class="ref-label" x="{LEFT + PW - 4}" y="{y_all - 5}" text-anchor="end">'
        f"{_esc(t['all_mqls'])} {_esc(format_figure('pct', overall, lang))}</text>"
    )
    if math.isfinite(rule["conversion"]):
        y_p = _y(rule["conversion"], top)
        body.append(f'<line class="persona-line" x1="{LEFT}" x2="{LEFT + PW}" y1="{y_p}" y2="{y_p}"/>')
        body.append(_diamond(LEFT + PW - 6, y_p, 5))
        body.append(
            f'<text class="persona-label" x="{LEFT + PW - 16}" y="{y_p - 6}" text-anchor="end">'
            f"{_esc(t['persona'])} {_esc(format_figure('pct', rule['conversion'], lang))}</text>"
        )
    return _svg(t["bands_title"], "".join(body))


def _gains_chart(gains: pd.DataFrame, refs: pd.DataFrame, start: pd.Series, lang: str) -> str:
    t = TEXT[lang]
    model = gains[gains["group"] == "model"]
    if len(model) > 400:  # a curve through at most ~400 vertices; the chart cannot show more
        keep = np.unique(np.r_[np.linspace(0, len(model) - 1, 400).round().astype(int), len(model) - 1])
        model = model.iloc[keep]
    ticks_y = _share_ticks(1.0, 0.2, lang, "y")
    ticks_x = _share_ticks(1.0, 0.2, lang, "x")
    body = [_axes(t["gains_x"], t["gains_y"], ticks_y, ticks_x)]
    body.append(f'<line class="diagonal" x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}"/>')
    body.append(
        f'<text class="diag-label" x="{_x(0.62)}" y="{_y(0.62) + 16}" '
        f'transform="rotate({-math.degrees(math.atan2(PH, PW)):.1f} {_x(0.62)} {_y(0.62) + 16})">'
        f"{_esc(t['random'])}</text>"
    )
    if model["share_captured"].notna().all():
        pts = " ".join(f"{_x(a)},{_y(b)}" for a, b in zip(model["share_worked"], model["share_captured"], strict=True))
        body.append(f'<polyline class="curve" points="{pts}"/>')
    for tier in TIERS:
        r = refs.loc[tier]
        if math.isfinite(r["share_captured"]):
            x, y = _x(r["share_passed"]), _y(r["share_captured"])
            body.append(f'<rect class="tier-mark" x="{x - 4}" y="{y - 4}" width="8" height="8"/>')
            body.append(f'<text class="tier-label" x="{x + 2}" y="{y + 18}">{tier}</text>')
    p = refs.loc["persona_rule"]
    if math.isfinite(p["share_captured"]):
        x, y = _x(p["share_passed"]), _y(p["share_captured"])
        body.append(_diamond(x, y))
        body.append(f'<text class="persona-label" x="{x + 10}" y="{y + 18}">{_esc(t["persona"])}</text>')
    sx, sy = _x(start["share_passed"]), _y(_nan0(start["share_captured"]))
    body.append(
        f'<g id="gains-marker" transform="translate({sx} {sy})"><circle class="marker-ring" r="9"/>'
        f'<circle class="marker" r="4.5"/></g>'
    )
    geometry = f'data-x0="{LEFT}" data-y0="{TOP + PH}" data-w="{PW}" data-h="{PH}"'
    return _svg(t["gains_title"], "".join(body), geometry)


def _nan0(v: float) -> float:
    return v if math.isfinite(v) else 0.0


def _calibration_chart(cal: pd.DataFrame, lang: str) -> str:
    t = TEXT[lang]
    model = cal[(cal["group"] == "model") & (cal["leads"] > 0)]
    rule = cal[cal["group"] == "persona_rule"].iloc[0]
    peak = max([*model["mean_predicted"], *model["observed_rate"], _nan0(rule["observed_rate"]), 0.05])
    top, step = _nice_top(min(peak * 1.08, 1.0))
    body = [
        _axes(t["cal_x"], t["cal_y"], _share_ticks(top, step, lang, "y"), _share_ticks(top, step, lang, "x")),
        f'<line class="diagonal" x1="{_x(0)}" y1="{_y(0)}" x2="{_x(top, top)}" y2="{_y(top, top)}"/>',
    ]
    biggest = max(int(model["leads"].max()), 1)
    for r in model.itertuples():
        radius = 3 + 9 * math.sqrt(r.leads / biggest)
        body.append(
            f'<circle class="cal-dot" cx="{_x(r.mean_predicted, top)}" cy="{_y(r.observed_rate, top)}" '
            f'r="{radius:.1f}"><title>{_esc(format_figure("pct", r.mean_predicted, lang))} → '
            f"{_esc(format_figure('pct', r.observed_rate, lang))} ({r.leads})</title></circle>"
        )
    if rule["leads"] > 0:
        x, y = _x(rule["mean_predicted"], top), _y(rule["observed_rate"], top)
        body.append(_diamond(x, y))
        body.append(f'<text class="persona-label" x="{x + 10}" y="{y + 4}">{_esc(t["persona"])}</text>')
    return _svg(t["cal_title"], "".join(body))


# ---------------------------------------------------------------------------------------------------
# the page

_CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#e3e7ed; --bg:#f6f7f9; --card:#fff;
        --model:#2563eb; --model-soft:#93b4f5; --persona:#e8590c; --good:#0f7b4d; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:28px 28px 40px; }
h1 { font-size:26px; margin:0 0 4px; letter-spacing:-.01em; }
h2 { font-size:19px; margin:0 0 6px; }
h3 { font-size:15px; margin:0 0 4px; }
p { margin:0 0 10px; }
.sub { color:var(--muted); margin-bottom:14px; }
.help { color:var(--muted); font-size:13.5px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:20px 22px;
          margin:18px 0; }
.kpis { display:grid; grid-template-columns:repeat(4,1fr); gap:12px; margin:16px 0 0; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
.kpi b { display:block; font-size:24px; font-variant-numeric:tabular-nums; }
.kpi span { color:var(--muted); font-size:13px; }
.controls { display:grid; grid-template-columns:2fr 1fr 1fr; gap:22px; align-items:end; margin:14px 0 6px; }
.controls label { display:block; font-size:13px; color:var(--muted); margin-bottom:4px; }
.slider-row { display:flex; align-items:center; gap:14px; }
input[type=range] { flex:1; accent-color:var(--model); height:28px; }
output#cutoff-value { font-size:28px; font-weight:700; min-width:2.2em; text-align:right;
                      color:var(--model); font-variant-numeric:tabular-nums; }
input[type=number] { width:100%; font:inherit; font-size:17px; padding:6px 10px; border:1px solid #c9d1dc;
                     border-radius:7px; }
input[type=number]:invalid { border-color:#d33; }
.cutoff-grid { display:grid; grid-template-columns:1.05fr 1fr; gap:22px; align-items:start; }
.figs { display:grid; grid-template-columns:1fr 1fr; gap:10px; margin-top:10px; }
.fig { border:1px solid var(--line); border-radius:9px; padding:10px 14px; background:#fbfcfd; }
.fig .v { font-size:25px; font-weight:700; font-variant-numeric:tabular-nums; }
.fig .l { color:var(--muted); font-size:13px; line-height:1.3; }
.fig.key { background:#eef4ff; border-color:#cfdcfb; }
.fig.key .v { color:var(--model); }
.two { display:grid; grid-template-columns:1fr 1fr; gap:26px; }
.chart { width:100%; height:auto; display:block; }
.chart text { font-family:inherit; }
.grid { stroke:#eef1f5; } .axis { stroke:#9aa5b1; }
.tick { fill:var(--muted); font-size:11px; } .axis-label { fill:var(--muted); font-size:12px; }
.bar { fill:var(--model-soft); } .bar:hover { fill:var(--model); }
.bar-label { fill:var(--ink); font-size:11px; font-weight:600; }
.ref-line { stroke:#6b7785; stroke-dasharray:5 4; } .ref-label { fill:#4b5563; font-size:11.5px; }
.persona-line { stroke:var(--persona); stroke-width:1.5; }
.persona-mark { fill:var(--persona); stroke:#fff; stroke-width:1.5; }
.persona-label { fill:var(--persona); font-size:12px; font-weight:600; }
.diagonal { stroke:#b8c0cc; stroke-dasharray:4 4; } .diag-label { fill:#8a94a3; font-size:11px; }
.curve { fill:none; stroke:var(--model); stroke-width:2.5; stroke-linejoin:round; }
.tier-mark { fill:#fff; stroke:var(--ink); stroke-width:1.5; } .tier-label { font-size:12px; font-weight:700; }
.marker { fill:var(--model); } .marker-ring { fill:none; stroke:var(--model); stroke-width:2; }
.cal-dot { fill:var(--model); fill-opacity:.55; stroke:var(--model); }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:right; padding:7px 10px; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; }
th { color:var(--muted); font-weight:600; font-size:12.5px; vertical-align:bottom; }
th:first-child, td:first-child { text-align:left; }
tr.persona td:first-child { color:var(--persona); font-weight:600; }
.weight { display:flex; align-items:center; gap:8px; justify-content:flex-end; }
.weight i { display:inline-block; height:9px; background:var(--model-soft); border-radius:2px; }
td.effect { text-align:left; color:var(--muted); }
.legend { display:flex; gap:18px; flex-wrap:wrap; font-size:12.5px; color:var(--muted); margin-top:4px; }
.legend span::before { content:""; display:inline-block; width:12px; height:12px; margin-right:6px;
                       vertical-align:-1px; border-radius:2px; background:var(--c); }
.vs { margin:12px 0 0; font-size:14.5px; } .vs b { color:var(--persona); }
.note { font-size:12.5px; color:var(--muted); margin-top:8px; }
.warn { border-color:#f0c36d; background:#fffaf0; }
.hint { display:block; color:var(--muted); font-size:12px; font-weight:400; }
footer { color:var(--muted); font-size:12.5px; text-align:center; margin-top:24px; }
@media (max-width: 860px) { .kpis, .two, .cutoff-grid, .controls { grid-template-columns:1fr; } }
"""

# Recomputes only what depends on the two inputs, with cutoff_tradeoffs' formulas in the same order,
# and formats numbers with format_figure's rules (toFixed rounds half away from zero, as ROUND_HALF_UP).
_JS = """
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("review-data").textContent);
  var es = D.lang === "es";
  function num(x, d) {
    if (x === null || x === undefined || !isFinite(x)) return "\\u2014";
    var s = Math.abs(x).toFixed(d), parts = s.split(".");
    var neg = x < 0 && /[1-9]/.test(s);
    var i = parts[0].replace(/\\B(?=(\\d{3})+(?!\\d))/g, es ? "." : ",");
    return (neg ? "-" : "") + (parts.length > 1 ? i + (es ? "," : ".") + parts[1] : i);
  }
  function fig(kind, x) {
    if (x === null || x === undefined || !isFinite(x)) return "\\u2014";
    if (kind === "pct") return num(x * 100, 1) + (es ? "\\u00a0%" : "%");
    if (kind === "money") return es ? num(x, 2) + "\\u00a0" + D.currency : D.currency + num(x, 2);
    if (kind === "signed1") { var n = num(x, 1); return x > 0 && /[1-9]/.test(n) ? "+" + n : n; }
    return num(x, {int: 0, num1: 1, num2: 2}[kind]);
  }
  function readInput(id) {
    var el = document.getElementById(id);
    var v = el.value === "" ? NaN : Number(el.value);
    return isFinite(v) && v >= 0 ? v : NaN;
  }
  function withInputs(r, minutes, costHour) {
    var hours = r.leads_per_week * minutes / 60.0;
    var saved = (D.weekly - r.leads_per_week) * minutes / 60.0;
    var cost = r.sqls_per_week > 0 ? hours * costHour / r.sqls_per_week : NaN;
    var out = {};
    for (var k in r) out[k] = r[k];
    out.sdr_hours_per_week = hours;
    out.sdr_hours_saved_per_week = saved;
    out.cost_per_sql = cost;
    return out;
  }
  function show(id, kind, x) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = fig(kind, x);
    el.setAttribute("data-value", x === null || !isFinite(x) ? "" : String(x));
  }
  var byCutoff = {};
  D.rows.forEach(function (r) { byCutoff[String(r.cutoff)] = r; });
  var slider = document.getElementById("cutoff");
  var marker = document.getElementById("gains-marker");
  var svg = marker ? marker.ownerSVGElement : null;
  function update() {
    var minutes = readInput("minutes"), costHour = readInput("cost-hour");
    var c = Number(slider.value);
    var r = withInputs(byCutoff[String(c)], minutes, costHour);
    document.getElementById("cutoff-value").textContent = String(c);
    slider.setAttribute("aria-valuetext", String(c));
    Object.keys(D.formats).forEach(function (k) { show("fig-" + D.slugs[k], D.formats[k], r[k]); });
    Object.keys(D.refs).forEach(function (rule) {
      var rr = withInputs(D.refs[rule], minutes, costHour);
      ["sdr_hours_per_week", "sdr_hours_saved_per_week", "cost_per_sql"].forEach(function (k) {
        show("ref-" + D.rule_slugs[rule] + "-" + D.slugs[k], D.formats[k], rr[k]);
      });
    });
    var p = withInputs(D.refs.persona_rule, minutes, costHour);
    show("fig-vs-persona-sqls", "signed1", r.sqls_per_week - p.sqls_per_week);
    show("fig-vs-persona-hours", "signed1", r.sdr_hours_per_week - p.sdr_hours_per_week);
    if (svg) {
      var g = svg.dataset, sc = r.share_captured === null ? 0 : r.share_captured;
      var x = Number(g.x0) + r.share_passed * Number(g.w), y = Number(g.y0) - sc * Number(g.h);
      marker.setAttribute("transform", "translate(" + x.toFixed(2) + " " + y.toFixed(2) + ")");
    }
  }
  slider.addEventListener("input", update);
  slider.addEventListener("change", update);
  document.getElementById("minutes").addEventListener("input", update);
  document.getElementById("cost-hour").addEventListener("input", update);
  update();
})();
"""


def _json_safe(v: object) -> object:
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _json_safe(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _figure_cell(element_id: str, column: str, value: float, lang: str, currency: str) -> str:
    data = repr(float(value)) if math.isfinite(value) else ""
    text = format_figure(FIGURE_FORMATS[column], value, lang, currency)
    return f'<span id="{element_id}" data-value="{data}">{_esc(text)}</span>'


def _signed_cell(element_id: str, value: float, lang: str) -> str:
    data = repr(float(value)) if math.isfinite(value) else ""
    return f'<b id="{element_id}" data-value="{data}">{_esc(format_figure("signed1", value, lang))}</b>'


def _start_cutoff(table: pd.DataFrame, refs: pd.DataFrame, tier_cutoffs: Mapping[str, float]) -> tuple[int, bool]:
    """The slider's first position: the cut-off passing about as many MQLs as the persona rule."""
    persona_share = refs.loc["persona_rule", "share_passed"]
    if persona_share > 0:
        gap = (table["share_passed"] - persona_share).abs().to_numpy()
        return int(table["cutoff"].iloc[int(np.argmin(gap))]), True
    return int(round(float(tier_cutoffs["B"]))), False


def render_report(
    window: pd.DataFrame,
    *,
    weekly_mql_volume: float,
    tier_cutoffs: Mapping[str, float],
    metrics: Mapping[str, Mapping[str, float]],
    importance: pd.DataFrame,
    comparisons: Mapping[str, Mapping[str, object]] | None = None,
    features: pd.DataFrame | None = None,
    persona_description: str = "",
    model_label: str = "",
    notes: Sequence[str] = (),
    lang: str = "en",
    minutes_per_lead: float = 15,
    cost_per_hour: float = 30.0,
    currency: str = "€",
    generated_at: datetime | None = None,
    volume_source: str = "measured",
    this_week: Mapping[str, object] | None = None,
    words: FeatureWords | None = None,
) -> str:
    """The threshold review page as one self-contained HTML string (inline CSS, JS and SVG; no network).

    ``window``: see the module docstring (``review_window`` builds it from a training run).
    ``weekly_mql_volume``: e.g. ``weekly_volume(window["mql_at"])``. ``tier_cutoffs``: the current A/B/C
    cut-offs (0-100). ``metrics``, ``comparisons``, ``importance``: as in ``TrainingResult``.
    ``features``: the window's feature table (same rows, same order), to say which way each factor moves
    the score; optional. ``persona_description``: the dataset config's ``persona.description``.
    ``model_label``: e.g. "lead-score v7", printed in the footer. ``notes``: training warnings, shown as is.
    ``minutes_per_lead``/``cost_per_hour``: the inputs' starting values. ``generated_at``: the date in
    the footer (default now), fixed for a reproducible file. ``volume_source``: where the weekly volume
    comes from, "measured" (the window's MQL dates), "setting" or "window" (no dates: the window's size,
    so "per week" reads "per that many MQLs"). ``this_week``: the seed KPIs of the week's list
    (``serving.planning.week_kpis``, plus ``response_by_tier`` from ``response_rate_by_tier``), shown in
    their own section when given. ``words``: the dataset's own names (``features.names.feature_words``),
    so "what moves the score" shows activity types and columns as the export writes them.
    """
    _check_lang(lang)
    if volume_source not in ("measured", "setting", "window"):
        raise ValueError(f"volume_source must be measured, setting or window, got {volume_source!r}")
    _check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    t = TEXT[lang]
    p, y, _ = _check_window(window)
    kw = {"weekly_mql_volume": weekly_mql_volume, "minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}
    table = cutoff_tradeoffs(window, **kw)
    refs = reference_tradeoffs(window, tier_cutoffs, **kw)
    bands = score_bands(window)
    gains = cumulative_gains(window)
    cal = calibration_table(window)
    insights = factor_insights(
        importance, features=features, proba=p if features is not None else None, lang=lang, words=words
    )
    start, start_is_persona = _start_cutoff(table, refs, tier_cutoffs)
    row = table.set_index("cutoff").loc[float(start)]
    overall = float(y.mean())

    def fig(kind: str, x: float) -> str:
        return _esc(format_figure(kind, x, lang, currency))

    # header
    period = ""
    if "mql_at" in window.columns and window["mql_at"].notna().any():
        mql = pd.to_datetime(window["mql_at"])
        period = t["period"].format(first=_date(mql.min(), lang), last=_date(mql.max(), lang))
    intro = t["intro"].format(
        leads=format_figure("int", len(p), lang),
        period=period,
        sqls=format_figure("int", int(y.sum()), lang),
        rate=format_figure("pct", overall, lang),
    )
    auc = metrics.get("model", {}).get("roc_auc", math.nan)
    kpis = [
        (format_figure("int", len(p), lang), t["kpi_window"]),
        (
            format_figure("int", weekly_mql_volume, lang),
            t["kpi_weekly" if volume_source == "measured" else f"kpi_weekly_{volume_source}"],
        ),
        (format_figure("pct", overall, lang), t["kpi_rate"]),
        (format_figure("num2", auc, lang), t["kpi_auc"]),
    ]
    parts = [
        f"<header><h1>{_esc(t['title'])}</h1><p class='sub'>{_esc(intro)}</p>",
        '<div class="kpis">',
        *(f'<div class="kpi"><b>{_esc(v)}</b><span>{_esc(label)}</span></div>' for v, label in kpis),
        "</div></header>",
    ]

    if this_week is not None:
        parts.append(_week_section(this_week, lang, currency))

    # the cut-off control
    cards = []
    for column, key in (
        ("sqls_per_week", True),
        ("cost_per_sql", True),
        ("share_passed", False),
        ("leads_per_week", False),
        ("sql_rate_passed", False),
        ("share_captured", False),
        ("sdr_hours_per_week", False),
        ("sdr_hours_saved_per_week", False),
    ):
        cell = _figure_cell(f"fig-{FIGURE_SLUGS[column]}", column, row[column], lang, currency)
        cards.append(f'<div class="fig{" key" if key else ""}"><div class="v">{cell}</div>')
        cards.append(f'<div class="l">{_esc(t[column])}</div></div>')
    ref_cols = [c for c in FIGURE_FORMATS if c != "sdr_hours_saved_per_week"]
    ref_rows = []
    for rule in REFERENCE_RULES:
        r = refs.loc[rule]
        name = t[f"ref_{rule}"].format(c=format_number(r["cutoff"], 1, lang) if rule in TIERS else "")
        cells = "".join(
            f"<td>{_figure_cell(f'ref-{RULE_SLUGS[rule]}-{FIGURE_SLUGS[c]}', c, r[c], lang, currency)}</td>"
            for c in ref_cols
        )
        css = ' class="persona"' if rule == "persona_rule" else ""
        ref_rows.append(f"<tr{css}><td>{_esc(name)}</td>{cells}</tr>")
    ref_head = "".join(f"<th>{_esc(t[f'col_{c}'])}</th>" for c in ref_cols)
    persona_note = (
        f'<p class="note">{_esc(t["persona_is"].format(desc=persona_description))}</p>' if persona_description else ""
    )
    persona = refs.loc["persona_rule"]
    vs_persona = _esc(t["vs_persona"]).format(
        sqls=_signed_cell("fig-vs-persona-sqls", row["sqls_per_week"] - persona["sqls_per_week"], lang),
        hours=_signed_cell("fig-vs-persona-hours", row["sdr_hours_per_week"] - persona["sdr_hours_per_week"], lang),
    )
    help_text = t["cutoff_help"] + (" " + t["cutoff_start_persona"] if start_is_persona else "")
    parts += [
        f"<section id='cutoff-section'><h2>{_esc(t['s_cutoff'])}</h2><p class='help'>{_esc(help_text)}</p>",
        '<div class="controls"><div>',
        f'<label for="cutoff">{_esc(t["label_cutoff"])}</label><div class="slider-row">',
        f'<input type="range" id="cutoff" min="0" max="100" step="1" value="{start}">',
        f'<output id="cutoff-value" for="cutoff">{start}</output></div></div>',
        f'<div><label for="minutes">{_esc(t["label_minutes"])}</label>',
        f'<input type="number" id="minutes" min="0" step="1" value="{minutes_per_lead:g}"></div>',
        f'<div><label for="cost-hour">{_esc(t["label_cost"].format(currency=currency))}</label>',
        f'<input type="number" id="cost-hour" min="0" step="1" value="{cost_per_hour:g}"></div></div>',
        '<div class="cutoff-grid"><div><div class="figs">',
        *cards,
        f'</div><p class="vs">{vs_persona}</p><p class="note">{_esc(t["dash_note"])}</p></div>',
        f"<div><h3>{_esc(t['gains_title'])}</h3>",
        _gains_chart(gains, refs, row, lang),
        '<div class="legend">',
        f'<span style="--c:var(--model)">{_esc(t["model"])}</span>',
        f'<span style="--c:var(--persona)">{_esc(t["persona"])}</span>',
        f'<span style="--c:#b8c0cc">{_esc(t["random"])}</span></div>',
        f'<p class="help">{_esc(t["gains_help"])}</p></div></div>',
        f"<h3 style='margin-top:18px'>{_esc(t['ref_title'])}</h3>",
        f"<table id='reference-table'><thead><tr><th>{_esc(t['ref_rule'])}</th>{ref_head}</tr></thead>",
        f"<tbody>{''.join(ref_rows)}</tbody></table>{persona_note}</section>",
    ]

    # how well the score sorts leads
    parts += [
        f"<section><h2>{_esc(t['s_quality'])}</h2><div class='two'>",
        f"<div><h3>{_esc(t['bands_title'])}</h3>",
        _bands_chart(bands, overall, lang),
        f'<p class="help">{_esc(t["bands_help"])}</p></div>',
        f"<div><h3>{_esc(t['cal_title'])}</h3>",
        _calibration_chart(cal, lang),
        f'<p class="help">{_esc(t["cal_help"])}</p></div></div></section>',
    ]

    # factors
    widest = max(insights["share_of_gain"].max(), 1e-9) if len(insights) else 1.0
    factor_rows = "".join(
        f"<tr><td>{_esc(r.label)}</td><td><div class='weight'><i style='width:{90 * r.share_of_gain / widest:.0f}px'>"
        f"</i>{fig('pct', r.share_of_gain)}</div></td><td class='effect'>{_esc(r.effect)}</td></tr>"
        for r in insights.itertuples()
    )
    parts += [
        f"<section><h2>{_esc(t['s_factors'])}</h2><p class='help'>{_esc(t['factors_help'])}</p>",
        f"<table id='factors'><thead><tr><th>{_esc(t['col_factor'])}</th><th>{_esc(t['col_weight'])}</th>",
        f"<th style='text-align:left'>{_esc(t['col_effect'])}</th></tr></thead><tbody>{factor_rows}</tbody></table>",
        "</section>",
    ]

    # metrics
    parts.append(_metrics_section(metrics, comparisons or {}, lang))
    if notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in notes)
        parts.append(f"<section class='warn'><h2>{_esc(t['warnings'])}</h2><ul>{items}</ul></section>")
    when = generated_at or datetime.now(UTC)
    parts.append(
        f"<footer>{_esc(t['footer'].format(date=_date(when, lang), model=f' · {model_label}' if model_label else ''))}"
        "</footer>"
    )

    data = {
        "lang": lang,
        "currency": currency,
        "weekly": float(weekly_mql_volume),
        "formats": FIGURE_FORMATS,
        "slugs": FIGURE_SLUGS,
        "rule_slugs": RULE_SLUGS,
        "rows": _records(table),
        "refs": {rule: {k: _json_safe(v) for k, v in refs.loc[rule].items()} for rule in REFERENCE_RULES},
    }
    payload = json.dumps(data, allow_nan=False, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(t['title'])}</title><style>{_CSS}</style></head><body><main>"
        + "".join(parts)
        + f'</main><script type="application/json" id="review-data">{payload}</script>'
        f"<script>{_JS}</script></body></html>"
    )


def _metrics_section(
    metrics: Mapping[str, Mapping[str, float]], comparisons: Mapping[str, Mapping[str, object]], lang: str
) -> str:
    t = TEXT[lang]
    scorers = [s for s in ("model", "logistic_regression", "persona_rule") if s in metrics]

    def cell(scorer: str, key: str) -> str:
        m = metrics[scorer]
        v = m.get(key, math.nan)
        if key == "roc_auc":
            low, high = m.get("roc_auc_ci_low", math.nan), m.get("roc_auc_ci_high", math.nan)
            ci = f" ({format_number(low, 2, lang)}–{format_number(high, 2, lang)})" if math.isfinite(low) else ""
            return format_number(v, 2, lang) + ci
        if key == "capture_top20":
            return format_figure("pct", v, lang)
        if key == "lift_top10":
            return format_figure("lift", v, lang)
        if key == "ece":
            return t["points"].format(n=format_number(v * 100, 1, lang)) if math.isfinite(v) else "—"
        raise KeyError(key)

    rows = []
    for key in ("roc_auc", "capture_top20", "lift_top10", "ece"):
        hint = t.get(f"m_{key}_hint")
        name = _esc(t[f"m_{key}"]) + (f'<span class="hint">{_esc(hint)}</span>' if hint else "")
        cells = "".join(f"<td>{_esc(cell(s, key))}</td>" for s in scorers)
        rows.append(f"<tr><td>{name}</td>{cells}</tr>")
    head = "".join(f"<th>{_esc(t[f'col_{s}'])}</th>" for s in scorers)
    sentences = []
    for name, c in comparisons.items():
        if f"cmp_{name}" not in t:
            continue
        diff = float(c["diff"])  # type: ignore[arg-type]
        sentences.append(
            t["compare"].format(
                name=t[f"cmp_{name}"],
                diff=("+" if diff >= 0 else "") + format_number(diff, 3, lang),
                low=format_number(float(c["low"]), 3, lang),  # type: ignore[arg-type]
                high=format_number(float(c["high"]), 3, lang),  # type: ignore[arg-type]
                verdict=t.get(f"verdict_{c['verdict']}", str(c["verdict"])),
            )
        )
    compare = "".join(f'<p class="note">{_esc(s)}</p>' for s in sentences)
    return (
        f"<section id='metrics'><h2>{_esc(t['s_metrics'])}</h2><p class='help'>{_esc(t['metrics_help'])}</p>"
        f"<table><thead><tr><th>{_esc(t['col_measure'])}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f"</table>{compare}</section>"
    )


def _week_section(k: Mapping[str, object], lang: str, currency: str) -> str:
    """The seed KPIs of this week's list, as computed by ``serving.planning``."""
    t = TEXT[lang]

    def num(x: object, kind: str) -> str:
        return format_figure(kind, float(x) if x is not None else None, lang, currency)  # type: ignore[arg-type]

    rows = [
        (t["week_expected"].format(n=num(k["open_leads"], "int")), num(k["expected_sqls"], "num1")),
        (
            t["week_expected_c"].format(
                n=num(k["leads_at_or_above_c"], "int"),
                c=format_number(float(k["cutoff_c"]), 1, lang),  # type: ignore[arg-type]
            ),
            num(k["expected_sqls_at_or_above_c"], "num1"),
        ),
        (t["week_cost"], num(k.get("cost_per_sql"), "money")),
        (t["week_hours"], num(k["sdr_hours_recovered"], "num1")),
    ]
    by_tier = k.get("response_by_tier")
    if by_tier:
        response = " · ".join(
            t["week_response_tier"].format(tier=tier, rate=num(v["rate"], "pct"), n=num(v["leads"], "int"))
            for tier, v in sorted(by_tier.items())  # type: ignore[union-attr]
        )
    else:
        response = t["week_response_na"]
    rows.append((t["week_response"], response))
    body = "".join(f"<tr><td>{_esc(name)}</td><td>{_esc(value)}</td></tr>" for name, value in rows)
    return (
        f"<section id='this-week'><h2>{_esc(t['s_week'])}</h2><p class='help'>{_esc(t['week_help'])}</p>"
        f"<table><tbody>{body}</tbody></table></section>"
    )
