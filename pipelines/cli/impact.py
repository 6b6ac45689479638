"""`leadscore impact`: did past lists work? Each archived list against what its leads did, and the lift."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from pipelines.cli.common import (
    ActsOpt,
    AsOfOpt,
    ConfigOpt,
    JsonOpt,
    LeadsOpt,
    WorkspaceOpt,
    _locked,
    _preflight,
    _shown,
    _start,
    _timed,
    console,
)
from pipelines.defaults import DEFAULT_CONFIG
from pipelines.results_impact import ImpactPart, ImpactResult, ImpactWeek


def impact(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Did past lists work? Each list archived under <workspace>/lists/archive against the outcomes in this export.

    Per list whose leads' horizon has passed: SQLs by tier, the SQL rate of the leads worked (this_week,
    or tiers A-C) against the rest, SQLs the scores expected against those realised (with a 95% interval),
    cost per SQL and SDR hours recovered (LEADSCORE_MINUTES_PER_LEAD, LEADSCORE_COST_PER_HOUR), and the
    response rate where the export logs replies; younger lists are pending. With a control group
    (LEADSCORE_CONTROL_SHARE), the lift: worked leads' SQL rate with the model against without it, with a
    bootstrap interval, and the weeks still needed to tell it from zero. Writes lists/latest_impact.html
    (Spanish latest_impact_es.html) and latest_impact.json; logs the weeks to MLflow as a series.
    """
    settings = _start(workspace)
    from pipelines.flows import impact_flow
    from serving.impact import archive_folders

    def body() -> ImpactResult:
        archive_folders(settings.workspace / "lists" / "archive")  # nothing to measure: one line, before Prefect
        _preflight(config, leads, activities, settings=settings)
        run = _timed(impact_flow, settings)
        return _locked(settings, "impact", lambda: run(leads, activities, config, settings, as_of), create=False)

    _shown(as_json, body, print_impact)


def _rate(p: ImpactPart | None) -> str:
    return "-" if p is None or p.rate is None else f"{p.rate:.1%}"


def _expected(w: ImpactWeek) -> str:
    if w.expected_sqls is None:
        return "-"
    if w.expected_low is None:
        return f"{w.expected_sqls:,.1f}"
    return f"{w.expected_sqls:,.1f} ({w.expected_low:,.0f}-{w.expected_high:,.0f})"


def print_impact(s: ImpactResult) -> None:
    """`impact`: one row per archived list (pending ones say until when), the total, then the lift."""
    console.rule("[bold]leadscore impact")
    console.print(
        f"{s.lists} archived lists against the outcomes known on {s.as_of[:10]} ({s.horizon_days}-day horizon): "
        f"{s.realised_weeks} realised, {s.pending_weeks} pending",
        highlight=False,
    )
    table = Table(
        title="What each list's leads did (SQL rates: worked from the list, the rest, the control group's worked)",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False,
    )  # fmt: skip
    heads = ["List of", "Leads", "SQLs", "A/B/C/D/ctl", "worked", "rest", "ctrl", "expected (95%)"]
    for col in heads:
        table.add_column(col, justify="left" if col in ("List of", "A/B/C/D/ctl") else "right", no_wrap=True)

    def row(label: str, w: ImpactWeek) -> None:
        if w.status == "pending":
            table.add_row(label, f"{w.leads:,}", "-", f"due {w.due}", "", "", "", _expected(w))
            return
        tiers = w.sqls_by_tier or {}
        by_tier = "/".join(str(tiers[k]["sqls"]) if k in tiers else "-" for k in ("A", "B", "C", "D", "control"))
        worked = w.persona_worked if w.kind == "persona" else w.worked  # the rule's worked leads, apart
        table.add_row(
            label, f"{w.leads:,}", f"{w.sqls:,}", by_tier if w.week_of != "total" else "", _rate(worked),
            _rate(w.rest), _rate(w.control_worked), _expected(w),
        )  # fmt: skip

    for w in s.weeks:
        row(w.week_of[:10] + (" persona" if w.kind == "persona" else ""), w)
    if s.total is not None:
        table.add_section()
        row("total (each lead once)", s.total)
    console.print(table)
    if s.total is not None and s.total.kpis is not None:
        k = s.total.kpis
        console.print(
            f"Realised over {s.realised_weeks} lists, each lead once ({s.total.leads:,} leads on "
            f"{s.total.lead_weeks or s.total.leads:,} list rows): {k.sql_volume:,} SQLs "
            f"({k.sqls_worked:,} from the leads worked), "
            f"SDR cost per SQL {_money(k.cost_per_sql)} ({s.minutes_per_lead:g} min a lead, {s.cost_per_hour:g} an "
            f"hour), {k.sdr_hours_recovered:,.1f} SDR hours recovered against working every listed lead",
            highlight=False,
        )
    _print_lift(s)
    for note in s.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", highlight=False)
    if s.mlflow and s.mlflow.get("warning"):
        console.print(f"[yellow]Warning:[/yellow] {escape(s.mlflow['warning'])}", highlight=False)
    if s.files:
        console.print(f"Page: {s.files.get('page_en')} (Spanish: {s.files.get('page_es')})", highlight=False)


def _print_lift(s: ImpactResult) -> None:
    lift = s.lift
    if (lift is None or lift.lift is None) and s.control:  # control lists exist, none realised yet
        console.print(
            f"Lift: control group on since {s.control['since']}; first measurable on {s.control['due']} "
            f"(its first list's horizon ends then).",
            highlight=False,
        )
        return
    if lift is None or lift.lift is None:
        console.print("Lift: no list had a control group; set LEADSCORE_CONTROL_SHARE (e.g. 0.2) to measure it.")
        return
    m, c = lift.model, lift.control
    console.print(
        f"[bold]Lift over the control group[/bold] ({lift.weeks} weeks, each worked lead once): worked with the model "
        f"{m.rate:.1%} ({m.sqls}/{m.worked_leads}), control {c.rate:.1%} ({c.sqls}/{c.worked_leads}): "
        f"[bold]{lift.lift * 100:+.1f} points[/bold] (95% bootstrap interval {lift.lift_low * 100:+.1f} to "
        f"{lift.lift_high * 100:+.1f}); {lift.sqls_gained_per_week:+.1f} SQLs a week; cost per SQL "
        f"{_money(m.cost_per_sql)} with the model, {_money(c.cost_per_sql)} without",
        highlight=False,
    )
    if lift.weeks_needed == 0:
        console.print("The interval excludes zero: the lift is measured.")
    elif lift.weeks_needed is None:
        console.print("The estimated lift is zero: more weeks will not separate it from zero.")
    else:
        console.print(f"The interval still includes zero: about {lift.weeks_needed} more weeks at this volume.")


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"
