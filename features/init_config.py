"""Guess a starting dataset config from an export, with a field audit for a person to confirm.

The guesses are deliberately plain: column names and values only. Columns that look personal (emails,
phones, names, companies) become ``pii``; a column the leak audit finds suspicious starts as
``exclude`` with its evidence. Nothing here is final: the written file says what to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features import sniff
from features.feature_ids import DERIVED_NAMES, toml_value

PLACEHOLDERS = ["", "Select", "select", "unknown", "Unknown", "N/A", "n/a", "NA", "-", "null", "None", "none"]
PII_NAME = re.compile(
    r"(first|last|full|sur|given|family)[ _-]?name|^name$|^nombre$|nombre completo|apellido|^nome$|sobrenome|e-?mail|"
    r"correo|phone|tel[eé]fono|telefone|m[oó]vil|mobile|celular|address|direcci[oó]n|endere[cç]o|dni|nif|cpf|"
    r"passport|^(company|empresa|compa[nñ][ií]a|company name|account name|nombre de (la )?empresa|raz[oó]n social)$",
    re.IGNORECASE,
)
ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|number|n[uú]mero|code|c[oó]digo)$|^(id|record id)\b", re.IGNORECASE)
TITLE_NAME = re.compile(r"title|t[ií]tulo|cargo|puesto|position|job|(?<![a-z])rol(e)?(?![a-z])", re.IGNORECASE)
DATE_CUES = {
    "mql_at": re.compile(r"mql|marketing.?qualified", re.IGNORECASE),
    "sql_at": re.compile(
        r"(?<![a-z])sql(?![a-z])|sales.?qualified|opportunit|oportunidad|(?<![a-z])won(?![a-z])|ganad|ganh|convert|"
        r"qualifi(ed|cado)|cualificad",
        re.IGNORECASE,
    ),
    "created_at": re.compile(
        r"creat|creac|cria[cdç]|alta|registr|signup|sign.?up|first.?(contact|touch|seen)|primer contacto|became.?lead",
        re.IGNORECASE,
    ),
}
# dates known only after the outcome: never features, never the outcome itself
POST_DATE = re.compile(
    r"clos|cierre|cerrad|fechad|lost|perdid|last|[uú]ltim|modifi|updat|actualiz|atualiz|won|ganad|convert",
    re.IGNORECASE,
)
STATUS_NAME = re.compile(r"estado|etapa|situaci[oó]n|situa[cç][aã]o|status|stage|lifecycle|fase|est[aá]gio", re.I)
POSITIVE_STATUS = re.compile(
    r"sql|sales qualified( lead)?|qualified|cualificad[oa]|calificad[oa]|qualificad[oa]|won|closed won|ganad[oa]|"
    r"cerrad[oa] ganad[oa]|ganho|fechado ganho|converted|convertid[oa]|opportunity|oportunidad|oportunidade|"
    r"customer|cliente",
    re.IGNORECASE,
)
OPEN_STATUS = re.compile(
    r"open|new|working|in progress|contacting|nurtur\w*|abiert[oa]|nuev[oa]|en curso|en proceso|trabajando|"
    r"em andamento|aberto|novo|em progresso",
    re.IGNORECASE,
)
# a market a cut-off could starve: proposed as an audit column (the review page's groups), never a feature change
MARKET_NAME = re.compile(r"countr|pa[ií]s|regi[oó]n|market|mercado|territor", re.IGNORECASE)
OUTCOME_NAME = re.compile(r"convert|^y$|target|label|outcome|won|sql|qualified|result", re.IGNORECASE)
POSITIVE = {"1", "yes", "true", "y", "si", "sí", "won", "converted"}
EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
HORIZONS = (7, 14, 30, 45, 60, 90, 120, 180)
RARE_TYPE = (0.005, 50)  # an activity type counted on its own: >= 0.5% of the activities or >= 50 rows


@dataclass
class Proposal:
    config: dict
    audit: list[dict] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # source column -> why its role was chosen
    notes: dict[str, str] = field(default_factory=dict)  # top-level key -> why it was guessed
    common: dict[str, object] = field(default_factory=dict)  # attribute name -> most common value (persona)
    type_counts: dict[str, int] = field(default_factory=dict)  # activity type -> rows (activities file)


def snake(name: str, taken: set[str]) -> str:
    """A canonical attribute name for an export column, unused so far and never a derived feature's name
    (an export's "Seniority" column becomes ``seniority_2``: ``seniority`` is read from the job title)."""
    base = re.sub(r"[^a-z0-9]+", "_", _ascii(name).lower()).strip("_")[:48].rstrip("_") or "col"
    base = base if base[0].isalpha() else f"c_{base}"
    if base in ("lead_id", "mql_at", "sql_at", "created_at"):
        base = f"{base}_source"
    out, i = base, 2
    while out in taken or out in DERIVED_NAMES:
        out, i = f"{base}_{i}", i + 1
    taken.add(out)
    return out


def _ascii(s: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def spread(values: pd.Series | pd.DataFrame, n: int):
    """Up to ``n`` rows spread evenly over the whole file: an export sorted by date shows all its months."""
    if len(values) <= n:
        return values
    return values.iloc[np.linspace(0, len(values) - 1, n).astype(np.int64)]


def _profile(values: pd.Series, *, day_first: bool = True) -> dict:
    v = values.astype("str").str.strip()
    v = v[~v.isin(PLACEHOLDERS) & values.notna()]
    sample = spread(v, 2000)
    n = max(len(sample), 1)
    marks = sniff.number_marks(sample)
    if max(marks[:2]) > 0.98 and len(v) > len(sample):  # numbers: a rare '1.234,5' deep in the file counts too
        marks = sniff.number_marks(v)
    return {
        "present": len(v),
        "unique": v.nunique(),
        "values": v,
        "sample": sample,
        "date": sniff.guess_date(spread(v, 20_000), day_first_default=day_first),
        "marks": marks,
        "email": sample.str.lower().str.fullmatch(EMAIL).sum() / n,
        "phone": sniff.looks_like_phones(sample),
        "length": sample.str.len().mean() if len(sample) else 0.0,
        "spaces": sample.str.contains(" ").mean() if len(sample) else 0.0,
    }


def _decimal(profiles: dict[str, dict]) -> tuple[str, str | None, str]:
    """(decimal, thousands, why) for the whole file, from the columns that read as numbers either way."""
    comma_ev = dot_ev = 0
    thousands_dot = thousands_comma = False
    example = ""
    for p in profiles.values():
        dot, comma, c_ev, d_ev = p["marks"]
        if p["date"] is None and max(dot, comma) > 0.98:
            comma_ev, dot_ev = comma_ev + c_ev, dot_ev + d_ev
            grouped = p["sample"][p["sample"].str.contains(r"\d\.\d{3}(?:,|$)", regex=True)]
            if len(grouped) and comma > 0.98:
                thousands_dot, example = True, example or grouped.iloc[0]
            thousands_comma |= bool(p["sample"].str.contains(r"\d,\d{3}(?:\.|$)", regex=True).any() and dot > 0.98)
    if comma_ev > dot_ev:
        why = f"decimal comma: {comma_ev} values such as '126,0'" + (
            f"; '.' between thousands ({example!r})" if example else ""
        )
        return ",", "." if thousands_dot else None, why
    if thousands_comma and (dot_ev or not comma_ev):
        return ".", ",", "decimal point with ',' between thousands (values such as '1,234')"
    return ".", None, ""


def _is_number(p: dict, decimal: str) -> float:
    dot, comma, _, _ = p["marks"]
    return comma if decimal == "," else dot


def propose(
    frame: pd.DataFrame,
    *,
    name: str,
    delimiter: str = ",",
    encoding: str = "utf-8",
    activities: pd.DataFrame | None = None,
    activities_format: tuple[str, str] | None = None,
    notes: dict[str, str] | None = None,
) -> Proposal:
    """A starting config (as a dict) for this leads export, plus the reasons for each guess.

    ``activities_format`` is the activities file's own (delimiter, encoding) when it differs from the
    leads file's; ``notes`` are reasons already known for top-level keys (how the files were sniffed).
    """
    rows = len(frame)
    taken: set[str] = set()
    leads: dict = {"attributes": []}
    comments: dict[str, str] = {}
    notes = dict(notes or {})
    outcome: dict | None = None
    features: dict = {}
    audit: list[dict] = []
    day_first = delimiter == ";"
    profiles = {c: _profile(frame[c], day_first=day_first) for c in frame.columns}
    decimal, thousands, why_decimal = _decimal(profiles)
    if decimal == "," and not day_first:  # a decimal comma also says the dates are likely European
        profiles = {c: _profile(frame[c], day_first=True) for c in frame.columns}
    dates: dict[str, sniff.DateGuess] = {}
    statuses: list[tuple[str, list[str]]] = []
    for col, p in profiles.items():
        if p["present"] == 0:
            comments[col] = "always empty"
            leads["attributes"].append({"source": col, "name": snake(col, taken), "role": "exclude"})
            continue
        unique_share = p["unique"] / max(p["present"], 1)
        named_id = ID_NAME.search(col) or "id" in col.lower()
        if "lead_id" not in leads and unique_share > 0.99 and p["date"] is None and p["email"] < 0.5 and named_id:
            leads["lead_id"], comments[col] = col, "unique on every row: the lead id"
            continue
        if p["date"] is not None and p["date"].share > 0.9:
            dates[col] = p["date"]
            continue
        distinct = set(p["values"].str.lower().unique())
        if outcome is None and len(distinct) == 2 and distinct & POSITIVE and OUTCOME_NAME.search(col):
            pos = sorted(v for v in p["values"].unique() if v.lower() in POSITIVE)
            outcome, comments[col] = {"kind": "flag", "column": col, "positive": pos}, "two values: the outcome"
            notes["outcome.kind"] = f"'{col}' has two values and an outcome's name"
            continue
        attr = {"source": col, "name": snake(col, taken), "role": "exclude"}
        positives = sorted(v for v in p["values"].unique() if POSITIVE_STATUS.fullmatch(v.strip()))
        if STATUS_NAME.search(col) and positives and p["unique"] <= 50:
            statuses.append((col, positives))
            comments[col] = f"a status holding the outcome ({', '.join(positives)}): written after it, never a feature"
            leads["attributes"].append(attr)
            continue
        role, why = _role(col, p, unique_share, rows, decimal)
        attr["role"] = role
        if role == "pii" and p["email"] > 0.5:
            features["email_attribute"] = attr["name"]
            notes["email_attribute"] = f"'{col}' holds emails: corporate or free domain is a feature, never the address"
        if role == "text" and TITLE_NAME.search(col) and "title_attribute" not in features:
            features["title_attribute"] = attr["name"]
            notes["title_attribute"] = f"'{col}' holds job titles: seniority is read from them"
            why += "; seniority is derived from it"
        if role == "categorical":
            p["common"] = p["values"].value_counts().index[0]
        leads["attributes"].append(attr)
        comments[col] = why
    _date_roles(dates, leads, comments, taken)
    config: dict = {"name": name, "description": f"started by init-config from {name}", "missing_values": PLACEHOLDERS}
    markets = [a["name"] for a in leads["attributes"] if a["role"] == "categorical" and MARKET_NAME.search(a["source"])]
    if markets:
        config["audit"] = markets
        notes["audit"] = "the review page shows share passed and expected vs realised SQLs per value of these"
    if delimiter != ",":
        config["delimiter"] = delimiter
    if encoding != "utf-8":
        config["encoding"] = encoding
    if decimal != ".":
        config["decimal"], notes["decimal"] = decimal, why_decimal
    if thousands:
        config["thousands"] = thousands
        notes["thousands"] = f"'{thousands}' between thousands (see decimal)"
    if "mql_at" in leads:
        config["time"] = "timestamps"
    else:
        config["time"] = "none"
        comments["(time)"] = "no MQL timestamp found: if rows are in time order, set time = 'row_order'"
    if outcome is None and "sql_at" in leads and "mql_at" in leads:
        outcome = {"kind": "sql_date"}
        config["horizon_days"], notes["horizon_days"] = _horizon(frame, leads, dates)
        notes["outcome.kind"] = f"'{leads['sql_at']}' dates the SQL: an SQL within horizon_days of the MQL is a 1"
    if outcome is None and statuses:
        col, positives = statuses[0]
        outcome = {"kind": "status", "column": col, "positive": positives}
        still_open = sorted(v for v in profiles[col]["values"].unique() if OPEN_STATUS.fullmatch(v.strip()))
        if still_open:  # a lead still being worked has no outcome yet: open, never a negative
            config["missing_values"] = PLACEHOLDERS + still_open
            notes["missing_values"] = f"{', '.join(still_open)}: '{col}' values of leads still open (no outcome yet)"
        comments[col] = f"the outcome: a status whose positive values are {', '.join(positives)}"
        notes["outcome.kind"] = f"no SQL date; '{col}' is a status: the values in positive mean SQL"
        leads["attributes"] = [a for a in leads["attributes"] if a["source"] != col]
        statuses = statuses[1:]
    for col, positives in statuses:
        audit.append(
            {
                "column": col,
                "known_at_mql": False,
                "evidence": f"a status holding the outcome ({', '.join(positives)}): written after it",
                "confirmed": False,
            }
        )
    if outcome is None:
        comments["(outcome)"] = "no outcome column found: set [outcome] before training"
        outcome = {"kind": "flag", "column": "TODO", "positive": ["1"]}
    config["outcome"] = outcome
    config["leads"] = leads
    formats = [dates[leads[k]] for k in ("mql_at", "sql_at", "created_at") if k in leads]
    type_counts: dict[str, int] = {}
    activities_map = None
    if activities is not None and config["time"] == "timestamps":
        ids = set(frame[leads["lead_id"]].astype("str").str.strip()) if "lead_id" in leads else set()
        activities_map, when, why_acts = _activities_mapping(activities, ids, day_first=decimal == "," or day_first)
        if when is not None:
            formats.append(when)
        if activities_format is not None:
            act_delimiter, act_encoding = activities_format
            for key, own, top in (("delimiter", act_delimiter, delimiter), ("encoding", act_encoding, encoding)):
                if own != top:
                    activities_map[key] = own
                    notes[f"activities.{key}"] = f"this file's own: {notes.get(f'activities.{key}', own)}"
        notes.update({f"activities.{k}": v for k, v in why_acts.items()})
        comments["(activities)"] = "the activity types counted: features.activity_types and other_types"
        kinds = activities[activities_map["activity_type"]].astype("str").str.strip().value_counts()
        type_counts = {str(k): int(n) for k, n in kinds[~kinds.index.isin(PLACEHOLDERS)].items()}
        split_types(type_counts, features, notes)
    elif activities is not None:
        comments["(activities)"] = "an activities file needs MQL timestamps: it is left out of this config"
    if formats:
        config["timestamp_format"], notes["timestamp_format"] = _formats(formats)
    if features:
        config["features"] = features
    if activities_map is not None:
        config["activities"] = activities_map
    common = {a["name"]: profiles[a["source"]].get("common") for a in leads["attributes"] if a["role"] == "categorical"}

    def dotted(values: pd.Series) -> pd.Series:
        return sniff.dot_decimal(values, decimal, thousands)

    medians = {
        a["name"]: float(pd.to_numeric(dotted(profiles[a["source"]]["values"]), errors="coerce").median())
        for a in leads["attributes"]
        if a["role"] == "numeric"
    }
    proposal = Proposal(config, audit, comments, notes, {**common, **medians}, type_counts)
    set_persona(proposal)
    return proposal


def split_types(counts: dict[str, int], features: dict, notes: dict[str, str]) -> None:
    """Set features.activity_types (types counted on their own, most frequent first) and other_types (rare
    types pooled in one 'other' count) from rows per type, with their notes; the one place that splits."""
    kinds = pd.Series(counts, dtype="int64").sort_values(ascending=False, kind="stable")
    enough = (kinds >= RARE_TYPE[0] * kinds.sum()) | (kinds >= RARE_TYPE[1])
    features["activity_types"] = [str(k) for k in kinds.index[enough]]
    notes["activity_types"] = f"{enough.sum()} types, each counted per window (most frequent first)"
    features["other_types"] = [str(k) for k in kinds.index[~enough]]
    notes["other_types"] = (
        f"{(~enough).sum()} types under 0.5% of the activities and {RARE_TYPE[1]} rows: counted together as 'other'"
    )


def set_persona(proposal: Proposal) -> None:
    """A placeholder persona rule that validates: the most common value of the first categorical feature."""
    usable = [a for a in proposal.config["leads"]["attributes"] if a["role"] in ("categorical", "numeric")]
    first = next((a for a in usable if a["role"] == "categorical"), None)
    if first is not None:
        condition = {"feature": first["name"], "in": [str(proposal.common[first["name"]])]}
    elif usable:
        condition = {"feature": usable[0]["name"], "min": proposal.common[usable[0]["name"]]}
    else:
        condition = {"feature": "TODO", "in": ["TODO"]}
    proposal.config["persona"] = {
        "description": "TODO: your team's manual rule (this placeholder is not one)",
        "conditions": [condition],
    }


def _formats(found: list[sniff.DateGuess]) -> tuple[str | list[str], str]:
    """The config's timestamp_format: one format, or several tried in order (date-times before dates)."""
    unique = sorted({g.format for g in found}, key=lambda f: (f != "ISO8601", -len(f)))
    why = "; ".join(next(g.why for g in found if g.format == f) for f in unique)
    if len(unique) > 1:
        why = f"{len(unique)} formats, tried in order: {why}"
    return (unique[0] if len(unique) == 1 else unique), why


def _date_roles(dates: dict[str, sniff.DateGuess], leads: dict, comments: dict[str, str], taken: set[str]) -> None:
    """Which date is the MQL moment, the SQL moment, the creation; the rest are excluded with a reason."""
    left = list(dates)

    def take(slot: str, col: str, why: str) -> None:
        leads[slot], comments[col] = col, f"{dates[col].why}; {why}"
        left.remove(col)

    mql = next((c for c in left if DATE_CUES["mql_at"].search(c)), None)
    if mql:
        take("mql_at", mql, "the name says MQL")
    sql = next((c for c in left if DATE_CUES["sql_at"].search(c)), None)
    if sql:
        take("sql_at", sql, "the name says SQL / won / converted: the outcome's date")
    created = next((c for c in left if DATE_CUES["created_at"].search(c)), None)
    if created and "mql_at" not in leads:
        take("mql_at", created, "no MQL date: the creation / first contact is the MQL moment")
    elif created:
        take("created_at", created, "the name says created")
    pre = [c for c in left if not POST_DATE.search(c)]
    if "mql_at" not in leads and len(pre) == 1:
        take("mql_at", pre[0], "the only date known before the outcome: the MQL moment")
    for col in list(left):
        why = (
            "a date known only after the outcome (closed, won, last...): a leak"
            if POST_DATE.search(col)
            else "another date: not a feature (features are read as of the MQL moment)"
        )
        leads["attributes"].append({"source": col, "name": snake(col, taken), "role": "exclude"})
        comments[col] = f"{dates[col].why}; {why}"


def _read_dates(values: pd.Series, guess: sniff.DateGuess) -> pd.Series:
    text = values.astype("str").str.strip()
    return pd.to_datetime(text, format=guess.format, errors="coerce", utc=True)


def _horizon(frame: pd.DataFrame, leads: dict, dates: dict[str, sniff.DateGuess]) -> tuple[int, str]:
    """horizon_days: the 95th percentile of days from MQL to SQL, rounded up to a common window."""
    mql = _read_dates(frame[leads["mql_at"]], dates[leads["mql_at"]])
    sql = _read_dates(frame[leads["sql_at"]], dates[leads["sql_at"]])
    days = ((sql - mql).dt.total_seconds() / 86400).dropna()
    days = days[days >= 0]
    if len(days) < 20:
        return 30, f"only {len(days)} leads with both dates: 30 days assumed (CHECK)"
    p95 = float(days.quantile(0.95))
    horizon = next((h for h in HORIZONS if h >= p95), HORIZONS[-1])
    return horizon, f"95% of the {len(days):,} SQLs came within {p95:.1f} days of their MQL"


def _role(col: str, p: dict, unique_share: float, rows: int, decimal: str = ".") -> tuple[str, str]:
    if p["email"] > 0.5:
        return "pii", "looks like email addresses"
    bands = sniff.looks_like_bands(p["sample"], p["unique"])
    if p["phone"] > 0.5 and not bands and _is_number(p, decimal) < 0.5:
        return "pii", "looks like phone numbers"
    if bands:
        return "categorical", f"{p['unique']} ranges such as {p['values'].iloc[0]!r}: ordered bands, a category"
    number = _is_number(p, decimal)
    if PII_NAME.search(col) and p["unique"] > 2:  # "Do Not Email" (yes/no) is a consent flag, not an address
        return "pii", "the name suggests personal data"
    if unique_share > 0.95 and p["present"] > 50 and number > 0.98 and not p["sample"].str.contains(r"[.,]").any():
        return "exclude", "whole numbers unique on almost every row: another id?"
    if number > 0.98 and p["unique"] > 2:
        return "numeric", "numbers" + (" with a decimal comma" if decimal == "," else "")
    if TITLE_NAME.search(col) and p["unique"] > 2:
        distinct = pd.Series(p["values"].unique())
        if p["unique"] <= 30 and distinct.str.fullmatch(r"[a-z][a-z.-]*").all():  # 'blue-collar', 'retired'
            return "categorical", f"{p['unique']} one-word lower-case values: an occupation category, not titles"
        return "text", "free text (a job title)"
    if unique_share > 0.95 and p["present"] > 50:
        if p["spaces"] > 0.5 or p["length"] > 30:
            return "exclude", "free text: unique on almost every row"
        return "exclude", "an id of some kind: unique on almost every row"
    return "categorical", f"{p['unique']} distinct values" + (
        " (many: the model regularises rare ones)" if p["unique"] > 200 else ""
    )


def _activities_mapping(frame: pd.DataFrame, lead_ids: set[str], *, day_first: bool) -> tuple[dict, object, dict]:
    """(mapping, the time column's DateGuess, why per key): id by value overlap with the leads, time by values."""
    cols = list(frame.columns)
    sample = spread(frame, 5000)
    overlap = {c: sample[c].astype("str").str.strip().isin(lead_ids).mean() if lead_ids else 0.0 for c in cols}
    lead = max(cols, key=lambda c: overlap[c])
    why = {"lead_id": f"{overlap[lead]:.0%} of its values are lead ids"}
    if overlap[lead] < 0.5:
        lead = next((c for c in cols if re.search(r"\bid\b|lead|prospect|contact", c, re.I)), cols[0])
        why["lead_id"] = "by its name (CHECK: few values match the lead ids)"
    guesses = {c: sniff.guess_date(sample[c].astype("str").str.strip(), day_first_default=day_first) for c in cols}
    dated = [c for c in cols if c != lead and guesses[c] is not None and guesses[c].share > 0.9]
    when = dated[0] if dated else next((c for c in cols if c != lead), cols[0])
    rest = [c for c in cols if c not in (lead, when)]
    named = [c for c in rest if re.search(r"type|tipo|activit|actividad|atividade|event|evento|kind|action", c, re.I)]
    kind = named[0] if named else min(rest, key=lambda c: sample[c].nunique()) if rest else cols[-1]
    why["occurred_at"] = guesses[when].why if guesses.get(when) else "CHECK: no column reads as dates"
    why["activity_type"] = "named like a type" if named else "the column with the fewest distinct values"
    return {"lead_id": lead, "occurred_at": when, "activity_type": kind}, guesses.get(when), why


def is_suspect(r, exclude_at: float = 1.0) -> bool:
    """Whether an audited column starts as ``exclude``: enough suspicion, and some of it from the column
    itself (its AUC alone, values that decide the outcome, a name cue). The model's loss without a column
    alone is no evidence of a leak: every useful honest column has one (an industry column lost 0.024 AUC
    and was excluded on that alone, costing the model the signal)."""
    own = r.auc_alone >= 0.7 or r.pure_share > 0 or bool(r.name_cue)
    return bool(r.suspicion >= exclude_at and own)


def add_audit(proposal: Proposal, audit: pd.DataFrame, *, exclude_at: float = 1.0) -> None:
    """Fill the field audit from the leak evidence; strong suspects start as exclude."""
    by_name = {a["name"]: a for a in proposal.config["leads"]["attributes"]}
    for r in audit.itertuples():
        attr = by_name.get(r.feature)
        if attr is None:
            continue
        suspect = is_suspect(r, exclude_at)
        if suspect:
            attr["role"] = "exclude"
            proposal.comments[attr["source"]] = f"suspected leak: {r.evidence}"
        proposal.audit.append(
            {
                "column": attr["source"],
                "known_at_mql": not suspect,
                "evidence": f"suspicion {r.suspicion:.2f}: {r.evidence}",
                "confirmed": False,
            }
        )
    persona = {c["feature"] for c in proposal.config["persona"]["conditions"]}
    if persona & {a["name"] for a in proposal.config["leads"]["attributes"] if a["role"] == "exclude"}:
        set_persona(proposal)  # the placeholder named a column the audit just excluded


def render_toml(p: Proposal) -> str:
    """The proposal as a commented TOML file, every guess explained."""
    q = toml_value  # an emoji in an activity type must stay valid TOML

    c = p.config
    lines = [
        "# Dataset config written by `leadscore init-config`: a starting point, not a verdict.",
        "# Check every role (categorical, numeric, text, pii, exclude), the outcome, the persona rule and the",
        "# field audit at the end, then run `leadscore train`. See README 'Dataset configs'.",
    ]
    for key, why in p.comments.items():
        if key.startswith("("):
            lines.append(f"# CHECK {key[1:-1]}: {why}")
    for key in ("name", "description", "time", "horizon_days", "delimiter", "encoding", "decimal", "thousands"):
        if key in c:
            lines.append(f"{key} = {q(c[key])}" + (f"  # {p.notes[key]}" if p.notes.get(key) else ""))
    if "timestamp_format" in c:
        lines.append(f"# {p.notes.get('timestamp_format', '')}")
        lines.append(f"timestamp_format = {q(c['timestamp_format'])}")
    lines.append(f"missing_values = {q(c['missing_values'])}")
    if p.notes.get("missing_values"):
        lines[-1] += f"  # {p.notes['missing_values']}"
    if "audit" in c:
        lines.append(f"audit = {q(c['audit'])}  # {p.notes['audit']}")
    lines += ["", "[outcome]"]
    for k, v in c["outcome"].items():
        lines.append(f"{k} = {q(v)}" + (f"  # {p.notes[f'outcome.{k}']}" if p.notes.get(f"outcome.{k}") else ""))
    lines += ["", "[leads]"]
    for key in ("lead_id", "mql_at", "sql_at", "created_at"):
        if key in c["leads"]:
            lines.append(f"{key} = {q(c['leads'][key])}  # {p.comments.get(c['leads'][key], '')}")
    lines.append("attributes = [")
    for a in c["leads"]["attributes"]:
        lines.append(
            f"  {{ source = {q(a['source'])}, name = {q(a['name'])}, role = {q(a['role'])} }},"
            f"  # {p.comments.get(a['source'], '')}"
        )
    lines.append("]")
    if "activities" in c:
        lines += ["", "[activities]"]
        for k, v in c["activities"].items():
            why = p.notes.get(f"activities.{k}")
            lines.append(f"{k} = {q(v)}" + (f"  # {why}" if why else ""))
    if "features" in c:
        lines += ["", "[features]"]
        for k, v in c["features"].items():
            lines.append(f"{k} = {q(v)}" + (f"  # {p.notes[k]}" if p.notes.get(k) else ""))
    lines += ["", "[persona]", f"description = {q(c['persona']['description'])}", "conditions = ["]
    for cond in c["persona"]["conditions"]:
        inner = ", ".join(f"{k} = {q(v)}" for k, v in cond.items())
        lines.append(f"  {{ {inner} }},  # TODO EDIT: replace with the rule your SDRs use today")
    lines.append("]")
    if p.audit:
        lines += [
            "",
            "# Field audit: is each column known at the MQL moment? Pre-filled from the leak evidence;",
            "# set confirmed = true once a person has checked it. Suspects start as role = 'exclude'.",
        ]
        for a in p.audit:
            lines += [
                "[[field_audit]]",
                f"column = {q(a['column'])}",
                f"known_at_mql = {str(a['known_at_mql']).lower()}",
                f"evidence = {q(a['evidence'])}",
                "confirmed = false",
            ]
    return "\n".join(lines) + "\n"


def sniff_delimiter(text: str) -> str:
    """The field separator of a CSV sample (see ``features.sniff.sniff_delimiter``)."""
    return sniff.sniff_delimiter(text)
