"""The `leadscore` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from pipelines.defaults import DEFAULT_CONFIG
from pipelines.prefect_env import configure_prefect, prefect_start_errors

app = typer.Typer(
    help="Honest MQL-to-SQL lead scoring: train weekly, rank new leads, explain every score. Input limits and "
    "run time-outs: LEADSCORE_LIMITS__MAX_FILE_BYTES, __MAX_ROWS, __MAX_CELL_CHARS, __RUN_TIMEOUT_SECONDS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config", "-c", help="dataset config (TOML) mapping the export", show_default="data/configs/synthetic.toml"
    ),
]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        help="folder for lists, the MLflow store and artifacts", show_default="./workspace, or LEADSCORE_WORKSPACE"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the summary as JSON on stdout (for automation)")]
AsOfOpt = Annotated[
    datetime | None,
    typer.Option(
        help="the export moment: later MQLs and SQL dates are ignored, leads younger than the horizon are open",
        show_default="the latest timestamp in the export",
    ),
]
LeadsOpt = Annotated[Path, typer.Option(help="leads export (CSV, CSV.gz or Parquet)")]
CapacityOpt = Annotated[
    int | None,
    typer.Option(
        help="leads the SDR team can work this week: the best N are marked this_week=yes on the list",
        min=1,
        show_default="none, or LEADSCORE_CAPACITY",
    ),
]
ModelOpt = Annotated[str | None, typer.Option(help="MLflow model URI", show_default="models:/<model_name>@champion")]
ModelConfigOpt = Annotated[
    Path | None, typer.Option(help="dataset config", show_default="the one saved with the model")
]
ActsOpt = Annotated[Path | None, typer.Option(help="activities export (CSV, CSV.gz or Parquet)")]
FailOnDriftOpt = Annotated[
    bool,
    typer.Option(
        "--fail-on-drift",
        help="exit with code 3 on a drift alert, after the list is written (for cron and CI, which only see "
        "exit codes)",
    ),
]
DRIFT_EXIT = 3


def _exit_on_drift(s: dict, fail_on_drift: bool) -> None:
    if fail_on_drift and (s.get("drift") or {}).get("level") == "alert":
        raise typer.Exit(DRIFT_EXIT)


NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="rebuild the point-in-time features even if <workspace>/cache holds them for these inputs "
        "(LEADSCORE_CACHE__ENABLED=false does the same)",
    ),
]


def _without_cache(settings, no_cache: bool):
    return (
        settings.model_copy(update={"cache": settings.cache.model_copy(update={"enabled": False})})
        if no_cache
        else settings
    )


def _print_features(s: dict) -> None:
    f = s.get("features") or {}
    text = {
        "reused": "reused from the cache (same files, config and code as an earlier run)",
        "built": "built, and cached for a repeated run",
        "off": "built (cache off)",
    }.get(f.get("cache"), "built")
    console.print(f"Features: {text}" + (f"; {f['note']}" if f.get("note") else ""), highlight=False)


def _environment() -> None:
    # Before Prefect is imported: no telemetry, and its console logs stay out of the summary. Errors are
    # printed by this CLI in one line; PREFECT_LOGGING_LEVEL=INFO brings Prefect's own logs back.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its INFO lines (table creation...) are not ours
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # mlflow resets its loggers to this on import
    # against a tracking server MLflow writes "View run at <url>" to stdout, which --json keeps for the summary
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    configure_prefect()


def _settings(workspace: Path | None):
    from pydantic import ValidationError

    from pipelines.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:  # a bad LEADSCORE_* variable: name it, no traceback
        problems = "; ".join(
            f"LEADSCORE_{'__'.join(str(p).upper() for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        console.print(f"[bold red]Error:[/bold red] invalid settings: {problems}", highlight=False)
        raise typer.Exit(2) from None
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    return settings


def _preflight(config: Path | None, *files: Path | None, workspace: Path | None = None, settings=None) -> None:
    """Fail in a second, before any flow starts, on a bad config, a missing input, an unusable workspace
    or (given the settings) a tracking server that does not answer."""
    from features.config import load_config
    from features.contract import ContractError
    from features.limits import check_file_size
    from models.tracking import check_reachable

    if settings is not None:
        workspace = settings.workspace

    if workspace is not None and workspace.exists() and not workspace.is_dir():
        raise ContractError(f"--workspace {workspace} is a file; give a folder (it is created if missing)")
    if config is not None:
        load_config(config)
    for f in files:
        if f is not None and not Path(f).is_file():
            raise ContractError(f"{f}: file not found")
    if settings is not None:
        for f in files:  # LEADSCORE_LIMITS__MAX_FILE_BYTES: refused in a second, before any flow starts
            check_file_size(f, settings.limits.max_file_bytes)
        check_reachable(settings.resolved_tracking_uri())


def _timed(flow_fn, settings):
    """The flow with the run time-out of LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS, if one is set."""
    seconds = settings.limits.run_timeout_seconds
    return flow_fn.with_options(timeout_seconds=seconds) if seconds else flow_fn


def _timeout_message(exc: BaseException) -> str:
    return (
        f"the run was stopped at its time-out ({exc}). Outputs are written atomically and the model aliases "
        "move last, so the previous list and champion are as they were. Raise the time-out with "
        "LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS (or unset it for none)."
    )


def _locked(settings, command: str, fn, *, create: bool = True):
    """Run ``fn`` holding the workspace lock (pipelines/lock.py): one writer per workspace at a time.

    With ``create=False`` a workspace that does not exist is not made just to hold a lock in it.
    """
    from pipelines.lock import workspace_lock

    if not create and not settings.workspace.is_dir():
        return fn()

    def say(message: str) -> None:
        console.print(f"[yellow]{escape(message)}[/yellow]", highlight=False, soft_wrap=True)  # one greppable line

    with workspace_lock(settings.workspace, command, timeout=settings.lock_timeout_seconds, on_wait=say):
        return fn()


def _run(as_json: bool, fn, *, print_json: bool = True):
    """Run a command body: progress on stderr, summary (or JSON) at the end, clear errors, no tracebacks."""
    from mlflow.exceptions import MlflowException

    from features.config import ConfigError
    from features.contract import ContractError
    from models.leaks import LeakSuspected
    from models.scorer import FeatureMismatchError
    from models.tracking import CutoffError, ModelLoadError, RollbackError, TrackingUnavailable, mask_secrets
    from models.train import TrainingDataError
    from pipelines import progress
    from pipelines.lock import WorkspaceBusy
    from serving.distributed import DistributedError

    progress.enable(None if as_json else console)
    try:
        with prefect_start_errors():  # Prefect's start-up time-out: one line saying what to do
            summary = fn()
    except (
        ConfigError,
        ContractError,
        ModelLoadError,
        CutoffError,
        RollbackError,
        TrackingUnavailable,
        TrainingDataError,
        LeakSuspected,
        FeatureMismatchError,
        WorkspaceBusy,
        OSError,
        DistributedError,  # --dask: no dask installed, no scheduler, a worker lost
        MlflowException,  # an MLflow error that outlasted the retries (and is no "does not exist" answer)
        TimeoutError,  # LEADSCORE_LIMITS__RUN_TIMEOUT_SECONDS (Prefect's FlowRunTimeoutError is one)
    ) as exc:
        if isinstance(exc, TimeoutError):
            message = _timeout_message(exc)
        elif isinstance(exc, MlflowException):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"MLflow request failed ({exc.error_code}): {first}"
        elif isinstance(exc, OSError) and exc.filename:
            message = f"{exc.filename}: {exc.strerror}"
        else:
            message = str(exc)
        message = mask_secrets(message)  # MLflow quotes the URL it called, password and all
        if as_json:
            print(json.dumps({"status": "error", "error": message, "kind": type(exc).__name__}))
        else:
            console.print(f"[bold red]Error:[/bold red] {message}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    if as_json and print_json:
        print(json.dumps(summary, indent=2, default=str))
    return summary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _print_rows_in(s: dict) -> dict:
    """The summary's rule, rows in and rejected, and warnings; returns the summary's inputs."""
    inp = s["inputs"]
    console.rule("[bold]leadscore summary")
    console.print(
        f"Rows in: {inp['leads_in']:,} leads, {inp['activities_in']:,} activities; rejected: "
        f"{inp['leads_rejected']:,} leads, {inp['activities_rejected']:,} activities"
    )
    if inp.get("related"):
        console.print(
            "Related tables: "
            + ", ".join(f"{t} {r['in']:,} rows ({r['rejected']:,} rejected)" for t, r in inp["related"].items())
        )
    _print_warnings(s)
    return inp


def _print_training(s: dict) -> None:
    inp = _print_rows_in(s)
    if "leads_by_state" in inp:
        st = inp["leads_by_state"]
        console.print(
            f"As of {s['as_of']}: {st.get('mature', 0):,} mature (labelled), {st.get('open', 0):,} open, "
            f"{st.get('already_sql', 0):,} already SQL"
            + (f", {st['after_as_of']:,} after the as-of moment (ignored)" if st.get("after_as_of") else "")
        )
    w = s["windows"]
    console.print(
        f"Train {w['train']['rows']:,} leads (SQL rate {_pct(w['train']['sql_rate'])})"
        + (f" up to {w['train']['last_mql'][:10]}" if "last_mql" in w["train"] else "")
        + f"; holdout {w['holdout']['rows']:,} leads (SQL rate {_pct(w['holdout']['sql_rate'])})"
        + (
            f" {w['holdout']['first_mql'][:10]} .. {w['holdout']['last_mql'][:10]}"
            if "first_mql" in w["holdout"]
            else ""
        )
    )
    table = Table(
        title="On the newest window, never trained on (AUC: 95% bootstrap interval)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("", "AUC", "95% int.", "PR-AUC", "top20%", "lift10", "ECE", "Brier"):
        table.add_column(col, justify="right" if col else "left", no_wrap=True)
    kind = s.get("model_choice", {}).get("kind", "lightgbm")
    names = {
        "model": {"lightgbm": "LightGBM", "logistic": "shipped logistic", "blend": "blend"}[kind]
        + (" (segmented)" if "global_model" in s["metrics"] else ""),
        "global_model": "LightGBM global",
        "logistic_regression": "logistic regr.",
        "persona_rule": "persona rule",
    }
    for key, label in names.items():
        if key not in s["metrics"]:
            continue
        m = s["metrics"][key]
        interval = f"{m['roc_auc_ci_low']:.2f}-{m['roc_auc_ci_high']:.2f}"
        ece = f"{m['ece']:.3f}" if "ece" in m else "-"
        brier = f"{m['brier']:.3f}" if "brier" in m else "-"
        table.add_row(
            label,
            f"{m['roc_auc']:.3f}",
            interval,
            f"{m['pr_auc']:.3f}",
            _pct(m["capture_top20"]),
            f"{m['lift_top10']:.2f}x",
            ece,
            brier,
        )
    console.print(table)
    console.print(
        "[dim]top20%: share of all SQLs in the best-scored 20% of MQLs; lift10: SQL rate of the top 10% over the "
        f"average; ECE: calibration error; Brier of always predicting the base rate: "
        f"{s['metrics']['model']['brier_base_rate']:.3f}[/dim]"
    )
    for key, c in s["model_vs_baselines"].items():
        colour = {"better": "green", "worse": "red"}.get(c["verdict"], "yellow")
        console.print(
            f"Model vs {names[key]}: AUC {c['diff']:+.3f} (95% interval {c['low']:+.3f} to {c['high']:+.3f}): "
            f"[{colour}]{c['verdict']}[/{colour}]"
        )
    if s.get("candidates"):
        tried = ", ".join(
            f"{c['name']} {c['calibration_auc']:.3f}/{c['holdout_auc']:.3f}" + (" (chosen)" if c["chosen"] else "")
            for c in s["candidates"]
        )
        head = "Candidates, AUC on the comparing half of the calibration window (chooses) / holdout (reports)"
        console.print(f"[dim]{head}: {tried}[/dim]")
    _print_segments(s.get("segments", []))
    p = s["metrics"]["persona_rule"]
    console.print(
        f"Persona rule passes {_pct(p['pass_rate'])} of MQLs and finds {_pct(p['capture_passed'])} of "
        f"SQLs (SQL rate {_pct(p['sql_rate_passed'])})."
    )
    for note in s["notes"]:
        console.print(f"[bold yellow]Note:[/bold yellow] {note}")
    console.print("Top leak suspects (none stopped the run; check they are known at the MQL moment):")
    for sus in s["leak_suspects"]:
        console.print(f"  - {sus['source']}: {sus['evidence']}", highlight=False)
    g = s["gate"]
    colour = "green" if g["promoted"] else "yellow"
    console.print(f"Registry: v{g['version']} [{colour}]{g['reason']}[/{colour}]")


def _print_segments(records: list[dict]) -> None:
    if not records:
        return
    table = Table(title="Segments (holdout AUC)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("segment", "train leads", "scored by", "AUC", "AUC global", "why"):
        table.add_column(col, justify="left" if col in ("segment", "scored by", "why") else "right")
    for r in records:
        auc, glob = r.get("holdout_auc"), r.get("holdout_auc_global")
        table.add_row(
            r["segment"],
            f"{r['train_rows']:,}",
            "its own model" if r["model"] == "own" else "global model",
            "-" if auc is None else f"{auc:.3f}",
            "-" if glob is None else f"{glob:.3f}",
            r.get("why", ""),
        )
    console.print(table)


def _print_warnings(s: dict) -> None:
    for warning in s["inputs"].get("warnings", []):
        console.print(f"[bold yellow]Warning:[/bold yellow] {warning}")


def _print_list(s: dict) -> None:
    lst = s["list"]
    if not s.get("files"):
        console.print(f"[bold yellow]List:[/bold yellow] {lst.get('note', 'nothing written')}")
        if "review_pages" in s:
            console.print(f"Review page: [bold]{s['review_pages']['review_en']}[/bold]")
        return
    tiers = ", ".join(f"{t}: {n:,}" for t, n in lst["tiers"].items())
    console.print(f"List: {lst['rows']:,} leads scored ({tiers}) -> [bold]{s['files']['csv']}[/bold]")
    console.print(f"      also {s['files']['parquet']}; rejects: {s['files']['rejects']}")
    if "review_en" in s["files"]:
        console.print(f"Review page: [bold]{s['files']['review_en']}[/bold] (Spanish: {s['files'].get('review_es')})")
    if "capacity" in lst:
        c = lst["capacity"]
        console.print(
            f"This week's working list: the best {c['leads']:,} leads (this_week=yes), "
            f"{c['expected_sqls']:.1f} SQLs expected in it; {c['expected_sqls_remainder']:.1f} expected in the "
            f"other {c['leads_remainder']:,}."
        )
    if "trend" in lst:
        tr = lst["trend"]
        console.print(
            f"Against the previous list: {tr['improving']:,} improving, {tr['steady']:,} steady, "
            f"{tr['declining']:,} declining, {tr['new']:,} new; {tr['tier_moved']:,} changed tier."
        )
    if "kpis" in lst:
        _print_kpis(lst["kpis"])


def _print_kpis(k: dict) -> None:
    cost = f"{k['cost_per_sql']:.2f}" if k["cost_per_sql"] is not None else "- (no SQL expected)"
    console.print(
        f"Seed KPIs: {k['expected_sqls']:.1f} SQLs expected among the {k['open_leads']:,} leads on the list, "
        f"{k['expected_sqls_at_or_above_c']:.1f} of them in the {k['leads_at_or_above_c']:,} scoring >= "
        f"{k['cutoff_c']:g} (tiers A-C); SDR cost per SQL there: {cost} "
        f"({k['minutes_per_lead']:g} min per lead, {k['cost_per_hour']:g} an hour); "
        f"{k['sdr_hours_recovered']:.1f} SDR hours recovered vs working every listed lead.",
        highlight=False,
    )
    by_tier = k.get("response_by_tier")
    if by_tier:
        rates = ", ".join(f"{t}: {_pct(v['rate'])} of {v['leads']:,}" for t, v in sorted(by_tier.items()))
        console.print(f"Prospect response rate by tier (replies since the MQL moment): {rates}")
    else:
        console.print("Prospect response rate by tier: not available (no reply/response activity in the export)")


def _print_drift(s: dict) -> None:
    """The drift verdict: one line when all is well, a framed block on a watch or an alert."""
    d = s.get("drift")
    if not d:
        return
    where = s.get("files", {}).get("drift")
    if (d.get("mlflow") or {}).get("warning"):  # the list was written; only the MLflow series misses a point
        console.print(f"[yellow]Warning:[/yellow] {escape(d['mlflow']['warning'])}", highlight=False)
    if d["level"] not in ("ok", "watch", "alert"):
        console.print(f"[dim]Drift: {escape(d['message'])}[/dim]", highlight=False)
        return
    if d["level"] == "ok":
        console.print(
            f"Drift: [green]ok[/green], score PSI {d['score_psi']:.3f} and the top features below "
            f"{d['thresholds']['watch']:g}" + (f" (table: {where})" if where else ""),
            highlight=False,
        )
        return
    colour = "red" if d["level"] == "alert" else "yellow"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    show_missing = any(r["missing_then"] or r["missing_now"] for r in d["worst"])
    columns = ("feature", "PSI", "level", "unseen", *(("missing",) if show_missing else ()), "largest shift")
    for col in columns:
        table.add_column(col, justify="right" if col in ("PSI", "unseen") else "left", no_wrap=col != "largest shift")
    named = d.get("named", {})  # folded activity types, in the export's words
    for r in d["worst"]:
        name = named.get(r["feature"], r["feature"])
        cells = [
            f"[bold]{escape(name)}*[/bold]" if r["top"] else escape(name),
            f"{r['psi']:.2f}",
            f"[{colour if r['level'] == d['level'] else 'default'}]{r['level']}[/]",
            "-" if r["unseen_now"] is None else f"{r['unseen_now']:.0%}",
        ]
        if show_missing:
            cells.append("-" if r["missing_then"] is None else f"{r['missing_then']:.0%} -> {r['missing_now']:.0%}")
        table.add_row(*cells, escape(r["largest_shift"]))
    top = ", ".join(f"{named.get(f, f)} {p:.2f}" for f, p in d["top_features"].items())
    lines = [
        f"[bold]{escape(d['message'])}[/bold]",
        f"Score PSI {d['score_psi']:.3f} ({d['score_level']}); top features (*): {escape(top)}; "
        f"watch at {d['thresholds']['watch']:g}, alert at {d['thresholds']['alert']:g}.",
        f"Compared with {d['reference']}.",
    ]
    others = [r for r in d["worst"] if not r["top"] and r["level"] == "alert"]
    if d["other_alerts"] and d["level"] == "alert":
        names = ", ".join(f"{named.get(r['feature'], r['feature'])} {r['psi']:.2f}" for r in others[:5])
        more = len(d["other_alerts"]) - len(others[:5])
        lines.append(escape(f"Also drifted (not top features): {names}" + (f" and {more} more" if more else "")))
    if where:
        lines.append(f"Every feature: {where}")
    if "monitor_run_id" in d.get("mlflow", {}):
        m = d["mlflow"]
        lines.append(f"MLflow: run drift-monitor ({m['monitor_run_id'][:8]}), check {m['step'] + 1} of its series")
    if d["level"] == "alert":
        lines.append("Check the export and the features above before trusting this list's scores.")
    title = "[bold]DRIFT ALERT[/bold]" if d["level"] == "alert" else "[bold]Drift watch[/bold]"
    console.print(
        Panel(Group(*lines, table), title=title, title_align="left", border_style=f"bold {colour}"),
        highlight=False,
    )


def _print_mlflow(s: dict) -> None:
    from models.tracking import is_tracking_server

    uri = s["mlflow"]["tracking_uri"]
    where = (
        f"Open the UI at [bold]{uri}[/bold]"  # a tracking server serves its own UI
        if is_tracking_server(uri)
        else f"Open the UI with: [bold]{Path(sys.executable).parent / 'mlflow'} ui --backend-store-uri {uri}[/bold]"
    )
    console.print(f"MLflow: experiment '{s['mlflow']['experiment']}', run {s['mlflow']['run_id'][:8]}. {where}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="folder for leads.csv, activities.csv and truth.csv")],
    leads: Annotated[int, typer.Option(help="number of MQLs", min=10)] = 20_000,
    months: Annotated[int, typer.Option(help="months of history before the export", min=2)] = 12,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same files")] = 7,
    style: Annotated[
        str,
        typer.Option(
            help="shape of the export: leadscore (the project's own), hubspot (English names with spaces and ':', "
            "ISO dates with Z, activity types such as 'Page View: Pricing'), excel-es (what Spanish Excel saves: "
            "';', Windows-1252, dd/mm/yyyy dates, decimal comma, Spanish headers), relational (leads, contacts, "
            "accounts and three event tables: email_events, web_sessions with page counts, engagements); the same "
            "leads and truth.csv"
        ),
    ] = "leadscore",
    gzip: Annotated[
        bool, typer.Option("--gzip", help="write gzipped files (leads.csv.gz...), read just the same")
    ] = False,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="write a partitioned export for `score --dask` instead: leads/, activities/ and truth/ folders of "
            "N Parquet files co-partitioned by lead, each partition an independent history of --leads/N leads "
            "(seed + partition number), generated in parallel on the machine's cores",
            min=1,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic B2B CRM export (Spain and Latin America) with its true conversion probabilities.

    --style writes the same history in the shape of another export (HubSpot, a Spanish Excel save, a
    relational CRM), to try init-config on: truth.csv keeps the export's lead ids.
    """
    from features.synthetic import generate as gen
    from serving.output import atomic_write

    if partitions:
        from features.partitions import write_synthetic_partitions

        def split() -> dict:
            if style != "leadscore":
                from features.contract import ContractError

                raise ContractError("--partitions writes the leadscore style only; drop --style or --partitions")
            with console.status(f"Generating {partitions:,} partitions...") if not as_json else nullcontext():
                made = write_synthetic_partitions(
                    out, leads=leads, partitions=partitions, months=months, seed=seed, processes=os.cpu_count() or 1
                )
            return {"status": "ok", **made}

        s = _run(as_json, split)
        if not as_json:
            console.print(
                f"Wrote {s['leads']:,} leads and {s['activities']:,} activities in {s['partitions']:,} partitions "
                f"to {out}/leads and {out}/activities (true probabilities in {out}/truth)."
            )
        return

    def body() -> dict:
        from features.contract import ContractError
        from features.styles import STYLES

        if style not in STYLES:
            raise ContractError(f"--style {style!r} is not one of {', '.join(STYLES)}")
        with console.status("Generating the CRM history...") if not as_json else nullcontext():
            crm = gen(leads, months, seed)
        files = {}
        ext = ".csv.gz" if gzip else ".csv"
        for stem, f in STYLES[style](crm).items():
            name, gz = f"{stem}{ext}", "gzip" if gzip else None
            files[name] = str(
                atomic_write(
                    out / name,
                    lambda tmp, f=f, gz=gz: f.frame.to_csv(
                        tmp, index=False, compression=gz, sep=f.sep, encoding=f.encoding
                    ),
                )
            )
        return {
            "status": "ok",
            "files": files,
            "leads": len(crm.leads),
            "activities": len(crm.activities),
            "sql_rate": float(crm.truth["converted"].mean()),
            "export_at": str(crm.export_at),
            "open_leads": len(crm.open_ids()),
            "bayes_auc_open": crm.bayes_auc_open(),
        }

    s = _run(as_json, body)
    if not as_json:
        console.print(
            f"Wrote {s['leads']:,} leads and {s['activities']:,} activities to {out} "
            f"(export moment {s['export_at']}, SQL rate {_pct(s['sql_rate'])})."
        )
        console.print(
            f"{s['open_leads']:,} open leads; Bayes AUC on them (true probability): "
            f"[bold]{s['bayes_auc_open']:.4f}[/bold]"
        )


