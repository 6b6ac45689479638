"""Hooks of the real-process tests."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Outcomes of the fuzzed exports (tests/e2e/test_fuzz.py), when they ran: the figures for issue notes."""
    counts = getattr(config, "leadscore_fuzz", None)
    if not counts:
        return
    import json

    terminalreporter.section("fuzzed exports")
    for key in sorted(counts, key=lambda k: (not k.startswith("cases"), k)):
        terminalreporter.write_line(f"{counts[key]:>6}  {key}")
    if "rows lost" not in counts:
        terminalreporter.write_line("     0  rows lost")
    path = config.rootpath / ".pytest_cache" / "fuzz_summary.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(dict(counts), indent=2, sort_keys=True))
    terminalreporter.write_line(f"written to {path}")
