"""init-config on several files: find the keys between tables and propose lookups and event tables.

A key is found by values first, names second: a column of a table already joined (the leads, or a
lookup proposed before) whose distinct values are mostly (80%) found in a column of another table that
is unique per row makes that table a lookup, joined on that pair. A table with a date column whose key
column holds the leads' ids, or a lookup's ids, with several rows per key on average, is an event table;
its type column (few distinct text values) and its numeric columns (summed per window) are proposed too.
A table that fits neither is left out, and the written config says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.feature_ids import toml_value
from features.init_config import _ascii, _decimal, _profile, is_suspect, propose, set_persona, snake, split_types
from features.reader import ContractError, read_table
from features.sniff import guess_date, number_marks, sniff_file

OVERLAP = 0.8  # share of a column's distinct values that must be found among the other table's ids
SAMPLE = 200_000
DATE_SHAPE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
NUMBER = r"-?\d+(?:\.\d+)?"  # a value that reads as a number is not a date
ID_CUE = re.compile(r"(^|[^a-z])(id|key|code|uuid|number|n[uú]mero|c[oó]digo)($|[^a-z])", re.IGNORECASE)
TIME_CUE = re.compile(r"time|date|fecha|start|at$|when|occurred", re.IGNORECASE)


@dataclass
class Table:
    """One related file as read for init-config: its name, path, text frame, and how it was read."""

    name: str
    path: Path
    frame: pd.DataFrame
    encoding: str
    delimiter: str


def _fold(text: str) -> str:
    """A table's or column's name folded to snake case, to compare names and name tables ("Contact ID" ->
    "contact_id")."""
    base = re.sub(r"[^a-z0-9]+", "_", _ascii(str(text)).lower()).strip("_") or "col"
    return base if base[0].isalpha() else f"c_{base}"


def read_related(path: Path) -> Table:
    """Read a related file as text, sniffed on its own (encoding, separator) as init-config reads the leads."""
    path = Path(path)
    fmt = sniff_file(path)
    frame = read_table(path, encoding=fmt.encoding, delimiter=fmt.delimiter).frame
    stem = path.name.split(".")[0]
    return Table(_fold(stem), path, frame, fmt.encoding, fmt.delimiter)


def _clean(col: pd.Series) -> pd.Series:
    s = col.head(SAMPLE).astype("str").str.strip()
    return s[col.head(SAMPLE).notna() & (s != "")]


def _unique(col: pd.Series) -> bool:
    v = _clean(col)
    return len(v) >= 0.9 * min(len(col), SAMPLE) and v.is_unique and len(v) > 1


def _is_date(col: pd.Series) -> bool:
    """Dates in one format init-config can name (``sniff.guess_date``), so the table is read as it was found."""
    v = _clean(col).head(500)
    if not len(v) or v.str.fullmatch(NUMBER).mean() > 0.5 or v.str.contains(DATE_SHAPE).mean() < 0.95:
        return False
    guess = guess_date(v)
    return guess is not None and guess.share > 0.95


def _is_number(col: pd.Series) -> bool:
    """Numbers with a decimal point or a decimal comma ('126,5'), as init-config reads the leads' numbers."""
    v = _clean(col)
    return len(v) > 0 and max(number_marks(v)[:2]) > 0.98


def _overlap(child: pd.Series, ids: set[str]) -> float:
    """Share of the child column's distinct values found among ``ids``."""
    values = set(_clean(child).unique())
    return len(values & ids) / len(values) if len(values) >= 2 else 0.0


def _name_bonus(a: str, b: str) -> float:
    return 0.05 * (_fold(a) == _fold(b)) + 0.02 * bool(ID_CUE.search(a))


