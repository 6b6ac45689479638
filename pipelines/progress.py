"""Step-by-step progress for long commands (rich); silent unless the CLI switches it on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

_console: Console | None = None


def enable(console: Console | None) -> None:
    global _console
    _console = console


@contextmanager
def step(text: str) -> Iterator[None]:
    if _console is None:
        yield
        return
    t0 = time.perf_counter()
    with _console.status(f"{text}..."):
        yield
    _console.print(f"[green]✓[/green] {text} [dim]({time.perf_counter() - t0:.1f} s)[/dim]")
