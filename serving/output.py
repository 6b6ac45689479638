"""Publishing a set of list files as one: the plan marker, and finishing a publish a killed run left."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from features.files import atomic_write, write_json


def publish_plan(marker: str | Path, plan: dict, *, after_each: Callable[[Path], None] | None = None) -> None:
    """Replace a set of files as one: record the plan in ``marker``, copy each file, then drop the marker.

    ``plan`` = {"copies": [[src, dst], ...], "remove": [path, ...], "summary_path": path, "summary": {...}}:
    the sources are a complete set already written elsewhere (the dated archive). Each copy is atomic; a
    process killed between two copies leaves the marker, and ``finish_interrupted`` (run by the next
    command) completes the set, so readers see a mix of two sets only until then.
    """
    marker = Path(marker)
    write_json(plan, marker)
    _apply(plan, after_each)
    marker.unlink(missing_ok=True)


def _apply(plan: dict, after_each: Callable[[Path], None] | None = None) -> None:
    import shutil

    for src, dst in plan["copies"]:
        atomic_write(dst, lambda tmp, s=src: shutil.copyfile(s, tmp))
        if after_each is not None:
            after_each(Path(dst))
    for path in plan.get("remove", []):
        Path(path).unlink(missing_ok=True)
    if plan.get("summary_path"):
        write_json(plan["summary"], plan["summary_path"])


def finish_interrupted(folder: str | Path) -> list[str]:
    """Repair what a killed publish left in ``folder``; returns what was done, one line each.

    Completes each half-replaced set whose plan marker (``.<stem>.publishing.json``) is still there (its
    archive sources are complete: the marker is written only after them), and removes leftover temporary
    files (``.<name>.<random>.tmp``) and unfinished archive folders (``archive/.<stamp>.partial``). Call it
    only while holding the workspace lock: another writer's temporary files look the same.
    """
    import shutil

    folder = Path(folder)
    done: list[str] = []
    if not folder.is_dir():
        return done
    for marker in sorted(folder.glob(".*.publishing.json")):
        try:
            plan = json.loads(marker.read_text(encoding="utf-8"))
            if all(Path(src).is_file() for src, _ in plan["copies"]):
                _apply(plan)
                done.append(f"completed the interrupted publish of {plan.get('summary_path', marker.name)}")
            else:
                done.append(f"dropped an interrupted publish whose archive is gone ({marker.name})")
        except (ValueError, KeyError, TypeError):
            done.append(f"dropped an unreadable publish record ({marker.name})")
        marker.unlink(missing_ok=True)
    for tmp in [*folder.glob(".*.tmp"), *folder.glob("archive/*/.*.tmp")]:
        tmp.unlink(missing_ok=True)
        done.append(f"removed the temporary file {tmp.name}")
    for partial in folder.glob("archive/.*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
        done.append(f"removed the unfinished archive {partial.name}")
    return done