def find_relations(
    leads: pd.DataFrame, lead_id: str | None, tables: list[Table]
) -> tuple[list[dict], list[dict], dict]:
    """(lookups, events, notes by table name) proposed for these tables, lookups in join order."""
    joined: dict[str, pd.DataFrame] = {"leads": leads}
    id_sets: dict[str, tuple[str, set[str]]] = {}  # table -> (its id column, its ids): what events may match
    if lead_id:
        id_sets["lead_id"] = (lead_id, set(_clean(leads[lead_id]).unique()))
    lookups, events, notes = [], [], {}
    pending = list(tables)
    changed = True
    while pending and changed:
        changed = False
        for t in list(pending):
            found = _as_lookup(t, joined) or _as_event(t, id_sets)
            if found is None:
                continue
            kind, proposal = found
            pending.remove(t)
            changed = True
            if kind == "lookup":
                lookups.append(proposal)
                joined[t.name] = t.frame
                id_sets[t.name] = (proposal["id"], set(_clean(t.frame[proposal["id"]]).unique()))
            else:
                events.append(proposal)
            notes[t.name] = proposal.pop("_why")
    for t in pending:
        notes[t.name] = "no key found: none of its columns holds the leads' ids or another table's ids; left out"
    return lookups, events, notes


def _as_lookup(t: Table, joined: dict[str, pd.DataFrame]) -> tuple[str, dict] | None:
    best = None
    for u in t.frame.columns:
        if not _unique(t.frame[u]) or _is_date(t.frame[u]):
            continue
        ids = set(_clean(t.frame[u]).unique())
        for via, frame in joined.items():
            for c in frame.columns:
                score = _overlap(frame[c], ids)
                if score >= OVERLAP:
                    score += _name_bonus(c, u)
                    if best is None or score > best[0]:
                        best = (score, via, c, u)
    if best is None:
        return None
    score, via, key, uid = best
    why = f"one row per {uid!r}; {min(score, 1):.0%} of {via}'s {key!r} values are found there"
    return "lookup", {"name": t.name, "file": t.path.name, "via": via, "key": key, "id": uid, "_why": why, "_t": t}


def _as_event(t: Table, id_sets: dict[str, tuple[str, set[str]]]) -> tuple[str, dict] | None:
    dates = [c for c in t.frame.columns if _is_date(t.frame[c])]
    if not dates:
        return None
    best = None
    for c in t.frame.columns:
        if c in dates or _unique(t.frame[c]):
            continue
        for matches, (id_col, ids) in id_sets.items():
            score = _overlap(t.frame[c], ids)
            if score >= OVERLAP:
                score += _name_bonus(c, id_col)
                if best is None or score > best[0]:
                    best = (score, matches, c)
    if best is None:
        return None
    _, matches, key = best
    when = next((c for c in dates if TIME_CUE.search(c)), dates[0])
    rest = [c for c in t.frame.columns if c not in (key, *dates) and not _unique(t.frame[c])]
    values = [c for c in rest if _is_number(t.frame[c])]
    kinds = [c for c in rest if c not in values and _clean(t.frame[c]).nunique() <= 100]
    proposal = {"name": t.name, "file": t.path.name, "key": key}
    if matches != "lead_id":
        proposal["matches"] = matches
    proposal["occurred_at"] = when
    if kinds:
        proposal["activity_type"] = kinds[0]
    if values:
        proposal["values"] = values
    per_key = len(t.frame) / max(_clean(t.frame[key]).nunique(), 1)
    whose = "lead ids" if matches == "lead_id" else f"{matches} ids"
    proposal["_why"] = f"dated rows, {per_key:.1f} per {key!r} ({whose})" + (
        f"; numeric columns summed per window: {values}" if values else ""
    )
    return "event", proposal


