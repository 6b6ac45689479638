"""Fairness and calibration per group: the review page's section for the columns a dataset config marks ``audit``.

For each audit column the validation window is split into groups by the column's value: a value with fewer
than ``MIN_GROUP_LEADS`` leads (or beyond the ``MAX_GROUPS`` largest) is pooled into "other", so no group is
small enough to point at a few people, and a missing value is its own group. Per group: leads, SQL rate,
the share passed at the current tiers A-C and at the page's cut-off slider, and SQLs expected (the sum of
the calibrated scores) against SQLs realised, flagged when the gap is beyond ``NOISE_SIGMAS`` binomial
standard deviations: marketing sees whether a cut-off starves a market, and whether the scores hold there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

import numpy as np
import pandas as pd

from features.config import DatasetConfig
from features.names import FeatureWords
from serving.review.format import esc, format_figure, format_number
from serving.review.insights import feature_label
from serving.review.window import check_window, scores
from serving.vocabulary import check_lang, words

MIN_GROUP_LEADS = 30
MAX_GROUPS = 12
NOISE_SIGMAS = 2.0
CUTOFFS = range(0, 101)  # the slider's positions, as on the page's cut-off control
GROUP_COLUMNS = (
    "group",
    "kind",
    "leads",
    "sqls",
    "sql_rate",
    "passed_c",
    "share_passed_c",
    "expected_sqls",
    "sd",
    "z",
    "flag",
)


def audit_values(config: DatasetConfig, features: pd.DataFrame, leads: pd.DataFrame | None) -> pd.DataFrame:
    """The audit columns' values (text, missing as NA) of the leads in ``features``, same index and order.

    A categorical feature (``country``, or a derived one such as ``seniority``) is read from ``features``;
    any other audit column (text, or excluded from the features) from ``leads``, the canonical leads table
    (``LoadedExport.leads``). Without ``leads`` such a column is left out rather than shown as all missing.
    """
    out = pd.DataFrame(index=features.index)
    by_id = leads.set_index("lead_id") if leads is not None else None
    for name in config.audit:
        if name in features.columns:
            values = features[name]
        elif by_id is not None and name in by_id.columns:
            values = by_id[name].reindex(features.index)
        else:
            continue
        out[name] = np.where(values.notna().to_numpy(), values.astype("str").to_numpy(), None)
    return out


def assign_groups(
    values: pd.Series, *, min_leads: int = MIN_GROUP_LEADS, max_groups: int = MAX_GROUPS
) -> tuple[np.ndarray, list[tuple[str | None, str]]]:
    """Each lead's group number, and the groups in display order as (value, kind).

    ``kind``: "value" (a value with at least ``min_leads`` leads, among the ``max_groups`` largest; largest
    first, ties by value), "other" (every rarer value pooled; value None) and "missing" (value None); the
    last two only when they hold leads.
    """
    if min_leads < 1 or max_groups < 1:
        raise ValueError(f"min_leads and max_groups must be at least 1, got {min_leads} and {max_groups}")
    v = pd.Series(values).reset_index(drop=True)
    missing = v.isna().to_numpy()
    counts = v[~missing].value_counts()
    counts = counts[counts >= min_leads]
    kept = sorted(counts.index, key=lambda x: (-counts[x], str(x)))[:max_groups]
    number = {value: i for i, value in enumerate(kept)}
    codes = np.array(v.map(number), dtype=float)  # a copy: pandas may hand out a read-only view
    groups: list[tuple[str | None, str]] = [(str(x), "value") for x in kept]
    other = ~missing & np.isnan(codes)
    for mask, kind in ((other, "other"), (missing, "missing")):
        if mask.any():
            codes[mask] = len(groups)
            groups.append((None, kind))
    return codes.astype(int), groups


def _row(group: str | None, kind: str, p: np.ndarray, y: np.ndarray, passed: np.ndarray, sigmas: float) -> dict:
    n, sqls, expected = len(p), int(y.sum()), float(p.sum())
    sd = math.sqrt(float((p * (1 - p)).sum()))
    gap = sqls - expected
    # a gap with no noise at all (every score 0 or 1) is beyond any number of standard deviations
    z = gap / sd if sd > 0 else (math.copysign(math.inf, gap) if gap else 0.0)
    return {
        "group": group,
        "kind": kind,
        "leads": n,
        "sqls": sqls,
        "sql_rate": sqls / n,
        "passed_c": int(passed.sum()),
        "share_passed_c": float(passed.mean()),
        "expected_sqls": expected,
        "sd": sd,
        "z": z,
        "flag": ("fewer" if gap < 0 else "more") if abs(z) > sigmas else "",
    }


def group_figures(
    window: pd.DataFrame,
    values: pd.Series,
    tier_cutoffs: Mapping[str, float],
    *,
    min_leads: int = MIN_GROUP_LEADS,
    max_groups: int = MAX_GROUPS,
    sigmas: float = NOISE_SIGMAS,
) -> pd.DataFrame:
    """One row per group of ``values`` (same rows as ``window``; see ``assign_groups``), then ``kind ==
    "all"``, the whole window.

    ``passed_c``/``share_passed_c``: leads scoring at least tier C's cut-off (the list's tiers A-C);
    ``expected_sqls``: the sum of the calibrated probabilities; ``sqls``: realised SQLs; ``sd``: the
    binomial standard deviation of the realised count, sqrt(sum p(1-p)); ``z``: (realised - expected) / sd;
    ``flag``: "fewer" or "more" when abs(z) is above ``sigmas``, else "".
    """
    p, y, _ = check_window(window)
    if len(values) != len(p):
        raise ValueError(f"the audit values hold {len(values)} rows for a window of {len(p)} leads")
    if "C" not in tier_cutoffs:
        raise ValueError("tier cut-offs need C: the share passed is at tiers A-C")
    passed = scores(p) >= float(tier_cutoffs["C"])
    codes, groups = assign_groups(values, min_leads=min_leads, max_groups=max_groups)
    rows = [
        _row(g, kind, p[codes == i], y[codes == i], passed[codes == i], sigmas) for i, (g, kind) in enumerate(groups)
    ]
    rows.append(_row(None, "all", p, y, passed, sigmas))
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))


def passed_by_cutoff(
    window: pd.DataFrame, values: pd.Series, *, min_leads: int = MIN_GROUP_LEADS, max_groups: int = MAX_GROUPS
) -> np.ndarray:
    """Leads passed per group (rows, in ``group_figures`` order, the whole window last) at each cut-off 0-100."""
    p, _, _ = check_window(window)
    codes, groups = assign_groups(values, min_leads=min_leads, max_groups=max_groups)
    score = scores(p)
    cut = np.asarray(CUTOFFS, dtype=float)

    def at_or_above(s: np.ndarray) -> np.ndarray:  # leads scoring >= each cut-off: n minus those below it
        return len(s) - np.searchsorted(np.sort(s), cut, side="left")

    per_group = [at_or_above(score[codes == i]) for i in range(len(groups))]
    return np.array([*per_group, at_or_above(score)], dtype=int)


@cache
def _script() -> str:
    return files(__package__).joinpath("assets", "fairness.js").read_text(encoding="utf-8")


def _value_label(column: str, value: str, lang: str) -> str:
    """A group's value in words where the vocabulary has them (seniority levels, email kinds), else as written."""
    if column == "seniority":
        return words(lang, "seniority").get(value, value)
    if column in words(lang, "values"):
        return words(lang, f"values.{column}").get(value, value)
    return value