@app.command()
def weekly(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    capacity: CapacityOpt = None,
    no_cache: NoCacheOpt = False,
    fail_on_drift: FailOnDriftOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """The whole weekly job: validate, features, train, gate, score the open leads, publish the list.

    The list goes to <workspace>/lists/latest.csv (and .parquet), with a dated copy under lists/archive/;
    the threshold review page beside it (latest_review.html, Spanish latest_review_es.html), also logged
    to MLflow with the run. Leads on last week's list get their previous score and trend. The open leads
    are compared with the scoring model's training window (drift: lists/latest_drift.csv, MLflow); an
    alert is printed in a red block and ends the Prefect run in the DriftAlert state.
    """
    _environment()
    from pipelines.flows import weekly_flow

    settings = _without_cache(_settings(workspace), no_cache)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or _locked(
                settings,
                "weekly",
                lambda: _timed(weekly_flow, settings)(leads, activities, config, settings, as_of, capacity),
            )
        ),
    )
    if not as_json:
        if s["status"] == "persona_rule":
            console.rule("[bold]leadscore summary")
            _print_warnings(s)
            console.print(f"[bold yellow]No model this week:[/bold yellow] {s['training']}", highlight=False)
            console.print("The list below is ranked by the persona rule: score = % of its conditions met.")
        else:
            _print_training(s)
        _print_list(s)
        _print_features(s)
        _print_drift(s)
        if s["status"] != "persona_rule":
            _print_mlflow(s)
        console.print(f"Done in {s['elapsed_s']:.0f} s.")
    _exit_on_drift(s, fail_on_drift)