def propose_related(proposal, leads: pd.DataFrame, paths: list[Path], *, leads_path: Path) -> None:
    """Add the lookups and event tables found among ``paths`` to an init-config proposal (in place).

    Lookup attributes get roles as the leads' columns do (``features.init_config.propose``); their
    names stay unique across all tables. Every activity type of the event tables is counted.
    """
    config = proposal.config
    tables = [read_related(p) for p in paths]
    names = [t.name for t in tables]
    if len(set(names)) < len(names) or set(names) & {"leads", "activities"}:
        raise ContractError(f"related files need distinct names other than leads/activities: {names}")
    lookups, events, notes = find_relations(leads, config["leads"].get("lead_id"), tables)
    home = Path(leads_path).resolve().parent
    for found in (*lookups, *events):  # relative to the leads file's folder when they share it
        path = next(t.path for t in tables if t.name == found["name"]).resolve()
        found["file"] = path.name if path.parent == home else str(path)
    taken = {a["name"] for a in config["leads"]["attributes"]}
    keys = {(lk["via"], lk["key"]) for lk in lookups}
    for a in config["leads"]["attributes"]:
        if ("leads", a["source"]) in keys:
            a["role"] = "exclude"  # a join key: an id, never a feature
            proposal.comments[a["source"]] = "the key of a lookup: an id, never a feature"
    if any(a["role"] == "exclude" and ("leads", a["source"]) in keys for a in config["leads"]["attributes"]):
        set_persona(proposal)  # the placeholder rule may have named a key that is now excluded
    features = config.setdefault("features", {})
    for lk in lookups:
        t = lk.pop("_t")
        sub = propose(t.frame, name=t.name, delimiter=t.delimiter, encoding=t.encoding)
        attrs, renamed = [], {}
        for a in sub.config["leads"]["attributes"]:
            if a["source"] == lk["id"] or (t.name, a["source"]) in keys:
                continue  # a join key: an id, never a feature
            name = a["name"] if a["name"] not in taken else snake(f"{t.name}_{a['name']}", taken)
            taken.add(name)
            renamed[a["name"]] = name
            attrs.append({**a, "name": name})
            proposal.comments[f"{t.name}.{a['source']}"] = sub.comments.get(a["source"], "")
        given = {a["source"] for a in sub.config["leads"]["attributes"]}
        for col in t.frame.columns:  # what propose took for an id, a date or an outcome: kept out, and said
            if col in given or col == lk["id"] or (t.name, col) in keys:
                continue
            name = snake(f"{t.name}_{col}", taken)
            attrs.append({"source": col, "name": name, "role": "exclude"})
            why = sub.comments.get(col, "")
            proposal.comments[f"{t.name}.{col}"] = (
                f"a lookup's status, date or id ({why}): as exported now, likely written after the outcome"
            )
        for key in ("title_attribute", "email_attribute"):
            if key not in features and sub.config.get("features", {}).get(key) in renamed:
                features[key] = renamed[sub.config["features"][key]]
        lk["attributes"] = attrs
        marks = (sub.config.get("decimal", "."), sub.config.get("thousands"))
        if marks != (config.get("decimal", "."), config.get("thousands")):  # read as its own numbers are written
            lk["decimal"] = marks[0]
            if marks[1]:
                lk["thousands"] = marks[1]
        if t.encoding != config.get("encoding", "utf-8"):
            lk["encoding"] = t.encoding
        if t.delimiter != config.get("delimiter", ","):
            lk["delimiter"] = t.delimiter
    counts = dict(proposal.type_counts)  # the activities file's types, counted with the event tables'
    by_name = {t.name: t for t in tables}
    for ev in events:
        t = by_name[ev["name"]]
        if "activity_type" in ev:
            for k, n in _clean(t.frame[ev["activity_type"]]).value_counts().items():
                counts[str(k)] = counts.get(str(k), 0) + int(n)
        else:
            counts[ev["name"]] = counts.get(ev["name"], 0) + len(t.frame)
        if t.encoding != config.get("encoding", "utf-8"):
            ev["encoding"] = t.encoding
        if t.delimiter != config.get("delimiter", ","):
            ev["delimiter"] = t.delimiter
        _own_marks(ev, t, config)
    if events:
        split_types(counts, features, proposal.notes)
    if lookups:
        config["lookups"] = lookups
    if events:
        config["events"] = events
    proposal.comments.update({f"(related {k})": v for k, v in notes.items() if "left out" in v})
    proposal.comments.update({f"[related {k}]": v for k, v in notes.items() if "left out" not in v})


