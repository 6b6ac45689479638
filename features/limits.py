"""Input limits a user can set (LEADSCORE_LIMITS__...): checked where the export is read, before any work.

A file or table over its limit stops the run with one message naming the file, the limit, the actual
value and the setting that raises it. A text cell over its limit rejects only its row (a pasted e-mail
body in a notes field must not stop the weekly list), with the reason in the rejects file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from features.contract import ContractError, LoadedExport


class LimitExceeded(ContractError):
    """An input over a user-set limit; the message says which setting raises it."""


def check_file_size(path: str | Path | None, max_bytes: int) -> None:
    """Refuse a file larger than ``max_bytes`` before it is read."""
    if path is None or not Path(path).is_file():
        return  # a missing file gets the loader's own message
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise LimitExceeded(
            f"{path}: {size:,} bytes, over the input limit of {max_bytes:,} bytes; raise it with "
            f"LEADSCORE_LIMITS__MAX_FILE_BYTES={size} (or split the export)"
        )


def check_rows(export: LoadedExport, max_rows: int, paths: dict[str, str | Path | None]) -> None:
    """Refuse a table with more than ``max_rows`` rows, before features are built."""
    for table, n in export.rows_in.items():
        if n > max_rows:
            raise LimitExceeded(
                f"{paths.get(table)}: {n:,} {table} rows, over the limit of {max_rows:,} rows per table; "
                f"raise it with LEADSCORE_LIMITS__MAX_ROWS={n}"
            )


def _long_cells(df: pd.DataFrame, max_chars: int) -> dict[int, list[str]]:
    """Row position -> reasons, for every text cell longer than ``max_chars`` characters."""
    reasons: dict[int, list[str]] = {}
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        lengths = s.astype("str").str.len().where(s.notna(), 0)
        for pos in (lengths.to_numpy() > max_chars).nonzero()[0]:
            reasons.setdefault(int(pos), []).append(
                f"{col}: text of {int(lengths.iloc[pos]):,} characters, over LEADSCORE_LIMITS__MAX_CELL_CHARS "
                f"({max_chars:,})"
            )
    return reasons


def reject_long_cells(export: LoadedExport, max_chars: int) -> LoadedExport:
    """Move leads (and activities) holding a text cell longer than ``max_chars`` to the rejects.

    A rejected lead takes its activities with it, as the loader does for any rejected lead. The reason
    names the column and the length, never the text; the data-row number is left empty (the canonical
    tables no longer carry it), the lead id identifies the row.
    """
    lead_reasons = _long_cells(export.leads, max_chars)
    act_reasons = _long_cells(export.activities, max_chars)
    if not lead_reasons and not act_reasons:
        return export
    rows = []
    bad_leads = export.leads["lead_id"].iloc[sorted(lead_reasons)]
    for pos, lead_id in zip(sorted(lead_reasons), bad_leads, strict=True):
        rows.append({"table": "leads", "row": None, "lead_id": lead_id, "reason": "; ".join(lead_reasons[pos])})
    acts = export.activities
    drop_acts = acts["lead_id"].isin(set(bad_leads)).to_numpy().copy()  # pandas may hand out a read-only view
    orphan = drop_acts.copy()
    for pos in orphan.nonzero()[0]:
        act_reasons.setdefault(int(pos), []).insert(0, "lead_id: its lead was rejected (see the leads rows)")
    for pos, reason in sorted(act_reasons.items()):
        rows.append(
            {"table": "activities", "row": None, "lead_id": acts["lead_id"].iloc[pos], "reason": "; ".join(reason)}
        )
        drop_acts[pos] = True
    leads = export.leads.drop(export.leads.index[sorted(lead_reasons)]).reset_index(drop=True)
    rejects = pd.concat([export.rejects, pd.DataFrame(rows, columns=export.rejects.columns)], ignore_index=True)
    return replace(export, leads=leads, activities=acts[~drop_acts].reset_index(drop=True), rejects=rejects)
