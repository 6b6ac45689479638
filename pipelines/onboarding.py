"""`leadscore init-config`: read an export, propose a config, audit its columns, write it for review."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from features import relations
from features.build import build_features, feature_columns
from features.config import parse_config
from features.contract import canonical_activities, canonical_leads, read_table
from features.files import atomic_write
from features.init_config import Proposal, add_audit, propose, render_toml
from features.related import join_lookups, load_events
from features.sniff import sniff_file
from models.leaks import field_audit
from models.train import labels_for, stratified_split, time_split


def init_config(
    leads: Path, activities: Path | None, out: Path, *, name: str | None = None, related: list[Path] = ()
) -> dict:
    """Write a starting config for this export to ``out``; return what was guessed and audited.

    Each file is sniffed on its own (encoding, separator); its columns' roles come from their values first.
    """
    lead_fmt = sniff_file(leads)
    raw = read_table(leads, encoding=lead_fmt.encoding, delimiter=lead_fmt.delimiter)
    act_fmt = sniff_file(activities) if activities else None
    acts = read_table(activities, encoding=act_fmt.encoding, delimiter=act_fmt.delimiter).frame if act_fmt else None
    name = name or re.sub(r"[^A-Za-z0-9_.-]+", "_", out.stem)
    proposal = propose(
        raw.frame,
        name=name,
        delimiter=lead_fmt.delimiter,
        encoding=lead_fmt.encoding,
        activities=acts,
        activities_format=(act_fmt.delimiter, act_fmt.encoding) if act_fmt else None,
        notes={
            "delimiter": lead_fmt.why_delimiter,
            "encoding": lead_fmt.why_encoding,
            **(
                {"activities.delimiter": act_fmt.why_delimiter, "activities.encoding": act_fmt.why_encoding}
                if act_fmt
                else {}
            ),
        },
    )
    if related:
        relations.propose_related(proposal, raw.frame, [Path(p) for p in related], leads_path=leads)
    audited = _audit(proposal, raw, activities, leads)
    text = render_toml(proposal) + relations.render_related(proposal)
    atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    # the leads' own columns and every lookup's, as the printed summary counts them (contacts.Email is personal data)
    columns = [(a["source"], a) for a in proposal.config["leads"]["attributes"]] + [
        (f"{lk['name']}.{a['source']}", a) for lk in proposal.config.get("lookups", []) for a in lk["attributes"]
    ]
    roles: dict[str, int] = {}
    for _, a in columns:
        roles[a["role"]] = roles.get(a["role"], 0) + 1
    return {
        "status": "ok",
        "config": str(out),
        "rows": raw.rows_in,
        "columns": len(raw.frame.columns),
        "roles": roles,
        "outcome": proposal.config["outcome"],
        "time": proposal.config["time"],
        "pii": [source for source, a in columns if a["role"] == "pii"],
        "suspects": [a for a in proposal.audit if not a["known_at_mql"]],
        "audited": audited,
        "to_check": [why for key, why in proposal.comments.items() if key.startswith("(")],
        "related": relations.describe(proposal.config),
    }


def _audit(proposal: Proposal, raw, activities: Path | None, leads_path: Path) -> bool:
    """Run the leak audit on the proposed config; False when there is no outcome to audit against."""
    if proposal.config["outcome"].get("column") == "TODO":
        return False
    config = parse_config(proposal.config, origin="proposed config")
    raw = join_lookups(raw, config, leads_path)[0]
    leads, _ = canonical_leads(raw, config)
    acts = None
    if activities is not None and config.activities is not None:
        m = config.activities
        table = read_table(
            activities, encoding=m.encoding or config.encoding, delimiter=m.delimiter or config.delimiter
        )
        acts, _ = canonical_activities(table, config, leads["lead_id"])
    if config.events:
        events = load_events(raw, leads, config, leads_path, rejected_ids=set())[0]
        acts = events if acts is None else pd.concat([acts, events], ignore_index=True)
    feats = build_features(leads, acts, config=config)
    as_of = leads[["mql_at", "sql_at"]].max().max()
    labels = labels_for(leads, config, as_of).set_index("lead_id").loc[feats.index]
    mature = (labels["state"] == "mature").to_numpy()
    X, y = feats[mature], labels["label"].to_numpy()[mature]
    if len(y) < 50 or y.min() == y.max():
        return False
    split = (
        stratified_split(y, holdout_fraction=0.15, calibration_fraction=0.15, seed=0)
        if config.time == "none"
        else time_split(labels["mql_at"][mature], holdout_fraction=0.15, calibration_fraction=0.15)
    )
    cats, nums = feature_columns(config)
    audit = field_audit(
        X[split == "train"],
        y[split == "train"],
        X[split == "calibration"],
        y[split == "calibration"],
        categorical=cats,
        numeric=nums,
        candidates=config.names_with_role("categorical") + config.names_with_role("numeric"),
        sources={a.name: a.source for a in config.attributes},
    )
    add_audit(proposal, audit)
    relations.audit_lookups(proposal, audit)
    return True
