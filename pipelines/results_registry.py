"""The registry's records, typed for the console: cut-offs (`thresholds`), versions (`models`), rollback.

They wrap what models.tracking returns, keys and order kept, as pipelines/results.py does for the flows.
"""

from __future__ import annotations

from pipelines.results import Number, Record, Result


class CutoffEntry(Record):
    cutoffs: dict[str, Number]
    by: str = ""
    at: str = ""
    note: str = ""


class CutoffRecord(Result):
    """`thresholds show` and `set`: a version's current cut-offs and their history, oldest first."""

    model: str
    version: str | None = None
    aliases: list[str] = []
    current: CutoffEntry
    history: list[CutoffEntry] = []


class RolledBack(Record):
    to: str | None = None
    by: str = ""
    at: str = ""
    reason: str = ""


class TagWindow(Record):
    """A data window as the version's tags keep it: every figure as the text MLflow stores."""

    rows: str | Number | None = None
    sqls: str | Number | None = None
    sql_rate: str | Number | None = None
    first_mql: str | None = None
    last_mql: str | None = None


class VersionRow(Record):
    """One registered version as `models` lists it."""

    version: str
    aliases: list[str] = []
    created: str
    dataset: str = ""
    metrics: dict[str, Number | None] = {}
    windows: dict[str, TagWindow] = {}
    tier_cutoffs: dict[str, Number] | None = None
    gate_rule: str = ""
    gate_decision: str = ""
    rolled_back: RolledBack | None = None


class Hold(Record):
    version: str
    until: str


class ChampionChange(Record):
    version: str
    how: str
    at: str


class VersionList(Result):
    """`models`: every registered version, newest first, the champion's history and any rollback hold."""

    model: str
    versions: list[VersionRow] = []
    champion_history: list[ChampionChange] = []
    hold: Hold | None = None
    note: str | None = None
    tracking_uri: str | None = None


class RollbackResult(Result):
    """`rollback`: the champion moved back, by whom and why, and the hold on new versions."""

    model: str
    from_version: str
    to_version: str
    by: str
    at: str
    reason: str
    hold_until: str | None = None
