"""Feature ids: a safe identifier for any name an export uses, and the checks that no two features share one.

An export's activity types are the CRM's words: ``Page View: Pricing``, ``Form Submission: "Demo" [EN]``,
emoji, accents. LightGBM refuses JSON characters in a feature name and MLflow's metric names allow few
characters, so every feature has an internal id matching ``^[a-z][a-z0-9_]*$``; whatever a person reads
shows the original words (``features.names``).

A name that already is a short safe id is its own id, so configs such as the synthetic one
(``pricing_view`` -> ``pricing_view_7d``) keep their feature names. Any other text is folded to ASCII
snake case and given a short hash of the full text, so two texts that fold alike ("Email: Opened" and
"email opened") still get different ids, the same in every run and whatever the row order.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config imports this module (its checks name features): type hints only
    from features.config import DatasetConfig

SAFE = re.compile(r"[a-z][a-z0-9_]*")  # used with fullmatch: "$" would also match before a trailing newline
MAX_ID = 64  # a safe name up to this long is its own id
_BASE = 32  # characters of folded text kept before the hash
_HASH = 8  # hex digits of the hash suffix; 16 when two texts still meet (see activity_ids)
ACTIVITY_DERIVED = (
    "distinct_types_90d",
    "days_since_last_activity",
    "engagement_recency_weighted",
    "velocity_7d_vs_30d",
)
OTHER = "other_activities"
# every name a derived feature or a contract column can take, whatever the config: init-config keeps
# attribute names off them
DERIVED_NAMES = frozenset(
    {"seniority", "email_type", "days_created_to_mql", "mql_month", *ACTIVITY_DERIVED}
    | {f"{k}_{w}d" for k in ("activities", OTHER) for w in (1, 3, 7, 14, 30, 60, 90, 180, 365)}
    | {"lead_id", "mql_at", "sql_at", "created_at"}
)


def is_safe(name: str) -> bool:
    """True for a name that is its own id: ``^[a-z][a-z0-9_]*$`` and at most ``MAX_ID`` characters."""
    return len(name) <= MAX_ID and SAFE.fullmatch(name) is not None


def safe_id(text: str) -> str:
    """A safe identifier (``^[a-z][a-z0-9_]*$``, at most ``MAX_ID`` characters) for any text.

    The identity for a short name that is already safe; otherwise the text folded to ASCII snake case
    (accents dropped, every other character a separator), cut to 32 characters, with the first 8 hex
    digits of the text's SHA-256: "Page View: Pricing" -> "page_view_pricing_<8 hex>", "" -> "x_<8 hex>".
    """
    return text if is_safe(text) else _folded(text, _HASH)


def _folded(text: str, digits: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:_BASE].rstrip("_")
    if not base[:1].isalpha():  # empty, or starting with a digit
        base = f"x_{base}".rstrip("_")
    # surrogatepass: a lone surrogate (possible in a decoded file name or a drawn test string) still hashes
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:digits]
    return f"{base}_{digest}"


def value_ids(config: DatasetConfig) -> dict[tuple[str, str], str]:
    """Each event table's value column, as (table name, column), -> its id (``web_sessions_pages_viewed``) over
    the whole config: the one place that decides it, so the loader and the features agree."""
    out: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for e in config.events:
        for v in dict.fromkeys(e.values):
            folded = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower()
            plain = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:_BASE].rstrip("_")
            # "Pages Viewed" reads web_sessions_pages_viewed; a column that folds to nothing or to another's
            # name (web + "Sessions Pages" and web_sessions + "Pages") takes the hashed id
            vid = f"{e.name}_{plain}" if plain and f"{e.name}_{plain}" not in taken else ""
            if not vid:
                vid = f"{e.name}_{_folded(v, _HASH)}"
            out[(e.name, v)] = vid
            taken.add(vid)
    return out


def value_features(config: DatasetConfig) -> dict[str, str]:
    """Each event table's value column id (``web_sessions_pages_viewed``) -> its words ("Pages Viewed, web
    sessions"); its features are ``<id>_sum_<w>d``."""
    return {vid: f"{v} ({name.replace('_', ' ')})" for (name, v), vid in value_ids(config).items()}


