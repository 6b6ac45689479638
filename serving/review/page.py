"""The threshold review page: one self-contained HTML file built from the figures, charts and words.

The page embeds the trade-off table as JSON; its script (``assets/page.js``) only recomputes what depends
on the two inputs a reader can change (minutes per lead, cost of an SDR hour), with the same formulas as
``cutoff_tradeoffs``, and formats numbers with the same rules as ``format_figure``. The page's CSS, script
and skeleton are package data in ``assets/``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from string import Template

import numpy as np
import pandas as pd

from features.names import FeatureWords
from serving.review.charts import bands_chart, calibration_chart, gains_chart
from serving.review.fairness import fairness_section
from serving.review.figures import (
    FIGURE_FORMATS,
    FIGURE_SLUGS,
    REFERENCE_RULES,
    RULE_SLUGS,
    TIERS,
    calibration_table,
    check_inputs,
    cumulative_gains,
    cutoff_tradeoffs,
    reference_tradeoffs,
    score_bands,
)
from serving.review.format import TEXT, date, esc, format_figure, format_number
from serving.review.impact_section import impact_section
from serving.review.insights import factor_insights
from serving.review.sections import metrics_section, week_section
from serving.review.window import check_window
from serving.vocabulary import check_lang


@cache
def _asset(name: str) -> str:
    return files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


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
    return f'<span id="{element_id}" data-value="{data}">{esc(text)}</span>'


def _signed_cell(element_id: str, value: float, lang: str) -> str:
    data = repr(float(value)) if math.isfinite(value) else ""
    return f'<b id="{element_id}" data-value="{data}">{esc(format_figure("signed1", value, lang))}</b>'


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
    audit: pd.DataFrame | None = None,
    impact: Mapping | None = None,
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
    so "what moves the score" shows activity types and columns as the export writes them. ``audit``: the
    values of the dataset config's audit columns for the window's leads (``fairness.audit_values``, same
    rows), shown per group in their own section; without any, the page is exactly as before. ``impact``: the
    last `leadscore impact` report (``latest_impact.json``), shown as its own section when given.
    """
    check_lang(lang)
    if volume_source not in ("measured", "setting", "window"):
        raise ValueError(f"volume_source must be measured, setting or window, got {volume_source!r}")
    check_inputs(weekly_mql_volume, minutes_per_lead, cost_per_hour)
    t = TEXT[lang]
    p, y, _ = check_window(window)
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
        return esc(format_figure(kind, x, lang, currency))

    # header
    period = ""
    if "mql_at" in window.columns and window["mql_at"].notna().any():
        mql = pd.to_datetime(window["mql_at"])
        period = t["period"].format(first=date(mql.min(), lang), last=date(mql.max(), lang))
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
        f"<header><h1>{esc(t['title'])}</h1><p class='sub'>{esc(intro)}</p>",
        '<div class="kpis">',
        *(f'<div class="kpi"><b>{esc(v)}</b><span>{esc(label)}</span></div>' for v, label in kpis),
        "</div></header>",
    ]

    if this_week is not None:
        parts.append(week_section(this_week, lang, currency))
    if impact:
        parts.append(impact_section(impact, lang, currency))

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
        cards.append(f'<div class="l">{esc(t[column])}</div></div>')
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
        ref_rows.append(f"<tr{css}><td>{esc(name)}</td>{cells}</tr>")
    ref_head = "".join(f"<th>{esc(t[f'col_{c}'])}</th>" for c in ref_cols)
    persona_note = (
        f'<p class="note">{esc(t["persona_is"].format(desc=persona_description))}</p>' if persona_description else ""
    )
    persona = refs.loc["persona_rule"]
    vs_persona = esc(t["vs_persona"]).format(
        sqls=_signed_cell("fig-vs-persona-sqls", row["sqls_per_week"] - persona["sqls_per_week"], lang),
        hours=_signed_cell("fig-vs-persona-hours", row["sdr_hours_per_week"] - persona["sdr_hours_per_week"], lang),
    )
    help_text = t["cutoff_help"] + (" " + t["cutoff_start_persona"] if start_is_persona else "")
    parts += [
        f"<section id='cutoff-section'><h2>{esc(t['s_cutoff'])}</h2><p class='help'>{esc(help_text)}</p>",
        '<div class="controls"><div>',
        f'<label for="cutoff">{esc(t["label_cutoff"])}</label><div class="slider-row">',
        f'<input type="range" id="cutoff" min="0" max="100" step="1" value="{start}">',
        f'<output id="cutoff-value" for="cutoff">{start}</output></div></div>',
        f'<div><label for="minutes">{esc(t["label_minutes"])}</label>',
        f'<input type="number" id="minutes" min="0" step="1" value="{minutes_per_lead:g}"></div>',
        f'<div><label for="cost-hour">{esc(t["label_cost"].format(currency=currency))}</label>',
        f'<input type="number" id="cost-hour" min="0" step="1" value="{cost_per_hour:g}"></div></div>',
        '<div class="cutoff-grid"><div><div class="figs">',
        *cards,
        f'</div><p class="vs">{vs_persona}</p><p class="note">{esc(t["dash_note"])}</p></div>',
        f"<div><h3>{esc(t['gains_title'])}</h3>",
        gains_chart(gains, refs, row, lang),
        '<div class="legend">',
        f'<span style="--c:var(--model)">{esc(t["model"])}</span>',
        f'<span style="--c:var(--persona)">{esc(t["persona"])}</span>',
        f'<span style="--c:#b8c0cc">{esc(t["random"])}</span></div>',
        f'<p class="help">{esc(t["gains_help"])}</p></div></div>',
        f"<h3 style='margin-top:18px'>{esc(t['ref_title'])}</h3>",
        f"<table id='reference-table'><thead><tr><th>{esc(t['ref_rule'])}</th>{ref_head}</tr></thead>",
        f"<tbody>{''.join(ref_rows)}</tbody></table>{persona_note}</section>",
    ]

    # how well the score sorts leads
    parts += [
        f"<section><h2>{esc(t['s_quality'])}</h2><div class='two'>",
        f"<div><h3>{esc(t['bands_title'])}</h3>",
        bands_chart(bands, overall, lang),
        f'<p class="help">{esc(t["bands_help"])}</p></div>',
        f"<div><h3>{esc(t['cal_title'])}</h3>",
        calibration_chart(cal, lang),
        f'<p class="help">{esc(t["cal_help"])}</p></div></div></section>',
    ]
    if audit is not None:
        parts.append(fairness_section(window, audit, tier_cutoffs, start=start, lang=lang, words_of=words))

    # factors
    widest = max(insights["share_of_gain"].max(), 1e-9) if len(insights) else 1.0
    factor_rows = "".join(
        f"<tr><td>{esc(r.label)}</td><td><div class='weight'><i style='width:{90 * r.share_of_gain / widest:.0f}px'>"
        f"</i>{fig('pct', r.share_of_gain)}</div></td><td class='effect'>{esc(r.effect)}</td></tr>"
        for r in insights.itertuples()
    )
    parts += [
        f"<section><h2>{esc(t['s_factors'])}</h2><p class='help'>{esc(t['factors_help'])}</p>",
        f"<table id='factors'><thead><tr><th>{esc(t['col_factor'])}</th><th>{esc(t['col_weight'])}</th>",
        f"<th style='text-align:left'>{esc(t['col_effect'])}</th></tr></thead><tbody>{factor_rows}</tbody></table>",
        "</section>",
    ]

    # metrics
    parts.append(metrics_section(metrics, comparisons or {}, lang))
    if notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        parts.append(f"<section class='warn'><h2>{esc(t['warnings'])}</h2><ul>{items}</ul></section>")
    when = generated_at or datetime.now(UTC)
    parts.append(
        f"<footer>{esc(t['footer'].format(date=date(when, lang), model=f' · {model_label}' if model_label else ''))}"
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
    page = Template(_asset("page.html").removesuffix("\n"))
    body = "".join(parts)
    return page.substitute(
        lang=lang, title=esc(t["title"]), css=_asset("page.css"), body=body, payload=payload, js=_asset("page.js")
    )
