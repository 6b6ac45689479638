"""Publishing a list folder as a set: the list, its rejects, review pages, drift table and summary, archived.

A reader of the folder never sees half a set: the set is written whole to a dated archive folder first,
then the latest files are replaced from it under a plan marker that the next command completes if the
process was killed among them (serving.output.finish_interrupted).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from features.files import atomic_write, write_csv, write_json, write_parquet
from serving.output import publish_plan
from serving.planning import trend_words
from serving.vocabulary import LANGS, list_cells, list_headers


def kill_point(name: str) -> None:
    """Fault injection for the kill tests (tests/e2e/test_faults.py): SIGKILL this process at a named point.

    Inert unless LEADSCORE_KILL_AT names the point; a real SIGKILL, so nothing can tidy up after it.
    """
    if os.environ.get("LEADSCORE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def sdr_csv(scored: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The list as SDRs open it (list.csv): headers and word cells (tiers, this_week, group, trends) in ``lang``.

    From the vocabulary's [list] tables; a column it does not name keeps its id. The list itself (and
    list.parquet) keeps the ids, and the trend words and near-cut-off sentences in English
    (``planning.trend_words`` says them in ``lang`` here). In English the list is returned as is.
    """
    out = trend_words(scored, lang)
    for column, table in list_cells(lang).items():
        changed = {k: v for k, v in table.items() if k != v}
        if column in out and changed:
            out = out.assign(**{column: out[column].replace(changed)})
    headers = {k: v for k, v in list_headers(lang).items() if k != v and k in out}
    return out.rename(columns=headers) if headers else out


def _as_ids(listed: pd.DataFrame) -> pd.DataFrame:
    """A list.csv in any language with its columns' ids and tier ids back (list.parquet has them already)."""
    ids = {v: k for lang in LANGS for k, v in list_headers(lang).items()}
    listed = listed.rename(columns={c: ids[c] for c in listed.columns if ids.get(c, c) not in listed})
    if "tier" in listed:
        tiers = {v: k for lang in LANGS for k, v in list_cells(lang)["tier"].items() if k != v}
        listed = listed.assign(tier=listed["tier"].replace(tiers)) if tiers else listed
    return listed


def read_previous(path: Path) -> pd.DataFrame | None:
    """The previous list (Parquet beside a CSV if there is one), read before it is replaced; None if none.

    A CSV alone may be in any language of the vocabulary: its headers and tiers are read back to their ids.
    Only ids and numbers are read (lead_id, score, tier, model_version), never a list's words.
    """
    for candidate in (path.with_suffix(".parquet"), path.with_suffix(".csv")):
        if candidate.is_file():
            try:
                parquet = candidate.suffix == ".parquet"
                prev = pd.read_parquet(candidate) if parquet else _as_ids(pd.read_csv(candidate, encoding="utf-8-sig"))
            except (OSError, ValueError):
                return None  # an unreadable old list only costs the trend column
            return prev if {"lead_id", "score", "tier"} <= set(prev.columns) else None
    return None


def review_name(prefix: str, lang: str) -> str:
    """The review page's file name: <prefix>_review.html in English, <prefix>_review_<lang>.html otherwise."""
    return f"{prefix}_review.html" if lang == "en" else f"{prefix}_review_{lang}.html"


def write_pages(folder: Path, prefix: str, pages: dict[str, str]) -> dict[str, str]:
    """Write each language's review page atomically: <prefix>_review.html, <prefix>_review_es.html."""
    return {
        f"review_{lang}": str(
            atomic_write(folder / review_name(prefix, lang), lambda tmp, h=html: tmp.write_text(h, encoding="utf-8"))
        )
        for lang, html in pages.items()
    }


def remove_pages(folder: Path, prefix: str) -> None:
    """Remove the review pages beside a list (a page about a model that did not score it)."""
    for lang in LANGS:
        (folder / review_name(prefix, lang)).unlink(missing_ok=True)


