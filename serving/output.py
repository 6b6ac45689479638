"""Atomic, spreadsheet-safe writers for lists, rejects and summaries."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# what a spreadsheet may read as the start of a formula (OWASP CSV injection), full-width forms included
# (Excel in East Asian locales reads them as their ASCII twins)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
UTF8_BOM = b"\xef\xbb\xbf"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a shared list should follow the umask
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def neutralise_text(value: str) -> str:
    """One cell or header: a quote before text a spreadsheet could run as a formula, else unchanged."""
    risky = value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START)
    return "'" + value if risky else value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Text, object and category columns are all checked, and so are the column names. Leading spaces do
    not hide a formula: some spreadsheets trim them on import (LibreOffice's "trim spaces"). Numbers
    held as text ("-5", "+34 600 000 000") are quoted too: a spreadsheet cannot tell them from formulas.
    """
    out = df.copy()
    out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)  # categories are text too; neutralised values may collide, so drop them
        elif not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        text = s.astype("str")
        risky = s.notna() & (text.str.startswith(FORMULA_START) | text.str.lstrip().str.startswith(FORMULA_START))
        if risky.any():
            s = s.where(~risky, "'" + text)
        out.isetitem(i, s)
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV via pyarrow (~9x faster than pandas), UTF-8 with BOM so Excel shows accents right."""
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(UTF8_BOM)
            pacsv.write_csv(table, fh)

    return atomic_write(path, _write)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    table = pa.Table.from_pandas(df, preserve_index=False)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(obj: dict, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8"))


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
