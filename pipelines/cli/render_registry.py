"""The console summaries of the registry commands: cut-off records (`thresholds`), versions (`models`), rollback."""

from __future__ import annotations

from rich import box
from rich.table import Table

from pipelines.cli.common import console
from pipelines.results_registry import CutoffRecord, RollbackResult, TagWindow, VersionList


def print_record(r: CutoffRecord) -> None:
    """A version's current cut-offs (who set them, when, why) and their history."""
    cur = r.current
    aliases = f" ({', '.join(r.aliases)})" if r.aliases else ""
    console.print(
        f"{r.model}{aliases}: A >= {cur.cutoffs['A']:g}, B >= {cur.cutoffs['B']:g}, "
        f"C >= {cur.cutoffs['C']:g}, D below; set by {cur.by} at {cur.at}: {cur.note}",
        highlight=False,
    )
    console.print(f"History ({len(r.history)}, oldest first):")
    for h in r.history:
        c = h.cutoffs
        console.print(f"  {h.at}  A {c['A']:g} / B {c['B']:g} / C {c['C']:g}  by {h.by}: {h.note}", highlight=False)


def _window(w: TagWindow | None) -> str:
    if w is not None and "first_mql" in w:
        return f"{w.first_mql[:10]} to {w.last_mql[:10]}"
    return f"{w.rows} leads" if w is not None and "rows" in w else "-"


def print_versions(s: VersionList) -> None:
    """`models`: the versions table, rollbacks, the rollback hold and the champion's history."""
    if not s.versions:
        console.print(s.note or f"No versions of model '{s.model}' yet (train one with `leadscore weekly`).")
        return
    datasets = {v.dataset for v in s.versions}
    one = f", dataset '{datasets.pop()}'" if len(datasets) == 1 else ""
    table = Table(
        title=f"Model '{s.model}'{one}: metrics on each version's own holdout (its newest mature MQLs)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ["v", "aliases", "registered", *([] if one else ["dataset"]), "AUC", "ECE", "cut-offs A/B/C"]
    for col in columns:
        table.add_column(col, justify="right" if col in ("v", "AUC", "ECE") else "left", no_wrap=True)
    table.add_column("trained up to", no_wrap=True)
    table.add_column("holdout MQLs")
    table.add_column("gate", no_wrap=True)
    for v in s.versions:
        m, cut, train = v.metrics, v.tier_cutoffs, v.windows.get("train")
        table.add_row(
            v.version,
            "\n".join(v.aliases + (["rolled back"] if v.rolled_back else [])),
            v.created[:10],
            *([] if one else [v.dataset]),
            f"{m['roc_auc']:.3f}" if "roc_auc" in m else "-",
            f"{m['ece']:.3f}" if "ece" in m else "-",
            f"{cut['A']:g}/{cut['B']:g}/{cut['C']:g}" if cut else "-",
            (train.last_mql if train is not None and "last_mql" in train else "-")[:10],
            _window(v.windows.get("holdout")),
            v.gate_rule or v.gate_decision.split(":")[0],
        )
    console.print(table)
    for v in s.versions:
        if v.rolled_back:
            r = v.rolled_back
            console.print(f"v{v.version} rolled back to v{r.to} by {r.by} at {r.at}: {r.reason}", highlight=False)
    if s.hold:
        h = s.hold
        console.print(
            f"[yellow]Rollback hold:[/yellow] until {h.until} new versions stay challengers; "
            f"champion v{h.version} is kept (end it early with `leadscore rollback --to VERSION`).",
            highlight=False,
        )
    history = " -> ".join(f"v{h.version} ({h.how}, {h.at[:10]})" for h in s.champion_history[-6:])
    if history:
        console.print(f"Champion history (latest 6): {history}", highlight=False)


def print_rollback(s: RollbackResult) -> None:
    """`rollback`: the new champion, who moved it and why, and the hold on new versions."""
    console.print(
        f"[green]Champion is now v{s.to_version}[/green] (was v{s.from_version}), by {s.by} at {s.at}: "
        f"{s.reason}. The next scoring run uses {s.model}.",
        highlight=False,
    )
    if s.hold_until:
        console.print(
            f"Until {s.hold_until} the weekly gate keeps new versions as challengers (rollback hold).",
            highlight=False,
        )