def _require_dask(as_json: bool) -> None:
    """``--dask`` without the optional extra: one line saying what to install, exit code 2."""
    from models.distributed import DaskMissing, require_dask

    try:
        require_dask()
    except DaskMissing as exc:
        if as_json:
            print(json.dumps({"status": "error", "error": str(exc), "kind": "DaskMissing"}))
        else:
            console.print(f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def train(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    no_cache: NoCacheOpt = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="train with lightgbm.dask on the Dask scheduler at this address (tcp://host:8786), or 'local' "
            "for a cluster on this machine; needs pip install 'leadscore\\[dask]'. Trees are close to, not "
            "identical with, single-process training, and there is no model search: the default LightGBM is the "
            "model (see README)",
            show_default="single process, with the model search",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train and evaluate a model, log it to MLflow and register it; the gate decides if it is champion.

    The model is chosen on the calibration window among LightGBM settings, a logistic regression and their
    blends (tuned on its older half, compared on its newer half), within LEADSCORE_TRAIN__SEARCH_BUDGET_SECONDS.
    """
    _environment()
    if dask:
        _require_dask(as_json)
    from pipelines.flows import train_flow

    settings = _without_cache(_settings(workspace), no_cache)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or _locked(
                settings,
                "train",
                lambda: _timed(train_flow, settings)(leads, activities, config, settings, as_of, dask),
            )
        ),
    )
    if not as_json:
        _print_training(s)
        _print_features(s)
        _print_mlflow(s)


@app.command()
def backtest(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    weeks: Annotated[
        int, typer.Option(help="past weeks to replay, the most recent ones whose outcomes are all known", min=1)
    ] = 12,
    capacity: Annotated[
        int | None,
        typer.Option(
            help="leads the SDR team works a week: SQLs are counted among each week's best N",
            min=1,
            show_default="LEADSCORE_CAPACITY, else 20% of the median weekly MQL volume",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay past weeks as if `weekly` had run each Monday, and compare its ranking with what happened.

    Each Monday's model is trained on what was known then (later SQL dates and MQLs unknown) and ranks
    the MQLs of the following seven days; per week: MQLs, SQLs, the model's and the persona rule's AUC,
    the SQLs each puts in the week's top --capacity, and the SQLs the model expected. Weeks younger than
    the horizon are not replayed. Nothing is registered and no list changes; the table is written to
    <workspace>/backtest/backtest_<UTC time>.csv (and .json).
    """
    _environment()
    from pipelines.flows import backtest_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, workspace=settings.workspace)
            or _timed(backtest_flow, settings)(leads, activities, config, settings, weeks, capacity)
        ),
    )
    if not as_json:
        _print_backtest(s)


