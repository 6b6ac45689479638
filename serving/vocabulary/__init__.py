"""The words leadscore shows people, in English and Spanish: one data file per language.

``en.toml`` and ``es.toml`` hold the same tables: ``features`` (a feature column's name), ``activities``
(an activity type, ``one``/``many``), ``seniority`` (a job-title level), ``values`` (a category's value,
per feature), ``page`` (the threshold review page) and ``list`` (the SDR list's ``columns`` and
``tiers``). ``reasons`` (the SDR list's per-lead reasons) is English only for now. The reasons and the
review page read their words here, so a word is changed in one place. The ``list`` tables are not read
yet: the English list's headers are the column ids other code relies on, and a list in Spanish
(translated when it is written) is the next step.
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
