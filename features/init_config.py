"""Guess a starting dataset config from an export, with a field audit for a person to confirm.

The guesses are deliberately plain: column names and values only. Columns that look personal (emails,
phones, names, companies) become ``pii``; a column the leak audit finds suspicious starts as
``exclude`` with its evidence. Nothing here is final: the written file says what to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

PLACEHOLDERS = ["", "Select", "select", "unknown", "Unknown", "N/A", "n/a", "NA", "-", "null", "None", "none"]
PII_NAME = re.compile(
    r"(first|last|full|sur|given|family)[ _-]?name|^name$|nombre|apellido|e-?mail|correo|phone|tel[eé]fono|"
    r"m[oó]vil|mobile|celular|address|direcci[oó]n|dni|nif|passport|company|empresa|raz[oó]n social",
    re.IGNORECASE,
)
ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|number|n[uú]mero|code|c[oó]digo)$", re.IGNORECASE)
TITLE_NAME = re.compile(r"title|cargo|puesto|position|job|rol", re.IGNORECASE)
DATE_CUES = {
    "mql_at": re.compile(r"mql|marketing.?qualified|became.?lead", re.IGNORECASE),
    "sql_at": re.compile(r"sql|sales.?qualified|opportunit|converted.?(at|date|on)", re.IGNORECASE),
    "created_at": re.compile(r"creat|alta|registr|signup|sign.?up", re.IGNORECASE),
}
OUTCOME_NAME = re.compile(r"convert|^y$|target|label|outcome|won|sql|qualified|result", re.IGNORECASE)
POSITIVE = {"1", "yes", "true", "y", "si", "sí", "won", "converted"}
EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
PHONE = r"^\+?[\d\s().-]{7,}$"


@dataclass
class Proposal:
    config: dict
    audit: list[dict] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # source column -> why its role was chosen


def snake(name: str, taken: set[str]) -> str:
    """A canonical attribute name for an export column, unused so far and never a derived feature's name
    (an export's "Seniority" column becomes ``seniority_2``: ``seniority`` is read from the job title)."""
    from features.names import DERIVED_NAMES

    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:48].rstrip("_") or "col"
    base = base if base[0].isalpha() else f"c_{base}"
    out, i = base, 2
    while out in taken or out in DERIVED_NAMES:
        out, i = f"{base}_{i}", i + 1
    taken.add(out)
    return out


def _profile(values: pd.Series) -> dict:
    v = values.astype("str").str.strip()
    v = v[~v.isin(PLACEHOLDERS) & values.notna()]
    sample = v.head(2000)
    n = max(len(sample), 1)
    return {
        "present": len(v),
        "unique": v.nunique(),
        "values": v,
        "numeric": sample.str.fullmatch(r"-?\d+([.,]\d+)?").sum() / n,
        "date": pd.to_datetime(sample, errors="coerce", format="mixed").notna().sum() / n
        if sample.str.contains(r"\d{4}|\d{1,2}[/-]\d{1,2}[/-]\d{2}", regex=True).mean() > 0.9
        else 0.0,
        "email": sample.str.lower().str.fullmatch(EMAIL).sum() / n,
        "phone": sample.str.fullmatch(PHONE).sum() / n,
        "length": sample.str.len().mean() if len(sample) else 0.0,
    }


def propose(
    frame: pd.DataFrame,
    *,
    name: str,
    delimiter: str = ",",
    encoding: str = "utf-8",
    activities: pd.DataFrame | None = None,
) -> Proposal:
    """A starting config (as a dict) for this leads export, plus the reasons for each guess."""
    rows = len(frame)
    taken: set[str] = set()
    leads: dict = {"attributes": []}
    comments: dict[str, str] = {}
    outcome: dict | None = None
    features: dict = {}
    profiles = {c: _profile(frame[c]) for c in frame.columns}
    for col, p in profiles.items():
        if p["present"] == 0:
            comments[col] = "always empty"
            leads["attributes"].append({"source": col, "name": snake(col, taken), "role": "exclude"})
            continue
        unique_share = p["unique"] / max(p["present"], 1)
        if "lead_id" not in leads and unique_share > 0.99 and (ID_NAME.search(col) or "id" in col.lower()):
            leads["lead_id"], comments[col] = col, "unique on every row: the lead id"
            continue
        if p["date"] > 0.95:
            slot = next((k for k, rx in DATE_CUES.items() if rx.search(col) and k not in leads), None)
            if slot:
                leads[slot], comments[col] = col, f"timestamps; the name suggests {slot}"
                continue
        distinct = set(p["values"].str.lower().unique())
        if outcome is None and len(distinct) == 2 and distinct & POSITIVE and OUTCOME_NAME.search(col):
            pos = sorted(v for v in p["values"].unique() if v.lower() in POSITIVE)
            outcome, comments[col] = {"kind": "flag", "column": col, "positive": pos}, "two values: the outcome"
            continue
        role, why = _role(col, p, unique_share, rows)
        attr = {"source": col, "name": snake(col, taken), "role": role}
        if role == "pii" and p["email"] > 0.5:
            features["email_attribute"] = attr["name"]
        if role == "text" and TITLE_NAME.search(col) and "title_attribute" not in features:
            features["title_attribute"] = attr["name"]
        leads["attributes"].append(attr)
        comments[col] = why
    config: dict = {"name": name, "description": f"started by init-config from {name}", "missing_values": PLACEHOLDERS}
    if delimiter != ",":
        config["delimiter"] = delimiter
    if encoding != "utf-8":
        config["encoding"] = encoding
    if "mql_at" in leads:
        config["time"] = "timestamps"
    else:
        config["time"] = "none"
        comments["(time)"] = "no MQL timestamp found: if rows are in time order, set time = 'row_order'"
    if outcome is None and "sql_at" in leads and "mql_at" in leads:
        outcome = {"kind": "sql_date"}
        config["horizon_days"] = 30
    if outcome is None:
        comments["(outcome)"] = "no outcome column found: set [outcome] before training"
        outcome = {"kind": "flag", "column": "TODO", "positive": ["1"]}
    config["outcome"] = outcome
    config["leads"] = leads
    if features:
        config["features"] = features
    usable = [a for a in leads["attributes"] if a["role"] in ("categorical", "numeric")]
    first = next((a for a in usable if a["role"] == "categorical"), None)
    if first is not None:
        common = profiles[first["source"]]["values"].value_counts().index[0]
        condition = {"feature": first["name"], "in": [str(common)]}
    elif usable:
        condition = {
            "feature": usable[0]["name"],
            "min": float(
                pd.to_numeric(profiles[usable[0]["source"]]["values"].str.replace(",", "."), errors="coerce").median()
            ),
        }
    else:
        condition = {"feature": "TODO", "in": ["TODO"]}
    config["persona"] = {
        "description": "TODO: your team's manual rule (this placeholder is not one)",
        "conditions": [condition],
    }
    if activities is not None:
        config["activities"] = _activities_mapping(activities)
        comments["(activities)"] = "check activity_types in [features]: the ones counted per window"
        kinds = activities[config["activities"]["activity_type"]].astype("str").value_counts().index[:12]
        config.setdefault("features", {})["activity_types"] = [str(k) for k in kinds]
    return Proposal(config, [], comments)


