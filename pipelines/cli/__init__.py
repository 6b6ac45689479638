"""The `leadscore` command line: one module per command group, one renderer (render.py), shared parts in common.py.

The commands are registered here, in the order `leadscore --help` lists them.
"""

from __future__ import annotations

from pipelines.cli.common import app, thresholds_app
from pipelines.cli.data import features, generate, init_config
from pipelines.cli.impact import impact
from pipelines.cli.ops import models_command, report, rollback_command, serve
from pipelines.cli.runs import backtest, score, train, weekly
from pipelines.cli.thresholds import thresholds_propose, thresholds_set, thresholds_show

app.command()(generate)
app.command()(weekly)
app.command()(train)
app.command()(backtest)
app.command()(impact)
app.command()(score)
app.command()(features)
app.command("init-config")(init_config)
app.command()(report)
app.add_typer(thresholds_app, name="thresholds")
thresholds_app.command("show")(thresholds_show)
thresholds_app.command("propose")(thresholds_propose)
thresholds_app.command("set")(thresholds_set)
app.command()(serve)
app.command("models")(models_command)
app.command("rollback")(rollback_command)


def main() -> None:  # pragma: no cover - console entry point
    """The `leadscore` console script."""
    app(prog_name="leadscore")


__all__ = ["app", "main"]
