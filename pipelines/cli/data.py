"""The data commands: generate a synthetic export, propose a config for a real one, build the features."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli import render
from pipelines.cli.common import (
    ActsOpt,
    ConfigOpt,
    JsonOpt,
    LeadsOpt,
    _environment,
    _preflight,
    _shown,
    console,
)
from pipelines.defaults import DEFAULT_CONFIG
from pipelines.results import FeaturesResult, GenerateResult, InitConfigResult


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
    from features.files import atomic_write
    from features.synthetic import generate as gen

    if partitions:
        from features.partitions import write_synthetic_partitions

        def split() -> GenerateResult:
            if style != "leadscore":
                from features.contract import ContractError

                raise ContractError("--partitions writes the leadscore style only; drop --style or --partitions")
            with console.status(f"Generating {partitions:,} partitions...") if not as_json else nullcontext():
                made = write_synthetic_partitions(
                    out, leads=leads, partitions=partitions, months=months, seed=seed, processes=os.cpu_count() or 1
                )
            return GenerateResult.model_validate({"status": "ok", **made})

        _shown(as_json, split, render.print_generate, out)
        return

    def body() -> GenerateResult:
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
        return GenerateResult.model_validate(
            {
                "status": "ok",
                "files": files,
                "leads": len(crm.leads),
                "activities": len(crm.activities),
                "sql_rate": float(crm.truth["converted"].mean()),
                "export_at": str(crm.export_at),
                "open_leads": len(crm.open_ids()),
                "bayes_auc_open": crm.bayes_auc_open(),
            }
        )

    _shown(as_json, body, render.print_generate, out)


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

    def body() -> FeaturesResult:
        if fmt not in ("parquet", "json"):
            raise ContractError(f"--format must be parquet or json, got {fmt!r}")
        _preflight(config, leads, activities)
        if fmt == "json":
            return serving_rows_flow(leads, activities, config, out)
        return build_features_flow(leads, activities, config, out)

    _shown(as_json, body, render.print_features_written)


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

    def body() -> InitConfigResult:
        from features.contract import ContractError

        _preflight(None, leads, activities)
        for path in related or []:
            if not path.is_file():
                raise ContractError(f"{path}: file not found (--related)")
        if out.exists() and not force:
            raise ContractError(f"{out} exists; pass --force to overwrite it")
        with console.status("Reading the export and auditing its columns...") if not as_json else nullcontext():
            return InitConfigResult.model_validate(run_init(leads, activities, out, name=name, related=related or []))

    _shown(as_json, body, render.print_init_config)