def _n(x: float | None) -> str:
    """SQL counts: whole numbers as such, the persona rule's shared ties with one decimal."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def _print_backtest(s: dict) -> None:
    from models.backtest import STATUS_TEXT

    t, cap = s["total"], s["capacity"]["leads"]
    console.rule("[bold]leadscore back-test")
    _print_warnings(s)
    console.print(
        f"{t['weeks']} weeks replayed as if `leadscore weekly` had run each Monday (export ends {s['export_end']}); "
        f"capacity {cap:,} leads a week"
        + ("" if s["capacity"]["source"] == "given" else f" ({s['capacity']['source']}; set --capacity)"),
        highlight=False,
    )
    table = Table(
        title="Each Monday's model on the next week's MQLs, against what happened",
        collapse_padding=True,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    flagged = any(w["status"] != "model" for w in s["weeks"])
    heads = ["Week of", "MQLs", "SQLs", "AUC\nmodel", "AUC\npersona"]
    heads += [f"top {cap:,}\nmodel", f"top {cap:,}\npersona", f"top {cap:,}\nrandom", "SQLs\nexpected"]
    for col in heads + ([""] if flagged else []):
        table.add_column(col, justify="left" if col in ("Week of", "") else "right", no_wrap=True)

    def auc(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    def row(label: str, w: dict, model_sqls, expected, status: list[str]) -> None:
        table.add_row(
            label,
            f"{w['mqls']:,}",
            f"{w['sqls']:,}",
            auc(w["median_model_auc" if "median_model_auc" in w else "model_auc"]),
            auc(w["median_persona_auc" if "median_persona_auc" in w else "persona_auc"]),
            _n(model_sqls),
            _n(w["persona_sqls_in_capacity"]),
            _n(round(w["random_sqls_in_capacity"], 1)),
            "-" if expected is None else f"{expected:,.1f}",
            *status,
        )

    for w in s["weeks"]:
        row(
            w["week_of"],
            w,
            w["model_sqls_in_capacity"],
            w["model_expected_sqls"],
            [STATUS_TEXT[w["status"]]] if flagged else [],
        )
    mw = t["model_weeks"]
    table.add_section()
    row("total", t, mw["model_sqls_in_capacity"], mw["expected_sqls"], [""] if flagged else [])
    console.print(table)
    console.print(
        f"[dim]AUC: chance a week's SQL is ranked above its non-SQL (0.5 = a coin toss); total row: the median "
        f"week. top {cap:,}: SQLs among the {cap:,} best-ranked MQLs of the week (persona rule: leads tied on "
        "its score share out at random); random: what as many leads picked at random would hold. SQLs "
        "expected: the sum of the model's calibrated scores over the week's MQLs, to set against SQLs.[/dim]"
    )
    if t["weeks_with_model"]:
        gain = mw["gain_over_persona"]
        console.print(
            f"In the {t['weeks_with_model']} week(s) with a model, its top {cap:,} held "
            f"{_n(mw['model_sqls_in_capacity'])} SQLs against the persona rule's {_n(mw['persona_sqls_in_capacity'])}"
            + ("" if gain is None else f" ({gain:+.0%})")
            + f"; the model found more in {mw['model_ahead']} week(s), fewer in {mw['persona_ahead']}, as many in "
            f"{mw['level']}. It expected {mw['expected_sqls']:,.1f} SQLs among those weeks' MQLs; "
            f"{mw['actual_sqls']:,} happened.",
            highlight=False,
        )
    console.print(
        f"The persona rule's own list (leads meeting all its conditions) held {t['persona_passed']:,} leads, "
        f"{t['persona_passed_sqls']:,} of them SQLs, over the {t['weeks']} weeks.",
        highlight=False,
    )
    for w in s["weeks"]:
        if w["status"] in ("persona_rule", "leak_alarm"):
            console.print(
                f"[bold yellow]Week of {w['week_of']}:[/bold yellow] {STATUS_TEXT[w['status']]}: "
                f"{w['note'].split(';')[0]}",
                highlight=False,
            )
    if s["not_mature"]:
        console.print(
            f"Not replayed: the {len(s['not_mature'])} most recent week(s) (of {', '.join(s['not_mature'])}): "
            f"{s['not_mature_note']}."
        )
    if t["weeks"] < s["weeks_asked"]:
        console.print(f"Only {t['weeks']} of the {s['weeks_asked']} weeks asked for lie within the export.")
    console.print(
        f"Table: [bold]{s['files']['csv']}[/bold] (summary: {s['files']['json']}). Done in {s['elapsed_s']:.0f} s."
    )


@app.command()
def score(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="list file (.csv); .parquet, _rejects.csv and _summary.json go beside it")],
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    workspace: WorkspaceOpt = None,
    capacity: CapacityOpt = None,
    fail_on_drift: FailOnDriftOpt = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="score a partitioned export on a Dask cluster: 'local' starts one on this machine, or give a "
            "scheduler address (tcp://host:8786). --leads and --activities are then folders of Parquet files "
            "co-partitioned by lead (same file names), and --out a folder: one list file per partition, "
            "_rejects.csv, _summary.json. Same rows, scores, ranks and reasons as one process; no trend, "
            "capacity or drift check. Needs the dask extra: pip install 'leadscore\\[dask]'",
            show_default="off: one process",
        ),
    ] = None,
    dask_workers: Annotated[int, typer.Option(help="with --dask local: worker processes (one thread each)", min=1)] = 2,
    dask_memory: Annotated[
        str, typer.Option(help="with --dask local: memory limit per worker; a worker above it is restarted")
    ] = "2GB",
    as_json: JsonOpt = False,
) -> None:
    """Score every valid lead in a file: rank, calibrated score 0-100, tier A-D, top 3 reasons.

    A list already at --out is read first: leads on it get their previous score and trend. The leads are
    compared with the model's training window (drift: <out stem>_drift.csv beside the list, MLflow).
    With --dask, a partitioned export is scored on a Dask cluster instead (see --dask).
    """
    _environment()
    if dask:
        _score_on_dask(dask, leads, activities, out, model, config, workspace, dask_workers, dask_memory, as_json,
                       capacity=capacity, fail_on_drift=fail_on_drift)  # fmt: skip
        return
    from pipelines.flows import score_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or _locked(
                settings,
                "score",
                lambda: _timed(score_flow, settings)(leads, activities, out, settings, model, config, capacity),
                create=False,
            )
        ),
    )
    if not as_json:
        _print_warnings(s)
        console.print(f"Scored with {s['model']} (v{s['model_version']}), tier cut-offs {s['tier_cutoffs']}")
        _print_list(s)
        _print_drift(s)
    _exit_on_drift(s, fail_on_drift)


def _score_on_dask(
    address, leads, activities, out, model, config, workspace, workers, memory, as_json, *, capacity, fail_on_drift
) -> None:
    """`score --dask`: resolve the model here, score the partitions on the cluster, print the summary."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    settings = _settings(workspace)
    # the cluster's own INFO lines (workers starting, closing) are not ours; workers inherit the environment
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")

    def body() -> dict:
        from features.config import DatasetConfig, load_config
        from features.partitions import find_partitions
        from models import tracking as trk
        from pipelines.progress import step
        from serving import distributed as dist

        t0 = time.perf_counter()
        if capacity or fail_on_drift:
            raise dist.DistributedError("--capacity and --fail-on-drift are not available with --dask")
        partitions = find_partitions(leads, activities)
        _preflight(config, settings=settings)
        cfg = load_config(config) if config else None
        tracking = settings.tracking(cfg.name if cfg else "default")
        with step("Loading the model"):
            resolved = trk.resolve(tracking, model)
        # by default, features are built with the dataset config saved inside the model
        cfg = cfg or DatasetConfig.model_validate(resolved.scorer.extra["dataset_config"])
        with step(
            f"Starting a local Dask cluster ({workers} workers)" if address == "local" else f"Connecting to {address}"
        ):
            client = dist.connect(address, workers=workers, memory_limit=memory)
        try:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, disable=as_json,
            ) as bar:  # fmt: skip
                passes: dict[str, int] = {}

                def advance(label: str, done: int, total: int) -> None:
                    if label not in passes:
                        passes[label] = bar.add_task(label, total=total)
                    bar.update(passes[label], completed=done)

                summary = dist.score_partitions(
                    client,
                    partitions,
                    out,
                    model=resolved.scorer,
                    cutoffs=resolved.tier_cutoffs,
                    model_version=resolved.version,
                    config=cfg,
                    reasons_limit=settings.reasons_limit,
                    progress=advance,
                )
        finally:
            client.close()
            if address == "local":
                client.cluster.close()
        elapsed = time.perf_counter() - t0
        return {
            **summary,
            "model": resolved.uri,
            "dask": {**summary["dask"], "address": address},
            "elapsed_s": round(elapsed, 1),
            "leads_per_s": round(summary["list"]["rows"] / elapsed),
        }

    s = _run(as_json, body)
    if as_json:
        return
    _print_rows_in(s)
    console.print(f"Scored with {s['model']} (v{s['model_version']}), tier cut-offs {s['tier_cutoffs']}")
    tiers = ", ".join(f"{t}: {n:,}" for t, n in s["list"]["tiers"].items())
    d = s["dask"]
    console.print(
        f"List: {s['list']['rows']:,} leads scored ({tiers}) in {d['partitions']:,} partitions -> "
        f"[bold]{s['files']['list']}[/bold]; rejects: {s['files']['rejects']}"
    )
    peak = max(d["peak_rss_mb_by_worker"].values(), default=0)
    console.print(
        f"Dask ({d['address']}, {d['workers']} workers): {s['elapsed_s']} s, {s['leads_per_s']:,} leads/s; "
        f"peak memory of a worker {peak:,.0f} MB"
    )


