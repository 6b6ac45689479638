"""The thresholds commands: tier cut-offs shown, proposed for a capacity, set with who and why."""

from __future__ import annotations

from typing import Annotated

import typer

# the module, not its names: these commands share most of their imports with the others
from pipelines.cli import common, render, render_registry
from pipelines.cli.common import ActsOpt, JsonOpt, LeadsOpt, ModelConfigOpt, ModelOpt, WorkspaceOpt
from pipelines.results import ProposeResult
from pipelines.results_registry import CutoffRecord


def thresholds_show(model: ModelOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The model version's current tier cut-offs (who set them, when, why) and their history."""
    settings = common._start(workspace)
    from models.tracking import cutoff_record

    def body() -> CutoffRecord:
        return CutoffRecord.model_validate({"status": "ok", **cutoff_record(common._registry(settings), model)})

    common._shown(as_json, body, render_registry.print_record)


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
    settings = common._start(workspace)
    from pipelines.flows import propose_flow

    def body() -> ProposeResult:
        common._preflight(config, leads, activities, settings=settings)
        return common._timed(propose_flow, settings)(leads, activities, capacity, settings, model, config)

    common._shown(as_json, body, render.print_propose, model)


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
    settings = common._start(workspace)
    from models.tracking import set_cutoffs

    def store() -> CutoffRecord:
        stored = set_cutoffs(common._registry(settings), _parse_cutoffs(cutoffs), by=by, note=note, uri=model)
        return CutoffRecord.model_validate({"status": "ok", **stored})

    common._shown(as_json, lambda: common._locked(settings, "thresholds set", store, create=False), _print_stored)


def _print_stored(s: CutoffRecord) -> None:
    common.console.print("[green]Stored.[/green] The next scoring run uses them.")
    render_registry.print_record(s)