def window_feature(kind_id: str, days: int) -> str:
    """The feature counting activities of kind ``kind_id`` in the last ``days`` days."""
    return f"{kind_id}_{days}d"


def activity_ids(config: DatasetConfig) -> dict[str, str]:
    """Each of ``features.activity_types`` (as written in the config) -> the id its features are named by.

    Usually ``safe_id`` of the type. A type whose id meets another's (two hashes alike, or a folded text
    equal to another type's own safe name), or whose window features would take a derived feature's name
    (a type called "activities" or "other_activities"), gets a 16-digit hash instead; a type that is its
    own safe id keeps it when the other is folded. Decided on the sorted texts: independent of order.
    """
    types = list(dict.fromkeys(config.features.activity_types))
    windows = config.features.windows
    reserved = {window_feature(k, w) for k in ("activities", OTHER) for w in windows} | set(ACTIVITY_DERIVED)
    reserved |= {f"{vid}_sum_{w}d" for vid in value_ids(config).values() for w in windows}
    ids = {t: safe_id(t) for t in types}
    for _ in range(3):  # a 16-digit hash does not meet again in practice; bounded all the same
        owners: dict[str, list[str]] = {}
        for t in sorted(types):
            owners.setdefault(ids[t], []).append(t)
        clash: set[str] = set()
        for kid, ts in owners.items():
            for t in ts:
                # a type that is its own safe id keeps it; every other type that meets it moves
                shared = len(ts) > 1 and t != kid
                if shared or any(window_feature(kid, w) in reserved for w in windows):
                    clash.add(t)
        if not clash:
            break
        for t in clash:
            ids[t] = _folded(t, 16)
    return {t: ids[t] for t in config.features.activity_types}


def derived_features(config: DatasetConfig) -> dict[str, str]:
    """Every feature the config derives (not an attribute), with what it is derived from, in plain words.

    The export's names are quoted as Python literals, so a message that quotes one stays on one line."""
    spec = config.features
    source = {a.name: a.source for a in config.attributes}
    out: dict[str, str] = {}
    if spec.title_attribute:
        out["seniority"] = f"read from the job title column {source.get(spec.title_attribute, spec.title_attribute)!r}"
    if spec.email_attribute:
        out["email_type"] = f"read from the email column {source.get(spec.email_attribute, spec.email_attribute)!r}"
    if config.leads.created_at:
        out["days_created_to_mql"] = "days from the creation date to the MQL"
    if config.time == "timestamps":
        out["mql_month"] = "month of the MQL"
    if config.has_activities:
        for t, kid in activity_ids(config).items():
            for w in spec.windows:
                out[window_feature(kid, w)] = f"count of activity type {t!r} in the last {w} days"
        for w in spec.windows:
            out[window_feature("activities", w)] = f"count of all activities in the last {w} days"
        if spec.other_types:
            for w in spec.windows:
                out[window_feature(OTHER, w)] = f"count of the features.other_types activities in the last {w} days"
        out |= dict.fromkeys(ACTIVITY_DERIVED, "derived from the activity log")
        for vid, words in value_features(config).items():
            for w in spec.windows:
                out[f"{vid}_sum_{w}d"] = f"sum of {words} in the last {w} days"
    return out


