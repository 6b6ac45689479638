"""Realised results of past lists on a page: the `leadscore impact` page, and its section on the review page.

Both draw the report of ``serving.impact.impact_report`` (or its JSON, ``latest_impact.json``) with the review
page's number formats, chart helpers, CSS and skeleton; their words are the vocabulary's ``[impact]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from string import Template

import pandas as pd

from serving.review.charts import LEFT, PH, PW, TOP, _axes, _svg
from serving.review.format import date, esc, format_figure, format_number
from serving.vocabulary import LANGS, check_lang, words

IMPACT_TEXT: dict[str, Mapping[str, str]] = {lang: words(lang, "impact") for lang in LANGS}
TIER_ORDER = ("A", "B", "C", "D", "control")


@cache
def _asset(name: str) -> str:  # the review page's own files (page.py reads them too; importing it would be a cycle)
    return files("serving.review").joinpath("assets", name).read_text(encoding="utf-8")


def _pct(x: float | None, lang: str) -> str:
    return format_figure("pct", x, lang)


def _pts(x: float | None, lang: str) -> str:
    return format_figure("signed1", None if x is None else x * 100, lang)


def lift_text(lift: Mapping | None, lang: str, currency: str = "€", control: Mapping | None = None) -> list[str]:
    """What the lift says, as sentences: the rates, the difference and its interval, the cost, the weeks needed.

    Without a lift, ``control`` (the report's: the control group's first list and when it is measurable)
    tells a control group still pending from none at all.
    """
    t = IMPACT_TEXT[lang]
    if not lift or lift.get("lift") is None:
        if control:
            return [t["control_pending"].format(since=control["since"], due=control["due"])]
        return [t["no_control"]]
    m, c = lift["model"], lift["control"]

    def money(x: float | None) -> str:
        return format_figure("money", x, lang, currency)

    out = [
        t["lift_text"].format(
            m=_pct(m["rate"], lang),
            mk=format_figure("int", m["sqls"], lang),
            mn=format_figure("int", m["worked_leads"], lang),
            c=_pct(c["rate"], lang),
            ck=format_figure("int", c["sqls"], lang),
            cn=format_figure("int", c["worked_leads"], lang),
            lift=_pts(lift["lift"], lang),
            low=_pts(lift["lift_low"], lang),
            high=_pts(lift["lift_high"], lang),
            gained=format_figure("num1", lift["sqls_gained_per_week"], lang),
        ),
        t["lift_cost"].format(
            cm=money(m.get("cost_per_sql")),
            cc=money(c.get("cost_per_sql")),
            given=format_figure("num1", lift.get("expected_sqls_given_up_per_week"), lang),
        ),
    ]
    needed = lift.get("weeks_needed")
    out.append(
        t["lift_never"] if needed is None else t["lift_done"] if needed == 0 else t["lift_more"].format(n=needed)
    )
    return out


def _row(w: Mapping, lang: str, currency: str, t: Mapping[str, str], label: str, css: str = "") -> str:
    def rate(part: str) -> str:
        if part == "worked" and w.get("kind") == "persona":  # the rule's worked leads, in their own row
            part = "persona_worked"
        p = w.get(part)
        return f"{_pct(p['rate'], lang)} ({format_figure('int', p['leads'], lang)})" if p else "—"

    expected = format_figure("num1", w.get("expected_sqls"), lang)
    if w.get("expected_low") is not None:
        low, high = (format_number(w[k], 0, lang) for k in ("expected_low", "expected_high"))
        expected += f" ({low}–{high})"
    if w["status"] == "pending":
        waiting = esc(t["pending"].format(due=w["due"]))
        cells = [format_figure("int", w["leads"], lang), waiting, "—", "—", "—", esc(expected), "—", "—"]
        css = " class='pending'"
    else:
        tiers = w.get("sqls_by_tier") or {}
        by_tier = " · ".join(f"{k} {tiers[k]['sqls']}" for k in TIER_ORDER if k in tiers)
        kpis = w.get("kpis") or {}
        cells = [
            format_figure("int", w["leads"], lang),
            f"<b>{format_figure('int', w['sqls'], lang)}</b> <small>{esc(by_tier)}</small>",
            rate("worked"),
            rate("rest"),
            rate("control_worked"),
            esc(expected),
            esc(format_figure("money", kpis.get("cost_per_sql"), lang, currency)),
            format_figure("num1", kpis.get("sdr_hours_recovered"), lang),
        ]
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return f"<tr{css}><td style='white-space:nowrap'>{esc(label)}</td>{tds}</tr>"


def _week_label(w: Mapping, t: Mapping[str, str]) -> str:
    return t["persona_week"].format(date=w["week_of"][:10]) if w.get("kind") == "persona" else w["week_of"][:10]


def weeks_table(report: Mapping, lang: str, currency: str = "€") -> str:
    """One row per archived list, pending ones included, and the total row."""
    t = IMPACT_TEXT[lang]
    heads = ["col_week", "col_leads", "col_sqls", "col_worked", "col_rest", "col_control", "col_expected"]
    head = "".join(f"<th>{esc(t[h])}</th>" for h in [*heads, "col_cost", "col_hours"])
    rows = [_row(w, lang, currency, t, _week_label(w, t)) for w in report["weeks"]]
    total = report.get("total")
    if total:
        rows.append(_row({**total, "status": "realised"}, lang, currency, t, t["total"], " class='total'"))
    return f"<table id='impact-weeks'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def impact_section(report: Mapping, lang: str, currency: str = "€", *, standalone: bool = False) -> str:
    """The review page's section: what the lift says, realised against expected in total, and where the table is.

    ``standalone``: the impact page's own copy, without the figures its header shows and the link to itself.
    """
    check_lang(lang)
    t = IMPACT_TEXT[lang]
    total = report.get("total") or {}
    parts = [f"<section id='impact'><h2>{esc(t['s_lift'])}</h2>"]
    parts += [f"<p>{esc(s)}</p>" for s in lift_text(report.get("lift"), lang, currency, report.get("control"))]
    if total and not standalone:
        parts.append(f"<div class='kpis'>{''.join(_kpis(report, lang))}</div>")
    if not standalone:
        parts.append(f"<p class='note'>{esc(t['review_link'])}</p>")
    parts.append("</section>")
    return "".join(parts)


def _kpis(report: Mapping, lang: str) -> list[str]:
    t, total, lift = IMPACT_TEXT[lang], report["total"], report.get("lift") or {}
    cards = [
        (format_figure("int", total["sqls"], lang), t["kpi_sqls"]),
        (format_figure("num1", total.get("expected_sqls"), lang), t["kpi_expected"]),
        (_pct(total["worked"]["rate"], lang), t["kpi_worked"]),
        (_pct(total["rest"]["rate"], lang), t["kpi_rest"]),
    ]
    if lift.get("lift") is not None:
        cards.append((_pts(lift["lift"], lang), t["kpi_lift"]))
    return [f'<div class="kpi"><b>{esc(v)}</b><span>{esc(label)}</span></div>' for v, label in cards]


def weeks_chart(report: Mapping, lang: str) -> str:
    """Realised SQLs per realised list (bars) against the expected count and its 95% interval (a dot and a whisker)."""
    t = IMPACT_TEXT[lang]
    weeks = [w for w in report["weeks"] if w["status"] == "realised"]
    if not weeks:
        return ""
    top = max(max(w["sqls"], w.get("expected_high") or 0) for w in weeks) * 1.1 or 1.0
    slot = PW / len(weeks)

    def y(v: float) -> float:
        return round(TOP + PH - v / top * PH, 2)

    step = max(1, round(top / 5))
    yticks = [(y(v), format_number(v, 0, lang)) for v in range(0, int(top) + 1, step)]
    xticks = [(round(LEFT + slot * (i + 0.5), 2), w["week_of"][5:10]) for i, w in enumerate(weeks)]
    body = [_axes(t["col_week"], t["chart_y"], yticks, xticks if len(weeks) <= 16 else xticks[::2])]
    for i, w in enumerate(weeks):
        x = LEFT + slot * (i + 0.5)
        body.append(
            f'<rect class="bar" x="{x - slot * 0.3:.2f}" y="{y(w["sqls"])}" width="{slot * 0.6:.2f}" '
            f'height="{TOP + PH - y(w["sqls"]):.2f}"><title>{esc(w["week_of"])}: {w["sqls"]}</title></rect>'
        )
        if w.get("expected_low") is not None:
            body.append(
                f'<line class="persona-line" x1="{x:.2f}" x2="{x:.2f}" y1="{y(w["expected_low"])}" '
                f'y2="{y(w["expected_high"])}"/><circle class="persona-mark" cx="{x:.2f}" '
                f'cy="{y(w["expected_sqls"])}" r="4.5"/>'
            )
    legend = (
        f'<div class="legend"><span style="--c:var(--model-soft)">{esc(t["chart_realised"])}</span>'
        f'<span style="--c:var(--persona)">{esc(t["chart_expected"])}</span></div>'
    )
    return f"<div style='max-width:640px'>{_svg(t['chart_title'], ''.join(body))}{legend}</div>"


def render_impact(
    report: Mapping, *, lang: str = "en", currency: str = "€", generated_at: datetime | None = None
) -> str:
    """The impact page as one self-contained HTML string (inline CSS and SVG, no script, no network)."""
    check_lang(lang)
    t = IMPACT_TEXT[lang]
    as_of = pd.Timestamp(report["as_of"])
    intro = t["intro"].format(
        date=date(as_of, lang),
        horizon=report["horizon_days"],
        realised=report["realised_weeks"],
        pending=report["pending_weeks"],
    )
    parts = [f"<header><h1>{esc(t['title'])}</h1><p class='sub'>{esc(intro)}</p>"]
    if report.get("total"):
        parts.append(f"<div class='kpis'>{''.join(_kpis(report, lang))}</div>")
    parts.append("</header>")
    parts.append(impact_section(report, lang, currency, standalone=True))
    parts += [
        f"<section id='impact-table'><h2>{esc(t['s_weeks'])}</h2><p class='help'>{esc(t['weeks_help'])}</p>",
        weeks_chart(report, lang),
        weeks_table(report, lang, currency),
        "</section>",
    ]
    if report.get("notes"):
        items = "".join(f"<li>{esc(n)}</li>" for n in report["notes"])
        parts.append(f"<section class='warn'><h2>{esc(t['s_notes'])}</h2><ul>{items}</ul></section>")
    when = generated_at or datetime.now(UTC)
    parts.append(f"<footer>{esc(t['footer'].format(date=date(when, lang)))}</footer>")
    page = Template(_asset("page.html").removesuffix("\n"))
    return page.substitute(
        lang=lang, title=esc(t["title"]), css=_asset("page.css"), body="".join(parts), payload="{}", js=""
    )
