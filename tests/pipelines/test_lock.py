"""The workspace lock and the repair of an interrupted publish: plain functions, no Prefect."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from features.files import write_json
from pipelines.lock import LOCK_NAME, WorkspaceBusy, holder, workspace_lock
from serving.output import finish_interrupted, publish_plan


def test_a_second_holder_waits_names_the_first_and_gives_up_with_nothing_changed(tmp_path):
    said = []
    with workspace_lock(tmp_path / "ws", "weekly", timeout=0) as path:
        info = holder(path)
        assert info["pid"] == os.getpid() and info["command"] == "weekly"
        t0 = time.monotonic()
        with (
            pytest.raises(WorkspaceBusy) as exc,
            workspace_lock(tmp_path / "ws", "score", timeout=0.6, on_wait=said.append, poll=0.1),
        ):
            pytest.fail("a second holder got in")
        assert time.monotonic() - t0 >= 0.6
        # the waiter told once, then gave up; it did not overwrite the holder's details
        assert len(said) == 1 and "is in use by `leadscore weekly`" in said[0] and "waiting up to 0.6 s" in said[0]
        assert f"pid {os.getpid()}" in str(exc.value) and "LEADSCORE_LOCK_TIMEOUT_SECONDS" in str(exc.value)
        assert holder(path)["command"] == "weekly"


def test_a_waiter_goes_on_when_the_holder_finishes(tmp_path):
    held, said = threading.Event(), []

    def first():
        with workspace_lock(tmp_path, "weekly", timeout=0):
            held.set()
            time.sleep(0.8)

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    t0 = time.monotonic()
    with workspace_lock(tmp_path, "train", timeout=10, on_wait=said.append, poll=0.05) as path:
        waited = time.monotonic() - t0
        assert holder(path)["command"] == "train"
    t.join()
    assert 0.3 < waited < 5 and len(said) == 1


def test_a_holder_killed_with_sigkill_releases_the_lock(tmp_path):
    # the kernel drops a flock when its process dies, however it dies: no stale lock to clear by hand
    code = (
        "import sys, time; from pipelines.lock import workspace_lock\n"
        f"with workspace_lock({str(tmp_path)!r}, 'weekly', timeout=0):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(WorkspaceBusy), workspace_lock(tmp_path, "weekly", timeout=0):
        pass
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    assert holder(tmp_path / LOCK_NAME)["pid"] == p.pid  # its details stay, harmless
    with workspace_lock(tmp_path, "weekly", timeout=0) as path:
        assert holder(path)["pid"] == os.getpid()


def _set(folder, names, text):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_text(f"{text} {n}")


def test_an_interrupted_publish_is_completed_and_leftovers_removed(tmp_path):
    lists = tmp_path / "lists"
    _set(lists, ["latest.csv", "latest_rejects.csv", "latest_drift.csv"], "old")
    _set(lists / "archive" / "new", ["list.csv", "list_rejects.csv"], "new")
    plan = {
        "copies": [
            [str(lists / "archive/new" / n), str(lists / n.replace("list", "latest"))]
            for n in ("list.csv", "list_rejects.csv")
        ],
        "remove": [str(lists / "latest_drift.csv")],
        "summary_path": str(lists / "latest_summary.json"),
        "summary": {"rows": 2},
    }
    # what a kill after the first copy leaves: the marker, one new file, one old, a temporary file
    write_json(plan, lists / ".latest.publishing.json")
    (lists / "latest.csv").write_text("new list.csv")
    (lists / ".latest_rejects.csv.abc.tmp").write_text("half")
    (lists / "archive" / ".2026-01-01T000000Z.partial").mkdir()
    done = finish_interrupted(lists)
    assert len(done) == 3 and "completed the interrupted publish" in done[0]
    assert (lists / "latest_rejects.csv").read_text() == "new list_rejects.csv"
    assert not (lists / "latest_drift.csv").exists()
    assert json.loads((lists / "latest_summary.json").read_text()) == {"rows": 2}
    assert sorted(p.name for p in lists.iterdir()) == [
        "archive",
        "latest.csv",
        "latest_rejects.csv",
        "latest_summary.json",
    ]
    assert [p.name for p in (lists / "archive").iterdir()] == ["new"]
    assert finish_interrupted(lists) == []  # nothing left to do


def test_publish_plan_leaves_no_marker_and_a_missing_archive_is_dropped_not_half_applied(tmp_path):
    _set(tmp_path / "a", ["list.csv"], "new")
    publish_plan(tmp_path / ".x.publishing.json", {"copies": [[str(tmp_path / "a/list.csv"), str(tmp_path / "x.csv")]]})
    assert (tmp_path / "x.csv").read_text() == "new list.csv" and not (tmp_path / ".x.publishing.json").exists()
    write_json({"copies": [[str(tmp_path / "gone.csv"), str(tmp_path / "x.csv")]]}, tmp_path / ".x.publishing.json")
    assert "archive is gone" in finish_interrupted(tmp_path)[0]
    assert (tmp_path / "x.csv").read_text() == "new list.csv"