def fairness_section(
    window: pd.DataFrame,
    audit: pd.DataFrame,
    tier_cutoffs: Mapping[str, float],
    *,
    start: int,
    lang: str,
    words_of: FeatureWords | None = None,
) -> str:
    """The page's "by group" section: one table per audit column, and the script that follows the slider.

    ``audit``: ``audit_values`` of the window's leads (same rows, same order); ``start``: the slider's first
    position. An ``audit`` without columns gives "" (the page is then exactly as without the section).
    """
    check_lang(lang)
    if audit.shape[1] == 0:
        return ""
    if not audit.index.equals(window.index):
        raise ValueError("the audit values must hold the window's leads, in the window's order (same index)")
    t = words(lang, "fairness")
    c = float(tier_cutoffs["C"])
    names = [
        esc(t["col_group"]),
        esc(t["col_leads"]),
        esc(t["col_sql_rate"]),
        esc(t["col_passed_c"].format(c=format_number(c, 1, lang))),
        # the slider's cut-off, followed by the script
        esc(t["col_passed_cut"]).format(c=f'<span class="fair-cut">{start}</span>'),
        esc(t["col_expected"]),
        esc(t["col_realised"]),
        esc(t["col_calibration"]),
    ]
    head = "".join(f"<th>{h}</th>" for h in names)
    tables, data = [], []
    for k, column in enumerate(audit.columns):
        values = audit[column].reset_index(drop=True)
        figs = group_figures(window, values, tier_cutoffs)
        passed = passed_by_cutoff(window, values)
        rows = []
        for i, r in enumerate(figs.itertuples()):
            name = _value_label(column, r.group, lang) if r.kind == "value" else t[f"group_{r.kind}"]
            share = float(passed[i, start] / r.leads)
            flag = t[f"flag_{r.flag}"].format(z=format_number(abs(r.z), 1, lang)) if r.flag else t["flag_ok"]
            cells = [
                esc(name),
                esc(format_figure("int", r.leads, lang)),
                esc(format_figure("pct", r.sql_rate, lang)),
                esc(format_figure("pct", r.share_passed_c, lang)),
                f'<span id="fair-{k}-{i}" data-value="{share!r}">{esc(format_figure("pct", share, lang))}</span>',
                esc(format_figure("num1", r.expected_sqls, lang)),
                esc(format_figure("int", r.sqls, lang)),
                f"<b style='color:var(--persona)'>{esc(flag)}</b>" if r.flag else esc(flag),
            ]
            css = ' class="persona"' if r.kind == "all" else ""
            rows.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        data.append({"leads": figs["leads"].tolist(), "passed": passed.tolist()})
        label = feature_label(column, lang, words_of)
        tables.append(
            f"<h3 style='margin-top:14px'>{esc(t['by'].format(column=label))}</h3>"
            f"<table class='fairness' id='fairness-{k}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table>"
        )
    payload = json.dumps({"lang": lang, "columns": data}).replace("</", "<\\/")
    help_text = t["help"].format(
        min=format_figure("int", MIN_GROUP_LEADS, lang), sigmas=format_number(NOISE_SIGMAS, 0, lang)
    )
    return (
        f"<section id='fairness'><h2>{esc(t['title'])}</h2><p class='help'>{esc(help_text)}</p>{''.join(tables)}"
        f"<p class='note'>{esc(t['note'])}</p>"
        f'<script type="application/json" id="fairness-data">{payload}</script><script>\n{_script()}</script>'
        "</section>"
    )