def _write_set(
    target: Path, prefix: str, scored, rejects, summary, pages, drift_table, named_in: Path, lang: str, assignment=None
) -> dict:
    """Write one complete list set into ``target``; the summary names the files as they will be in ``named_in``."""
    paths = {
        "csv": write_csv(sdr_csv(scored, lang), target / f"{prefix}.csv"),
        "parquet": write_parquet(scored, target / f"{prefix}.parquet"),
        "rejects": write_csv(rejects, target / f"{prefix}_rejects.csv"),
        **write_pages(target, prefix, pages or {}),
    }
    if drift_table is not None:
        paths["drift"] = write_csv(drift_table, target / f"{prefix}_drift.csv")
    if assignment is not None:  # each listed lead's group, probability and whether it is worked (serving.control)
        paths["assignment"] = write_parquet(assignment, target / f"{prefix}_assignment.parquet")
    files = {k: named_in / Path(v).name for k, v in paths.items()}
    write_json({**summary, "files": {k: str(v) for k, v in files.items()}}, target / f"{prefix}_summary.json")
    return files


def publish(
    folder: Path,
    stem: str,
    scored: pd.DataFrame,
    rejects: pd.DataFrame,
    summary: dict,
    pages: dict[str, str] | None = None,
    drift_table: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    lang: str = "en",
) -> dict[str, str]:
    """Write the complete set to a dated archive folder, then replace the latest files from it, as a set.

    list.csv is written in ``lang`` (``sdr_csv``); list.parquet keeps the columns' ids in every language.

    The archive set is written under ``archive/.<stamp>.partial`` and renamed when whole, so an archive
    folder is never half a set. The latest files are then copied from it one at a time (each atomically),
    under a plan marker: a process killed among them leaves the marker, and the next command on the
    folder completes the set (``finish_interrupted``) before doing anything else. ``assignment`` (a list a
    model scored) becomes ``list_assignment.parquet`` in the archived set only: it holds the control leads'
    withheld scores, so it never sits beside the latest list SDRs open (``impact`` reads the archive; the
    summary's files map names the archived copy). Returns the latest files by kind (the assignment's
    archived copy), and the archive folder.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    archive = folder / "archive" / stamp
    n = 1
    while archive.exists():  # a retry within the same second
        archive, n = folder / "archive" / f"{stamp}-{n}", n + 1
    staging = archive.with_name(f".{archive.name}.partial")
    try:
        archived = _write_set(staging, "list", scored, rejects, summary, pages, drift_table, archive, lang, assignment)
        kill_point("publish:archive-written")
        os.replace(staging, archive)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    kill_point("publish:archived")
    latest = {k: folder / (stem + v.name[len("list") :]) for k, v in archived.items() if k != "assignment"}
    # an earlier run's drift table beside this list would describe another batch; an assignment there (written
    # by earlier versions) would show SDRs the control leads' withheld scores
    stale = {"drift.csv": drift_table, "assignment.parquet": None}
    named = {k: latest.get(k, v) for k, v in archived.items()}  # the assignment by its archived copy
    plan = {
        "archive": str(archive),
        "copies": [[str(archive / v.name), str(latest[k])] for k, v in archived.items() if k in latest],
        "remove": [str(folder / f"{stem}_{k}") for k, v in stale.items() if v is None],
        "summary_path": str(folder / f"{stem}_summary.json"),
        "summary": json.loads(json.dumps({**summary, "files": {k: str(v) for k, v in named.items()}}, default=str)),
    }

    def after_copy(dst: Path) -> None:
        if dst.name == f"{stem}.parquet":  # the list is new, its rejects and summary still last week's
            kill_point("publish:half-replaced")

    publish_plan(folder / f".{stem}.publishing.json", plan, after_each=after_copy)
    return {k: str(v) for k, v in named.items()} | {"archive": str(archive)}
