"""Numbers and dates as the review page writes them, in English or Spanish (mirrored by the page's script)."""

from __future__ import annotations

import html
import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from serving.vocabulary import LANGS, check_lang, words

# the page's words, language -> key -> text (serving/vocabulary/<lang>.toml, table "page")
TEXT: dict[str, dict[str, str]] = {lang: dict(words(lang, "page")) for lang in LANGS}


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
    check_lang(lang)
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


def date(t: pd.Timestamp | datetime, lang: str) -> str:
    """A day as the page writes it: "20 May 2025", "20 may 2025"."""
    month = TEXT[lang]["months"].split()[t.month - 1]
    return f"{t.day} {month} {t.year}"


def esc(s: object) -> str:
    """``s`` as text safe inside HTML, attribute values included."""
    return html.escape(str(s), quote=True)
