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
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Honest MQL-to-SQL lead scoring: train weekly, rank new leads, explain every score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# the bundled synthetic dataset's config, found from wherever the command is run
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "data" / "configs" / "synthetic.toml"

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
        check_reachable(settings.resolved_tracking_uri())


def _run(as_json: bool, fn):
    """Run a command body: progress on stderr, summary (or JSON) at the end, clear errors, no tracebacks."""
    from features.config import ConfigError
    from features.contract import ContractError
    from models.leaks import LeakSuspected
    from models.scorer import FeatureMismatchError
    from models.tracking import CutoffError, ModelLoadError, TrackingUnavailable
    from models.train import TrainingDataError
    from pipelines import progress

    progress.enable(None if as_json else console)
    try:
        summary = fn()
    except (
        ConfigError,
        ContractError,
        ModelLoadError,
        CutoffError,
        TrackingUnavailable,
        TrainingDataError,
        LeakSuspected,
        FeatureMismatchError,
        OSError,
    ) as exc:
        message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
        if as_json:
            print(json.dumps({"status": "error", "error": message, "kind": type(exc).__name__}))
        else:
            console.print(f"[bold red]Error:[/bold red] {message}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    return summary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _print_training(s: dict) -> None:
    inp = s["inputs"]
    console.rule("[bold]leadscore summary")
    console.print(
        f"Rows in: {inp['leads_in']:,} leads, {inp['activities_in']:,} activities; rejected: "
        f"{inp['leads_rejected']:,} leads, {inp['activities_rejected']:,} activities"
    )
    _print_warnings(s)
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
    names = {"model": "LightGBM", "logistic_regression": "logistic regr.", "persona_rule": "persona rule"}
    for key, label in names.items():
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
    gzip: Annotated[
        bool, typer.Option("--gzip", help="write gzipped files (leads.csv.gz...), read just the same")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic B2B CRM export (Spain and Latin America) with its true conversion probabilities."""
    from features.synthetic import generate as gen
    from serving.output import atomic_write

    def body() -> dict:
        with console.status("Generating the CRM history...") if not as_json else nullcontext():
            crm = gen(leads, months, seed)
        files = {}
        ext = ".csv.gz" if gzip else ".csv"
        for name, df in ((f"leads{ext}", crm.leads), (f"activities{ext}", crm.activities), (f"truth{ext}", crm.truth)):
            gz = "gzip" if name.endswith(".gz") else None
            files[name] = str(
                atomic_write(out / name, lambda tmp, df=df, gz=gz: df.to_csv(tmp, index=False, compression=gz))
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
    as_json: JsonOpt = False,
) -> None:
    """The whole weekly job: validate, features, train, gate, score the open leads, publish the list.

    The list goes to <workspace>/lists/latest.csv (and .parquet), with a dated copy under lists/archive/;
    the threshold review page beside it (latest_review.html, Spanish latest_review_es.html), also logged
    to MLflow with the run. Leads on last week's list get their previous score and trend.
    """
    _environment()
    from pipelines.flows import weekly_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or weekly_flow(leads, activities, config, settings, as_of, capacity)
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
        if s["status"] != "persona_rule":
            _print_mlflow(s)
        console.print(f"Done in {s['elapsed_s']:.0f} s.")


@app.command()
def train(
    leads: LeadsOpt,
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train and evaluate a model, log it to MLflow and register it; the gate decides if it is champion."""
    _environment()
    from pipelines.flows import train_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or train_flow(leads, activities, config, settings, as_of)
        ),
    )
    if not as_json:
        _print_training(s)
        _print_mlflow(s)


@app.command()
def score(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="list file (.csv); .parquet, _rejects.csv and _summary.json go beside it")],
    activities: ActsOpt = None,
    model: ModelOpt = None,
    config: ModelConfigOpt = None,
    workspace: WorkspaceOpt = None,
    capacity: CapacityOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every valid lead in a file: rank, calibrated score 0-100, tier A-D, top 3 reasons.

    A list already at --out is read first: leads on it get their previous score and trend.
    """
    _environment()
    from pipelines.flows import score_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, settings=settings)
            or score_flow(leads, activities, out, settings, model, config, capacity)
        ),
    )
    if not as_json:
        _print_warnings(s)
        console.print(f"Scored with {s['model']} (v{s['model_version']}), tier cut-offs {s['tier_cutoffs']}")
        _print_list(s)


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
    name: Annotated[str | None, typer.Option(help="dataset name", show_default="the file name of --out")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out if it exists")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read an export and write a starting dataset config, with a field audit for a person to confirm.

    Guesses each column's role, flags columns that look personal (emails, phones, names, companies) as
    pii, and marks the columns the leak audit finds suspicious as exclude, with the evidence.
    """
    from pipelines.onboarding import init_config as run_init

    def body() -> dict:
        from features.contract import ContractError

        _preflight(None, leads, activities)
        if out.exists() and not force:
            raise ContractError(f"{out} exists; pass --force to overwrite it")
        with console.status("Reading the export and auditing its columns...") if not as_json else nullcontext():
            return run_init(leads, activities, out, name=name)

    s = _run(as_json, body)
    if not as_json:
        console.print(
            f"Read {s['rows']:,} rows, {s['columns']} columns. Roles: "
            + ", ".join(f"{n} {r}" for r, n in sorted(s["roles"].items()))
        )
        console.print(f"Outcome: {s['outcome']}; time: {s['time']}")
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
        return report_flow(leads, activities, out, settings, model, config, lang)

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
            or propose_flow(leads, activities, capacity, settings, model, config)
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
        lambda: {
            "status": "ok",
            **set_cutoffs(_registry(settings), _parse_cutoffs(cutoffs), by=by, note=note, uri=model),
        },
    )
    if not as_json:
        console.print("[green]Stored.[/green] The next scoring run uses them.")
        _print_record(s)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="leadscore")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
