"""One writer per workspace: a lock file that a second command waits on, then gives up on with a clear error.

The lock is an advisory ``flock`` on ``<workspace>/.leadscore.lock``. The kernel releases it when the
holding process ends, however it ends (SIGKILL and power loss included), so a killed run never blocks the
next one; the holder's details written in the file are only there to name it in the waiting message.
It covers the workspace's files (lists, the SQLite MLflow store, artifacts, the feature cache): two
workspaces that share a remote MLflow tracking server share its registry, which this lock does not cover.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".leadscore.lock"
POLL_S = 0.5


class WorkspaceBusy(Exception):
    """Another command held the workspace for longer than the lock timeout."""


def holder(path: Path) -> dict:
    """Who holds (or last held) the lock, as written by ``workspace_lock``; {} when unknown."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe(info: dict) -> str:
    """e.g. "`leadscore weekly` (pid 4242 on box, since 06:00:03 UTC)"."""
    if not info:
        return "another leadscore command"
    since = str(info.get("started_at", ""))[11:19]
    who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}, since {since} UTC"
    return f"`leadscore {info.get('command', '?')}` ({who})"


@contextmanager
def workspace_lock(
    workspace: Path,
    command: str,
    *,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    poll: float = POLL_S,
) -> Iterator[Path]:
    """Hold ``<workspace>/.leadscore.lock`` for the duration of the block.

    If another process holds it, ``on_wait`` is called once with a message naming the holder, and the
    lock is retried every ``poll`` seconds for up to ``timeout`` seconds (0: do not wait), after which
    ``WorkspaceBusy`` is raised. The workspace folder is created if missing.
    """
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / LOCK_NAME
    # no O_TRUNC: a waiter opening the file must not erase the holder's details
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = describe(holder(path))
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"workspace {workspace} is in use by {who}; gave up after {timeout:g} s "
                        "(LEADSCORE_LOCK_TIMEOUT_SECONDS sets the wait). Nothing was changed."
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"workspace {workspace} is in use by {who}; waiting up to {timeout:g} s...")
                    told = True
                time.sleep(min(poll, max(deadline - time.monotonic(), 0.01)))
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock
