"""Two sections of the review page built from figures computed elsewhere: how far to trust the figures (the
model against its baselines) and this week's list (the seed KPIs of ``serving.planning``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from serving.review.format import TEXT, esc, format_figure, format_number
from serving.vocabulary import words


def metrics_section(
    metrics: Mapping[str, Mapping[str, float]], comparisons: Mapping[str, Mapping[str, object]], lang: str
) -> str:
    """The model, the logistic baseline and the persona rule side by side, with the AUC comparisons."""
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
        name = esc(t[f"m_{key}"]) + (f'<span class="hint">{esc(hint)}</span>' if hint else "")
        cells = "".join(f"<td>{esc(cell(s, key))}</td>" for s in scorers)
        rows.append(f"<tr><td>{name}</td>{cells}</tr>")
    head = "".join(f"<th>{esc(t[f'col_{s}'])}</th>" for s in scorers)
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
    compare = "".join(f'<p class="note">{esc(s)}</p>' for s in sentences)
    return (
        f"<section id='metrics'><h2>{esc(t['s_metrics'])}</h2><p class='help'>{esc(t['metrics_help'])}</p>"
        f"<table><thead><tr><th>{esc(t['col_measure'])}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f"</table>{compare}</section>"
    )


def week_section(k: Mapping[str, object], lang: str, currency: str) -> str:
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
    rows += control_rows(k.get("control"), lang)
    body = "".join(f"<tr><td>{esc(name)}</td><td>{esc(value)}</td></tr>" for name, value in rows)
    return (
        f"<section id='this-week'><h2>{esc(t['s_week'])}</h2><p class='help'>{esc(t['week_help'])}</p>"
        f"<table><tbody>{body}</tbody></table></section>"
    )


def control_rows(c: Mapping[str, object] | None, lang: str) -> list[tuple[str, str]]:
    """The "this week" rows of a control group (``serving.control``): its size, and the SQLs it costs."""
    if not c or not float(c.get("share", 0)):  # type: ignore[arg-type]
        return []
    t = words(lang, "control")

    def num(key: str, kind: str = "num1") -> str:
        return format_figure(kind, float(c[key]), lang)  # type: ignore[arg-type]

    worked = num("worked", "int")
    return [
        (
            t["week_group"].format(share=num("share", "pct")),
            t["week_group_value"].format(n=num("leads", "int"), worked=worked),
        ),
        (
            t["week_given_up"],
            t["week_given_up_value"].format(
                given_up=num("expected_sqls_given_up"),
                model_pick=num("expected_sqls_model_pick"),
                persona=num("expected_sqls_worked"),
                worked=worked,
            ),
        ),
    ]
