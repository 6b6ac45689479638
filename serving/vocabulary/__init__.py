"""The words leadscore shows people, in English and Spanish: one data file per language.

``en.toml`` and ``es.toml`` hold the same tables: ``format`` (the decimal mark; whether a reason names a
feature by the export's column or in the language's words), ``features`` (a feature
column's name), ``activities`` (an activity type, ``one``/``many``), ``seniority`` (a job-title level),
``values`` (a category's value, per feature), ``page`` (the threshold review page), ``reasons`` (the SDR
list's per-lead reasons) and ``list`` (the SDR list's ``columns`` headers, ``tiers``, ``this_week`` and
``group`` cells, and ``trends`` words). The reasons, the list and the review page read their words here,
so a word is changed in one place. list.parquet keeps the columns' ids in every language; list.csv, the
file SDRs open, is translated when it is written (``serving.publish``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

LANGS = ("en", "es")


def check_lang(lang: str) -> None:
    """A ValueError naming the languages there are, for any other ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


class _DecimalComma(float):
    """A number written with a decimal comma whatever its format spec: ``f"{x:.1f}"`` -> "1,5"."""

    def __format__(self, spec: str) -> str:
        return format(float(self), spec).replace(".", ",")


def number(value: object, lang: str = "en") -> object:
    """``value`` as ``lang`` writes it when formatted (Spanish: a decimal comma); anything else unchanged."""
    if words(lang, "format")["decimal"] == "." or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return _DecimalComma(value)


def counted(template: str | dict, n: float) -> str:
    """A template with a singular: ``{one = ..., many = ...}`` gives "one" when ``n`` rounds to 1; a string: itself."""
    if isinstance(template, str):
        return template
    return template["one" if round(n) == 1 else "many"]


@cache
def _load(lang: str) -> dict[str, Any]:
    return tomllib.loads(files(__package__).joinpath(f"{lang}.toml").read_text(encoding="utf-8"))


def words(lang: str, table: str) -> MappingProxyType:
    """One table of the vocabulary in ``lang`` ("en" or "es"), read-only: e.g. ``words("es", "seniority")``."""
    check_lang(lang)
    part = _load(lang)
    for name in table.split("."):
        part = part[name]
    return MappingProxyType(part)


def seniority_words(lang: str = "en") -> MappingProxyType:
    """Seniority level (``c_level``, ``vp``...) -> how it reads: "C-level or founder"."""
    return words(lang, "seniority")


def list_headers(lang: str = "en") -> MappingProxyType:
    """The SDR list's column id -> its header in ``lang`` (in English the header is the id)."""
    return words(lang, "list.columns")


def list_cells(lang: str = "en") -> dict[str, MappingProxyType]:
    """The SDR list's columns whose cells are words -> each cell's id -> how it reads in ``lang``."""
    return {
        "tier": words(lang, "list.tiers"),
        "previous_tier": words(lang, "list.tiers"),
        "this_week": words(lang, "list.this_week"),
        "group": words(lang, "list.group"),
    }
