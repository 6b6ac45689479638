"""Prefect's temporary local API, given the time a first start needs on a busy machine.

Without PREFECT_API_URL every command starts Prefect's ephemeral API server in a subprocess and waits for it
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (Prefect's default: 20 s). The very first start also
creates Prefect's database (~/.prefect/prefect.db); beside three CPU-bound processes on two cores that took
longer, and the run died in a traceback. A start that still fails is one line saying what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

STARTUP_TIMEOUT_VAR = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
STARTUP_TIMEOUT_S = 180
# the start of the RuntimeError prefect.server.api.server.SubprocessASGIServer.start raises (Prefect 3.8.8)
_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"


class PrefectUnavailable(ConnectionError):
    """Prefect's temporary API server did not answer within its start-up time-out."""


def configure_prefect() -> None:
    """Before Prefect is imported: a generous start-up time-out, unless the environment sets one.

    Prefect reads its settings when it is imported; the environment wins over a Prefect profile, so a time-out
    kept in a profile is to be set in the environment instead.
    """
    os.environ.setdefault(STARTUP_TIMEOUT_VAR, str(STARTUP_TIMEOUT_S))


@contextmanager
def prefect_start_errors() -> Iterator[None]:
    """Turn Prefect's start-up time-out into PrefectUnavailable, whose message says what to do."""
    try:
        yield
    except RuntimeError as exc:
        if not str(exc).startswith(_TIMED_OUT):
            raise
        seconds = os.environ.get(STARTUP_TIMEOUT_VAR, "20")
        raise PrefectUnavailable(
            f"Prefect's temporary API server did not start within {STARTUP_TIMEOUT_VAR}={seconds} s (a first "
            "start creates its database: slow on a busy machine); nothing ran. Set that variable higher, or point "
            "PREFECT_API_URL at a running Prefect server (`prefect server start`)."
        ) from None