@app.command()
def features(
    leads: LeadsOpt,
    out: Annotated[
        Path,
        typer.Option(
            help="file to write: the feature table (.parquet), or with --format json the request body (.json); "
            "rejects go beside it"
        ),
    ],
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="parquet: the training table with each lead's state and label; json: every valid lead's "
            "model input rows as the body of POST /invocations for `mlflow models serve` "
            '({"dataframe_split": ...}, lead ids in its index, no label). Use the config the model was trained with',
        ),
    ] = "parquet",
    as_json: JsonOpt = False,
) -> None:
    """Build the point-in-time feature table (with each lead's state and label) without training.

    With --format json, write the same rows as a request body for online scoring, e.g.
    curl -H "Content-Type: application/json" --data @rows.json http://127.0.0.1:5001/invocations
    """
    _environment()
    from features.contract import ContractError
    from pipelines.flows import build_features_flow, serving_rows_flow

    def body() -> dict:
        if fmt not in ("parquet", "json"):
            raise ContractError(f"--format must be parquet or json, got {fmt!r}")
        _preflight(config, leads, activities)
        if fmt == "json":
            return serving_rows_flow(leads, activities, config, out)
        return build_features_flow(leads, activities, config, out)

    s = _run(as_json, body)
    if not as_json:
        _print_warnings(s)
        console.print(
            f"{s['columns']} features for {s['inputs']['leads_in'] - s['inputs']['leads_rejected']:,} "
            f"leads -> {s['features']} (rejects: {s['rejects']})"
        )


