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


def _settings(workspace: Path | None):
    from pipelines.settings import Settings

    settings = Settings()
    if workspace is not None:
        settings = settings.model_copy(update={"workspace": workspace})
    return settings


def _preflight(config: Path | None, *files: Path | None, workspace: Path | None = None) -> None:
    """Fail in a second, before any flow starts, on a bad config, a missing input or an unusable workspace."""
    from features.config import load_config
    from features.contract import ContractError

    if workspace is not None and workspace.exists() and not workspace.is_dir():
        raise ContractError(f"--workspace {workspace} is a file; give a folder (it is created if missing)")
    if config is not None:
        load_config(config)
    for f in files:
        if f is not None and not Path(f).is_file():
            raise ContractError(f"{f}: file not found")


def _run(as_json: bool, fn):
    """Run a command body: progress on stderr, summary (or JSON) at the end, clear errors, no tracebacks."""
    from features.config import ConfigError
    from features.contract import ContractError
    from models.leaks import LeakSuspected
    from models.scorer import FeatureMismatchError
    from models.tracking import ModelLoadError
    from models.train import TrainingDataError
    from pipelines import progress

    progress.enable(None if as_json else console)
    try:
        summary = fn()
    except (
        ConfigError,
        ContractError,
        ModelLoadError,
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
        return
    tiers = ", ".join(f"{t}: {n:,}" for t, n in lst["tiers"].items())
    console.print(f"List: {lst['rows']:,} leads scored ({tiers}) -> [bold]{s['files']['csv']}[/bold]")
    console.print(f"      also {s['files']['parquet']}; rejects: {s['files']['rejects']}")


def _print_mlflow(s: dict) -> None:
    uri = s["mlflow"]["tracking_uri"]
    console.print(
        f"MLflow: experiment '{s['mlflow']['experiment']}', run {s['mlflow']['run_id'][:8]}. "
        f"Open the UI with: [bold]{Path(sys.executable).parent / 'mlflow'} ui --backend-store-uri {uri}[/bold]"
    )


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
    as_json: JsonOpt = False,
) -> None:
    """The whole weekly job: validate, features, train, gate, score the open leads, publish the list.

    The list goes to <workspace>/lists/latest.csv (and .parquet), with a dated copy under lists/archive/.
    """
    _environment()
    from pipelines.flows import weekly_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, workspace=settings.workspace)
            or weekly_flow(leads, activities, config, settings, as_of)
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
            _preflight(config, leads, activities, workspace=settings.workspace)
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
    model: Annotated[str | None, typer.Option(help="MLflow model URI [default: models:/<model_name>@champion]")] = None,
    config: Annotated[Path | None, typer.Option(help="dataset config [default: the one saved with the model]")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every valid lead in a file: rank, calibrated score 0-100, tier A-D, top 3 reasons."""
    _environment()
    from pipelines.flows import score_flow

    settings = _settings(workspace)
    s = _run(
        as_json,
        lambda: (
            _preflight(config, leads, activities, workspace=settings.workspace)
            or score_flow(leads, activities, out, settings, model, config)
        ),
    )
    if not as_json:
        _print_warnings(s)
        console.print(f"Scored with {s['model']} (v{s['model_version']}), tier cut-offs {s['tier_cutoffs']}")
        _print_list(s)


@app.command()
def features(
    leads: LeadsOpt,
    out: Annotated[Path, typer.Option(help="feature table (.parquet); rejects go beside it")],
    activities: ActsOpt = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: JsonOpt = False,
) -> None:
    """Build the point-in-time feature table (with each lead's state and label) without training."""
    _environment()
    from pipelines.flows import build_features_flow

    s = _run(
        as_json, lambda: _preflight(config, leads, activities) or build_features_flow(leads, activities, config, out)
    )
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


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="leadscore")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