def _role(col: str, p: dict, unique_share: float, rows: int) -> tuple[str, str]:
    if p["email"] > 0.5:
        return "pii", "looks like email addresses"
    if p["phone"] > 0.5 and p["numeric"] < 0.5:
        return "pii", "looks like phone numbers"
    if PII_NAME.search(col) and p["unique"] > 2:  # "Do Not Email" (yes/no) is a consent flag, not an address
        return "pii", "the name suggests personal data"
    if unique_share > 0.95 and p["present"] > 50:
        if p["numeric"] > 0.98:
            return "exclude", "unique on almost every row: another id?"
        return (
            ("text", "free text (a job title?)")
            if TITLE_NAME.search(col)
            else ("exclude", "free text or an id: unique on almost every row")
        )
    if p["numeric"] > 0.98 and p["unique"] > 2:
        return "numeric", "numbers"
    if TITLE_NAME.search(col) and p["unique"] > 50 and p["length"] > 8:
        return "text", "free text (a job title?)"
    if p["unique"] <= max(200, rows // 50):
        return "categorical", f"{p['unique']} distinct values"
    return "exclude", f"{p['unique']} distinct values: too many for a category"


def _activities_mapping(frame: pd.DataFrame) -> dict:
    cols = list(frame.columns)
    lead = next((c for c in cols if "id" in c.lower() or "lead" in c.lower()), cols[0])
    when = next((c for c in cols if _profile(frame[c])["date"] > 0.95), cols[1] if len(cols) > 1 else cols[0])
    kind = next(
        (c for c in cols if re.search(r"type|tipo|activity|event|kind", c, re.I) and c not in (lead, when)), cols[-1]
    )
    return {"lead_id": lead, "occurred_at": when, "activity_type": kind}


def add_audit(proposal: Proposal, audit: pd.DataFrame, *, exclude_at: float = 1.0) -> None:
    """Fill the field audit from the leak evidence; strong suspects start as exclude."""
    by_name = {a["name"]: a for a in proposal.config["leads"]["attributes"]}
    for r in audit.itertuples():
        attr = by_name.get(r.feature)
        if attr is None:
            continue
        suspect = r.suspicion >= exclude_at
        if suspect:
            attr["role"] = "exclude"
        proposal.audit.append(
            {
                "column": attr["source"],
                "known_at_mql": not suspect,
                "evidence": f"suspicion {r.suspicion:.2f}: {r.evidence}",
                "confirmed": False,
            }
        )


def render_toml(p: Proposal) -> str:
    """The proposal as a commented TOML file, every guess explained."""
    from features.names import toml_value as q  # an emoji in an activity type must stay valid TOML

    c = p.config
    lines = [
        "# Dataset config written by `leadscore init-config`: a starting point, not a verdict.",
        "# Check every role (categorical, numeric, text, pii, exclude), the outcome, the persona rule and the",
        "# field audit at the end, then run `leadscore train`. See README 'Dataset configs'.",
    ]
    for key, why in p.comments.items():
        if key.startswith("("):
            lines.append(f"# CHECK {key[1:-1]}: {why}")
    for key in ("name", "description", "time", "horizon_days", "delimiter", "encoding"):
        if key in c:
            lines.append(f"{key} = {q(c[key])}")
    lines.append(f"missing_values = {q(c['missing_values'])}")
    lines += ["", "[outcome]"] + [f"{k} = {q(v)}" for k, v in c["outcome"].items()]
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
        lines += ["", "[activities]"] + [f"{k} = {q(v)}" for k, v in c["activities"].items()]
    if "features" in c:
        lines += ["", "[features]"] + [f"{k} = {q(v)}" for k, v in c["features"].items()]
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


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","