def _own_marks(ev: dict, t: Table, config: dict) -> None:
    """An event table's own date format and decimal mark, when they are not the leads' (dd/mm/yyyy leads and an
    ISO event table, say): each table is read with what its own values show."""
    day_first = config.get("decimal", ".") == ","
    when = _profile(t.frame[ev["occurred_at"]], day_first=day_first)["date"]
    if when is not None and when.format != config.get("timestamp_format"):
        ev["timestamp_format"] = when.format
    values = {v: _profile(t.frame[v], day_first=day_first) for v in ev.get("values", [])}
    if values:
        decimal, thousands, _ = _decimal(values)
        if (decimal, thousands) != (config.get("decimal", "."), config.get("thousands")):
            ev["decimal"] = decimal
            if thousands:
                ev["thousands"] = thousands


def audit_lookups(proposal, audit: pd.DataFrame, *, exclude_at: float = 1.0) -> None:
    """The field audit of lookup attributes (``add_audit`` covers the leads' own): strong suspects excluded."""
    by_name = {a["name"]: (lk["name"], a) for lk in proposal.config.get("lookups", []) for a in lk["attributes"]}
    for r in audit.itertuples():
        if r.feature not in by_name:
            continue
        table, attr = by_name[r.feature]
        suspect = is_suspect(r, exclude_at)
        if suspect:
            attr["role"] = "exclude"
            proposal.comments[f"{table}.{attr['source']}"] = f"suspected leak: {r.evidence}"
        proposal.audit.append(
            {
                "column": f"{table}.{attr['source']}",
                "known_at_mql": not suspect,
                "evidence": f"suspicion {r.suspicion:.2f}: {r.evidence}",
                "confirmed": False,
            }
        )


def describe(config: dict) -> list[str]:
    """One line per proposed lookup or event table, for the init-config summary."""
    lines = [
        f"lookup {lk['name']}: joined on {lk['via']}.{lk['key']} = {lk['name']}.{lk['id']}, "
        f"{len(lk['attributes'])} columns"
        for lk in config.get("lookups", [])
    ]
    for ev in config.get("events", []):
        whose = "lead id" if ev.get("matches", "lead_id") == "lead_id" else f"{ev['matches']} id"
        kind = f"types from {ev['activity_type']!r}" if "activity_type" in ev else f"type {ev['name']!r}"
        summed = f", summed: {', '.join(ev['values'])}" if ev.get("values") else ""
        lines.append(f"events {ev['name']}: {ev['key']!r} ({whose}), time {ev['occurred_at']!r}, {kind}{summed}")
    return lines


def render_related(proposal) -> str:
    """The lookups and event tables as commented TOML, to append to the config init-config writes."""
    q = toml_value  # a name with an emoji stays valid TOML
    c = proposal.config
    lines: list[str] = []
    if c.get("lookups"):
        lines += [
            "",
            "# Lookups: tables joined onto the leads by key; their attributes are used like the leads' own.",
            "# They are read as exported now, not as at each MQL moment: exclude a column written after the outcome.",
        ]
    for lk in c.get("lookups", []):
        why = proposal.comments.get("[related " + lk["name"] + "]", "")
        lines += [f"[[lookups]]  # {why}"]
        lines += [f"{k} = {q(v)}" for k, v in lk.items() if k != "attributes"]
        lines.append("attributes = [")
        for a in lk["attributes"]:
            why = proposal.comments.get(f"{lk['name']}.{a['source']}", "")
            lines.append(f"  {{ source = {q(a['source'])}, name = {q(a['name'])}, role = {q(a['role'])} }},  # {why}")
        lines.append("]")
    if c.get("events"):
        lines += ["", "# Event tables: each row is an activity of the lead (or of the lookup row) its key names."]
    for ev in c.get("events", []):
        why = proposal.comments.get("[related " + ev["name"] + "]", "")
        lines += [f"[[events]]  # {why}"]
        lines += [f"{k} = {q(v)}" for k, v in ev.items()]
    return "\n".join(lines) + "\n" if lines else ""