def feature_columns(config: DatasetConfig) -> tuple[list[str], list[str]]:
    """(categorical, numeric) feature names, in the order build_features returns them."""
    cats = config.names_with_role("categorical")
    if config.features.title_attribute:
        cats = cats + ["seniority"]
    if config.features.email_attribute:
        cats = cats + ["email_type"]
    nums = config.names_with_role("numeric")
    if config.leads.created_at:
        nums = nums + ["days_created_to_mql"]
    if config.time == "timestamps":
        nums = nums + ["mql_month"]
    if config.has_activities:
        windows = config.features.windows
        # ids, not the export's words: LightGBM refuses names such as "Page View: Pricing_7d"
        nums += [window_feature(kid, w) for kid in activity_ids(config).values() for w in windows]
        nums += [f"activities_{w}d" for w in windows]
        if config.features.other_types:
            nums += [window_feature(OTHER, w) for w in windows]
        nums += [f"{v}_sum_{w}d" for v in value_features(config) for w in windows]
        nums += ["distinct_types_90d", "days_since_last_activity", "engagement_recency_weighted", "velocity_7d_vs_30d"]
    return cats, nums


def check_names(config: DatasetConfig) -> None:
    """Refuse (ValueError, one line) names that would make two features one, naming both and the fix.

    Activity types must be non-blank and listed once across ``activity_types`` and ``other_types``
    (the export's types are read stripped of surrounding spaces, so " Demo" and "Demo" are one type).
    An attribute may not take the name of a feature the config derives (``seniority`` beside a
    ``title_attribute``, ``mql_month``, an activity count such as ``pricing_view_7d``...).
    """
    spec = config.features
    seen: dict[str, str] = {}
    for key in ("activity_types", "other_types"):
        for t in getattr(spec, key):
            if not t.strip():
                raise ValueError(f"features.{key} holds an empty activity type {t!r}; remove it")
            if t.strip() in seen:
                raise ValueError(
                    f"activity type {t.strip()!r} is listed twice (features.{seen[t.strip()]} and features.{key}); "
                    "list each type once"
                )
            seen[t.strip()] = key
    derived = derived_features(config)
    for a in config.attributes:
        if a.name in derived:
            raise ValueError(
                f"attribute '{a.name}' (column {a.source!r}) has the name of the derived feature '{a.name}' "
                f"({derived[a.name]}); rename the attribute (its name = 'crm_{a.name}', for example)"
            )
    _refuse_twice(config)


def _refuse_twice(config: DatasetConfig) -> None:
    """Refuse a feature name that two sources give (a type's count and an event value's sum, say), naming both."""
    cats, nums = feature_columns(config)
    names = cats + nums
    twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    if not twice:
        return
    sources: dict[str, list[str]] = {}
    for a in config.attributes:
        sources.setdefault(a.name, []).append(f"attribute column {a.source!r}")
    if config.has_activities:
        for t, kid in activity_ids(config).items():
            for w in config.features.windows:
                sources.setdefault(window_feature(kid, w), []).append(f"activity type {t!r}")
        for (e, v), vid in value_ids(config).items():
            for w in config.features.windows:
                sources.setdefault(f"{vid}_sum_{w}d", []).append(f"value {v!r} of event table '{e}'")
    name = twice[0]
    given = " and ".join(sources.get(name, [])) or "two features of the config"
    raise ValueError(f"feature '{name}' would be made twice, by {given}; rename one of them")


def unknown_features(config: DatasetConfig, names: list[str]) -> str:
    """``names`` (not features of the config) as a message part, with the id of any activity count named by
    its type's text ("Page View: Pricing_7d" is "page_view_pricing_<hash>_7d")."""
    hints = [
        f"'{n}' is '{window_feature(kid, w)}'"
        for n in names
        for t, kid in activity_ids(config).items()
        for w in config.features.windows
        if n == f"{t}_{w}d" and kid != t
    ]
    return f"{names}" + (f" (activity counts are named by id: {', '.join(hints)})" if hints else "")


def toml_value(value: object) -> str:
    """A TOML value for a string, number, bool, list or table of them, with any name kept as written.

    JSON's escapes are TOML's except two: an emoji must be written as itself (JSON's surrogate pair
    ``\\ud83d\\udcdd`` is invalid TOML), and DEL must be escaped (JSON leaves it raw).
    """
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
