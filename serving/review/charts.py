"""The review page's charts as inline SVG strings, no library: score bands, cumulative gains, calibration."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from serving.review.figures import TIERS
from serving.review.format import TEXT, esc, format_figure, format_number

W, H = 560, 350
LEFT, RIGHT, TOP, BOTTOM = 62, 18, 18, 58
PW, PH = W - LEFT - RIGHT, H - TOP - BOTTOM


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
        out.append(f'<text class="tick" x="{LEFT - 8}" y="{y + 4}" text-anchor="end">{esc(label)}</text>')
    for x, label in xticks:
        out.append(f'<text class="tick" x="{x}" y="{TOP + PH + 18}" text-anchor="middle">{esc(label)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + PW}" y1="{TOP + PH}" y2="{TOP + PH}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PH}"/>')
    out.append(f'<text class="axis-label" x="{LEFT + PW / 2}" y="{H - 10}" text-anchor="middle">{esc(xlabel)}</text>')
    out.append(
        f'<text class="axis-label" transform="translate(16 {TOP + PH / 2}) rotate(-90)" '
        f'text-anchor="middle">{esc(ylabel)}</text>'
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
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{esc(label)}" {extra}>'
        f"<title>{esc(label)}</title>{body}</svg>"
    )


def bands_chart(bands: pd.DataFrame, overall: float, lang: str) -> str:
    """Conversion per score band (``score_bands``) as bars with their lift; the window's and persona's rates."""
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
            f"<title>{esc(format_figure('pct', r.conversion, lang))} ({r.sqls}/{r.leads})</title></rect>"
        )
        if math.isfinite(r.lift):
            body.append(
                f'<text class="bar-label" x="{x0 + slot * 0.36:.2f}" y="{y0 - 5}" text-anchor="middle">'
                f"{esc(format_figure('lift', r.lift, lang))}</text>"
            )
        label = f"{format_number(r.top_from * 100, 0, lang)}–{format_number(r.top_to * 100, 0, lang)}"
        body.append(
            f'<text class="tick" x="{x0 + slot * 0.36:.2f}" y="{TOP + PH + 18}" text-anchor="middle">'
            f"{esc(label)}</text>"
        )
    y_all = _y(overall, top)
    body.append(f'<line class="ref-line" x1="{LEFT}" x2="{LEFT + PW}" y1="{y_all}" y2="{y_all}"/>')
    body.append(
        f'<text class="ref-label" x="{LEFT + PW - 4}" y="{y_all - 5}" text-anchor="end">'
        f"{esc(t['all_mqls'])} {esc(format_figure('pct', overall, lang))}</text>"
    )
    if math.isfinite(rule["conversion"]):
        y_p = _y(rule["conversion"], top)
        body.append(f'<line class="persona-line" x1="{LEFT}" x2="{LEFT + PW}" y1="{y_p}" y2="{y_p}"/>')
        body.append(_diamond(LEFT + PW - 6, y_p, 5))
        body.append(
            f'<text class="persona-label" x="{LEFT + PW - 16}" y="{y_p - 6}" text-anchor="end">'
            f"{esc(t['persona'])} {esc(format_figure('pct', rule['conversion'], lang))}</text>"
        )
    return _svg(t["bands_title"], "".join(body))


def gains_chart(gains: pd.DataFrame, refs: pd.DataFrame, start: pd.Series, lang: str) -> str:
    """The cumulative gains curve with the tiers, the persona rule and a marker at the ``start`` cut-off's row."""
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
        f"{esc(t['random'])}</text>"
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
        body.append(f'<text class="persona-label" x="{x + 10}" y="{y + 18}">{esc(t["persona"])}</text>')
    sx, sy = _x(start["share_passed"]), _y(_nan0(start["share_captured"]))
    body.append(
        f'<g id="gains-marker" transform="translate({sx} {sy})"><circle class="marker-ring" r="9"/>'
        f'<circle class="marker" r="4.5"/></g>'
    )
    geometry = f'data-x0="{LEFT}" data-y0="{TOP + PH}" data-w="{PW}" data-h="{PH}"'
    return _svg(t["gains_title"], "".join(body), geometry)


def _nan0(v: float) -> float:
    return v if math.isfinite(v) else 0.0


def calibration_chart(cal: pd.DataFrame, lang: str) -> str:
    """Mean predicted probability against the observed SQL rate per bin (``calibration_table``), dots sized by leads."""
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
            f'r="{radius:.1f}"><title>{esc(format_figure("pct", r.mean_predicted, lang))} → '
            f"{esc(format_figure('pct', r.observed_rate, lang))} ({r.leads})</title></circle>"
        )
    if rule["leads"] > 0:
        x, y = _x(rule["mean_predicted"], top), _y(rule["observed_rate"], top)
        body.append(_diamond(x, y))
        body.append(f'<text class="persona-label" x="{x + 10}" y="{y + 4}">{esc(t["persona"])}</text>')
    return _svg(t["cal_title"], "".join(body))