@app.command("init-config")
def init_config(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="where to write the proposed config (TOML)")],
    activities: ActsOpt = None,
    related: Annotated[
        list[Path] | None,
        typer.Option(
            "--related",
            help="another table of the export (contacts, accounts, email events, web sessions...); repeat it for "
            "each. The keys between tables are found by their values: a table with one row per key becomes a "
            "lookup joined onto the leads, a dated table with many rows per key an event table",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="dataset name", show_default="the file name of --out")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out if it exists")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read an export and write a starting dataset config, with a field audit for a person to confirm.

    Sniffs each file on its own (encoding, separator), reads decimal commas, thousands separators and
    date formats (day-first or month-first) from the values, and guesses each column's role from its
    values first, its name (English, Spanish, Portuguese) second: the MQL date, the outcome (an SQL/won
    date with a horizon from the data, or a status column), personal data as pii, bands as categories,
    job titles as text. Columns the leak audit finds suspicious start as exclude, with the evidence.
    The written config runs unedited; only the persona rule is a placeholder.
    """
    from pipelines.onboarding import init_config as run_init

    def body() -> dict:
        from features.contract import ContractError

        _preflight(None, leads, activities)
        for path in related or []:
            if not path.is_file():
                raise ContractError(f"{path}: file not found (--related)")
        if out.exists() and not force:
            raise ContractError(f"{out} exists; pass --force to overwrite it")
        with console.status("Reading the export and auditing its columns...") if not as_json else nullcontext():
            return run_init(leads, activities, out, name=name, related=related or [])

    s = _run(as_json, body)
    if not as_json:
        console.print(
            f"Read {s['rows']:,} rows, {s['columns']} columns. Roles: "
            + ", ".join(f"{n} {r}" for r, n in sorted(s["roles"].items()))
        )
        console.print(f"Outcome: {s['outcome']}; time: {s['time']}")
        for line in s.get("related", []):
            console.print(f"Related: {line}", highlight=False)
        if s["pii"]:
            console.print(f"Personal data (pii: on the list, never a feature, never logged): {', '.join(s['pii'])}")
        for sus in s["suspects"]:
            console.print(
                f"[bold yellow]Suspected leak, set to exclude:[/bold yellow] {sus['column']}: {sus['evidence']}",
                highlight=False,
            )
        for why in s["to_check"]:
            console.print(f"[yellow]Check:[/yellow] {why}")
        console.print(
            f"Wrote [bold]{s['config']}[/bold]. Review every role, the persona rule (a placeholder) "
            "and the field audit, then run `leadscore train`."
        )


@app.command()
def report(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="the page to write (.html), one self-contained file")],
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    lang: Annotated[str, typer.Option(help="language of the page: en or es")] = "en",
    minutes_per_lead: Annotated[
        float | None,
        typer.Option(help="starting minutes an SDR spends per lead", min=0, show_default="15, or the setting"),
    ] = None,
    cost_per_hour: Annotated[
        float | None,
        typer.Option(help="starting cost of an SDR hour", min=0, show_default="30, or the setting"),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Marketing's threshold review page for a model, on its validation window rebuilt from the export.

    The window is split from the export as training splits it (the newest mature leads); the page shows
    the model version's current tier cut-offs.
    """
    _environment()
    from features.contract import ContractError
    from pipelines.flows import report_flow

    settings = _settings(workspace)
    update = {
        k: v for k, v in {"minutes_per_lead": minutes_per_lead, "cost_per_hour": cost_per_hour}.items() if v is not None
    }
    settings = settings.model_copy(update=update)

    def body() -> dict:
        if lang not in ("en", "es"):
            raise ContractError(f"--lang must be en or es, got {lang!r}")
        _preflight(config, leads, activities, settings=settings)
        return _timed(report_flow, settings)(leads, activities, out, settings, model, config, lang)

    s = _run(as_json, body)
    if not as_json:
        w = s["window"]
        src = {"measured": "measured", "setting": "from the settings", "window": "no dates: per window"}
        console.print(
            f"Review of {s['model']} (v{s['model_version']}) on {w['leads']:,} validation leads ({w['sqls']:,} SQLs), "
            f"AUC {s['auc']:.3f}, {s['weekly_mql_volume']:,.0f} MQLs a week ({src[s['weekly_mql_volume_source']]})."
        )
        _print_tradeoffs(s["tier_cutoffs"], s["at_current_cutoffs"])
        console.print(f"Wrote [bold]{s['page']}[/bold]")


def _print_tradeoffs(cutoffs: dict, refs: dict) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("SDRs work", "cut-off", "leads/wk", "SQLs/wk", "SQL rate", "SQLs found", "SDR h/wk", "cost/SQL"):
        table.add_column(col, justify="left" if col == "SDRs work" else "right", no_wrap=True)
    names = {"A": "tier A", "B": "tiers A-B", "C": "tiers A-C", "persona_rule": "persona rule", "all": "every MQL"}

    def f(x, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for rule, r in refs.items():
        table.add_row(
            names[rule],
            f(cutoffs.get(rule), "g") if rule in "ABC" else "",
            f(r["leads_per_week"], ",.0f"),
            f(r["sqls_per_week"], ",.1f"),
            "-" if r["sql_rate_passed"] is None else _pct(r["sql_rate_passed"]),
            "-" if r["share_captured"] is None else _pct(r["share_captured"]),
            f(r["sdr_hours_per_week"], ",.1f"),
            f(r["cost_per_sql"], ",.2f"),
        )
    console.print(table)


thresholds_app = typer.Typer(
    help="Tier cut-offs as a versioned decision on the model version: show, propose for a capacity, set.",
    no_args_is_help=True,
)
app.add_typer(thresholds_app, name="thresholds")


def _registry(settings):
    """The tracking store to read cut-offs from; refuses a workspace without one instead of creating it."""
    from features.contract import ContractError
    from models.tracking import check_reachable

    uri = settings.resolved_tracking_uri()
    check_reachable(uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise ContractError(
            f"no MLflow store at {uri.removeprefix('sqlite:///')}: train a model first (`leadscore weekly`), "
            "or pass the --workspace it was trained in"
        )
    return settings.tracking("default")


def _print_record(r: dict) -> None:
    cur = r["current"]
    aliases = f" ({', '.join(r['aliases'])})" if r["aliases"] else ""
    console.print(
        f"{r['model']}{aliases}: A >= {cur['cutoffs']['A']:g}, B >= {cur['cutoffs']['B']:g}, "
        f"C >= {cur['cutoffs']['C']:g}, D below; set by {cur['by']} at {cur['at']}: {cur['note']}",
        highlight=False,
    )
    console.print(f"History ({len(r['history'])}, oldest first):")
    for h in r["history"]:
        c = h["cutoffs"]
        console.print(
            f"  {h['at']}  A {c['A']:g} / B {c['B']:g} / C {c['C']:g}  by {h['by']}: {h['note']}", highlight=False
        )


@thresholds_app.command("show")
def thresholds_show(model: ModelOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The model version's current tier cut-offs (who set them, when, why) and their history."""
    _environment()
    from models.tracking import cutoff_record

    settings = _settings(workspace)
    s = _run(as_json, lambda: {"status": "ok", **cutoff_record(_registry(settings), model)})
    if not as_json:
        _print_record(s)


@thresholds_app.command("propose")
def thresholds_propose(
    capacity: Annotated[float, typer.Option(help="leads the SDR team can work per week", min=1)],
    leads: LeadsOpt,
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose A-D cut-offs that fill --capacity leads a week with the best-scored leads; changes nothing.

    C is the lowest cut-off passing at most the capacity per week on the model's validation window
    (weekly MQL volume x share at or above it); B and A fill 60% and 25% of it. Apply with `thresholds set`.
    """
    _environment()
    from pipelines.flows import propose_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or _timed(propose_flow, settings)(leads, activities, capacity, settings, model, config)
        ),
    )
    if not as_json:
        p = s["proposed"]
        console.print(
            f"For {s['capacity']:g} leads a week at {s['weekly_mql_volume']:,.0f} MQLs a week "
            f"({s['weekly_mql_volume_source']}), on {s['window']['leads']:,} validation leads of {s['model']}:"
        )
        console.print(f"Proposed: A >= {p['A']:g}, B >= {p['B']:g}, C >= {p['C']:g} (rule: {s['rule']})")
        _print_tradeoffs(p, s["at_proposed"])
        c = s["current"]
        console.print(f"Current: A >= {c['A']:g}, B >= {c['B']:g}, C >= {c['C']:g}")
        _print_tradeoffs(c, s["at_current"])
        console.print(
            f"To apply: leadscore thresholds set A={p['A']:g} B={p['B']:g} C={p['C']:g} --by NAME --note "
            f'"capacity {s["capacity"]:g}/week"' + (f" --model {model}" if model else "")
        )


def _parse_cutoffs(pairs: list[str]) -> dict[str, float]:
    from models.tracking import CutoffError

    out: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().upper()
        if not sep or key not in ("A", "B", "C"):
            raise CutoffError(f"write cut-offs as A=.. B=.. C=.., got {pair!r}; nothing was changed")
        if key in out:
            raise CutoffError(f"cut-off {key} given twice; nothing was changed")
        try:
            out[key] = float(value)
        except ValueError:
            raise CutoffError(f"cut-off {key} must be a number, got {value!r}; nothing was changed") from None
    return out


@thresholds_app.command("set")
def thresholds_set(
    cutoffs: Annotated[list[str], typer.Argument(help="the new cut-offs, e.g. A=40 B=25 C=12 (decreasing, 0-100)")],
    by: Annotated[str, typer.Option(help="who decides (kept in the history)")],
    note: Annotated[str, typer.Option(help="why (kept in the history)")],
    model: ModelOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store new tier cut-offs on the model version, with who, when and why; the next scoring run uses them.

    Refused, with nothing changed, unless A > B > C within 0-100.
    """
    _environment()
    from models.tracking import set_cutoffs

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: _locked(
            settings,
            "thresholds set",
            lambda: {
                "status": "ok",
                **set_cutoffs(_registry(settings), _parse_cutoffs(cutoffs), by=by, note=note, uri=model),
            },
            create=False,
        ),
    )
    if not as_json:
        console.print("[green]Stored.[/green] The next scoring run uses them.")
        _print_record(s)


def _print_serve_event(e: dict, cron: str, timezone: str) -> None:
    if e["event"] == "waiting":
        due = datetime.fromisoformat(e["next_run"])
        console.print(
            f"Next run: [bold]{due:%a %Y-%m-%d %H:%M:%S %Z}[/bold] (cron '{cron}', {timezone}). Ctrl-C stops.",
            highlight=False,
        )
        return
    if e["status"] == "error":
        console.print(
            f"[bold red]Run of {e['scheduled_for']} failed:[/bold red] {e['error']}", markup=True, highlight=False
        )
        return
    s = e["summary"]
    lst = s.get("list", {})
    what = (
        f"{lst['rows']:,} leads listed -> {s['files']['csv']}" if s.get("files") else lst.get("note", "no list written")
    )
    model = (
        f"registry v{s['gate']['version']}: {s['gate']['reason']}"
        if "gate" in s
        else f"no model this week, persona rule ({s.get('training', '').split(':')[0]})"
    )
    console.print(
        f"[green]Run of {e['scheduled_for']} done[/green] in {e['elapsed_s']:.0f} s: {what}; {model}; "
        f"features {s.get('features', {}).get('cache', 'built')}",
        highlight=False,
    )
    if e.get("drift"):
        _print_drift(s)


@app.command()
def serve(
    leads: Annotated[
        Path | None,
        typer.Option(
            help="leads export each run reads (replace the file between runs)", show_default="LEADSCORE_SCHEDULE__LEADS"
        ),
    ] = None,
    activities: Annotated[
        Path | None,
        typer.Option(help="activities export each run reads", show_default="LEADSCORE_SCHEDULE__ACTIVITIES"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="dataset config (TOML) mapping the export",
            show_default="LEADSCORE_SCHEDULE__CONFIG, else data/configs/synthetic.toml",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    capacity: CapacityOpt = None,
    cron: Annotated[
        str | None,
        typer.Option(
            help="when to run: minute hour day-of-month month day-of-week (a sixth field, seconds, is accepted)",
            show_default="'0 6 * * 1' (Monday 06:00), or LEADSCORE_SCHEDULE__CRON",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA time zone the cron is read in, e.g. America/Bogota",
            show_default="Europe/Madrid, or LEADSCORE_SCHEDULE__TIMEZONE",
        ),
    ] = None,
    max_runs: Annotated[
        int | None,
        typer.Option(
            help="stop after this many runs (exit code 2 if one failed)", min=1, show_default="run until stopped"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print each event (next run, run summary or error) as one JSON line")
    ] = False,
) -> None:
    """Keep the weekly schedule in this process, with no Prefect server: run `weekly` each time the cron is due.

    Each run reads the files afresh, so replace them between runs. A failed run is reported in one line
    and the schedule goes on; a time missed while the process was down is not made up. With a Prefect
    server, deploy prefect.yaml instead (see the README); with PREFECT_API_URL set, serve's runs show there too.
    """
    _environment()
    from pydantic import ValidationError

    from features.config import ConfigError
    from pipelines import progress
    from pipelines.schedule import scheduled_inputs, scheduled_weekly
    from pipelines.schedule import serve as serve_loop
    from pipelines.settings import ScheduleSettings

    settings = _settings(workspace)
    cron = cron or settings.schedule.cron
    timezone = timezone or settings.schedule.timezone

    def check():
        try:
            ScheduleSettings(cron=cron, timezone=timezone)
        except ValidationError as exc:
            raise ConfigError(
                "; ".join(f"--{e['loc'][0]}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            ) from None
        inputs = scheduled_inputs(settings, leads, activities, config)
        _preflight(inputs.config, inputs.leads, inputs.activities, workspace=settings.workspace)
        return inputs

    inputs = _run(as_json, check, print_json=False)  # errors as usual; the events below are the output
    progress.enable(None if as_json else console)

    def report(event: dict) -> None:
        if as_json:
            print(json.dumps(event, default=str), flush=True)
        else:
            _print_serve_event(event, cron, timezone)

    def one_run() -> dict:
        return scheduled_weekly(
            leads=inputs.leads,
            activities=inputs.activities,
            config=inputs.config,
            workspace=settings.workspace,
            capacity=capacity,
        )

    try:
        failures = serve_loop(one_run, cron=cron, timezone=timezone, max_runs=max_runs, report=report)
    except KeyboardInterrupt:
        console.print("Stopped.")
        return
    if failures:
        raise typer.Exit(2)


# ---------------------------------------------------------------------------------------------------
# the registry: list the versions, roll the champion back


def _store_missing(settings) -> str | None:
    """The SQLite file a local store would be, if it does not exist (opening it would create it)."""
    uri = settings.resolved_tracking_uri()
    path = Path(uri.removeprefix("sqlite:///"))
    return str(path) if uri.startswith("sqlite:///") and not path.is_file() else None


def _window(w: dict) -> str:
    if "first_mql" in w:
        return f"{w['first_mql'][:10]} to {w['last_mql'][:10]}"
    return f"{w['rows']} leads" if "rows" in w else "-"


@app.command("models")
def models_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every registered model version, newest first: holdout metrics, aliases, tier cut-offs, data windows,
    the gate's decision and rollbacks.

    Reads only: a workspace with no MLflow store says there are no models and creates nothing.
    """
    _environment()
    from models.tracking import check_reachable, display_uri, list_versions

    settings = _settings(workspace)

    def body() -> dict:
        check_reachable(settings.resolved_tracking_uri())  # a server that is down: one line, exit 2
        missing = _store_missing(settings)
        if missing:
            return {
                "status": "ok",
                "model": settings.model_name,
                "versions": [],
                "champion_history": [],
                "hold": None,
                "note": f"no MLflow store at {missing}: no models yet (train one with `leadscore weekly`)",
            }
        return {
            **list_versions(settings.tracking("default")),
            "tracking_uri": display_uri(settings.resolved_tracking_uri()),
        }

    s = _run(as_json, body)
    if as_json:
        return
    if not s["versions"]:
        console.print(s.get("note") or f"No versions of model '{s['model']}' yet (train one with `leadscore weekly`).")
        return
    datasets = {v["dataset"] for v in s["versions"]}
    one = f", dataset '{datasets.pop()}'" if len(datasets) == 1 else ""
    table = Table(
        title=f"Model '{s['model']}'{one}: metrics on each version's own holdout (its newest mature MQLs)",
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
    for v in s["versions"]:
        m, cut, train = v["metrics"], v["tier_cutoffs"], v["windows"].get("train", {})
        table.add_row(
            v["version"],
            "\n".join(v["aliases"] + (["rolled back"] if v["rolled_back"] else [])),
            v["created"][:10],
            *([] if one else [v["dataset"]]),
            f"{m['roc_auc']:.3f}" if "roc_auc" in m else "-",
            f"{m['ece']:.3f}" if "ece" in m else "-",
            f"{cut['A']:g}/{cut['B']:g}/{cut['C']:g}" if cut else "-",
            train.get("last_mql", "-")[:10],
            _window(v["windows"].get("holdout", {})),
            v["gate_rule"] or v["gate_decision"].split(":")[0],
        )
    console.print(table)
    for v in s["versions"]:
        if v["rolled_back"]:
            r = v["rolled_back"]
            console.print(
                f"v{v['version']} rolled back to v{r['to']} by {r['by']} at {r['at']}: {r['reason']}", highlight=False
            )
    if s["hold"]:
        h = s["hold"]
        console.print(
            f"[yellow]Rollback hold:[/yellow] until {h['until']} new versions stay challengers; "
            f"champion v{h['version']} is kept (end it early with `leadscore rollback --to VERSION`).",
            highlight=False,
        )
    history = " -> ".join(f"v{h['version']} ({h['how']}, {h['at'][:10]})" for h in s["champion_history"][-6:])
    if history:
        console.print(f"Champion history (latest 6): {history}", highlight=False)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"


@app.command("rollback")
def rollback_command(
    to: Annotated[
        str | None, typer.Option(help="the version to make champion (e.g. 3)", show_default="the previous champion")
    ] = None,
    reason: Annotated[str, typer.Option(help="why (kept on the versions and in the champion history)")] = "",
    by: Annotated[str | None, typer.Option(help="who decides", show_default="the OS user")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="the dataset config the next runs use, to check the version can score it",
            show_default="the one saved with the current champion",
        ),
    ] = None,
    hold_days: Annotated[
        float | None,
        typer.Option(
            help="days the weekly gate keeps new versions as challengers (0: none)",
            min=0,
            show_default="14, or LEADSCORE_PROMOTION__ROLLBACK_HOLD_DAYS",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the `champion` alias back (default: to the previous champion), logging who and why.

    The next scoring run uses it. Refused, with nothing changed, for an unknown version, the current
    champion, a version the promotion policy refused, or one that cannot score the dataset. The version
    rolled back is tagged so that no automatic step brings it back, and for --hold-days the weekly gate
    keeps new versions as challengers.
    """
    _environment()
    from features.config import load_config
    from models.tracking import rollback

    settings = _settings(workspace)

    def body() -> dict:
        _preflight(config, workspace=settings.workspace)
        return _locked(
            settings,
            "rollback",
            lambda: rollback(
                _registry(settings),
                to=to,
                by=by if by is not None else _os_user(),
                reason=reason,
                config=load_config(config) if config else None,
                hold_days=settings.promotion.rollback_hold_days if hold_days is None else hold_days,
            ),
            create=False,
        )

    s = _run(as_json, body)
    if not as_json:
        console.print(
            f"[green]Champion is now v{s['to_version']}[/green] (was v{s['from_version']}), by {s['by']} at {s['at']}: "
            f"{s['reason']}. The next scoring run uses {s['model']}.",
            highlight=False,
        )
        if s["hold_until"]:
            console.print(
                f"Until {s['hold_until']} the weekly gate keeps new versions as challengers (rollback hold).",
                highlight=False,
            )


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="leadscore")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
