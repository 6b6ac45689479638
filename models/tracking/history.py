"""The champion's history and the rollback hold, kept as tags on the registered model and its versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException

from models.tracking.client import Tracking, is_missing

ROLLED_BACK_TAG = "rolled_back"  # on a version a person moved the champion away from: who, when, why, to
BY_ROLLBACK_TAG = "champion_by_rollback"  # on a version a person made champion: who, when, why, from
CHAMPION_HISTORY_TAG = "champion_history"  # on the registered model: every champion, oldest first
HOLD_TAG = "champion_hold"  # on the registered model: the rollback hold (version, until, who, why)
CHAMPION_HISTORY_KEEP = 50


def _registered_at(mv) -> datetime:
    return datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)


def _note(record: dict) -> str:
    """'by Ana at 2026-05-04T09:00:00+00:00: <reason>' from a rollback or hold record."""
    return f"by {record.get('by', '?')} at {record.get('at', '?')}: {record.get('reason', '')}"


def _now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="seconds")


def champion_history(tracking: Tracking) -> list[dict]:
    """Every version that became champion (by the gate or a rollback), oldest first: who, when, how."""
    try:
        tags = tracking.client().get_registered_model(tracking.model_name).tags
    except MlflowException as exc:
        if is_missing(exc):
            return []
        raise  # read as empty, the next append would overwrite the whole history with one entry
    return json.loads(tags[CHAMPION_HISTORY_TAG]) if CHAMPION_HISTORY_TAG in tags else []


def _append_champion_history(tracking: Tracking, entry: dict, now: datetime | None = None) -> None:
    history = [*champion_history(tracking), {"at": _now_iso(now), **entry}][-CHAMPION_HISTORY_KEEP:]
    tracking.client().set_registered_model_tag(
        tracking.model_name, CHAMPION_HISTORY_TAG, json.dumps(history, ensure_ascii=False)
    )


def _hold_record(tracking: Tracking, version: str) -> dict | None:
    """The rollback hold on ``version`` (expired or not), or None."""
    tags = tracking.client().get_registered_model(tracking.model_name).tags
    record = json.loads(tags[HOLD_TAG]) if HOLD_TAG in tags else None
    return record if record and str(record.get("version")) == str(version) else None


def active_hold(tracking: Tracking, version: str, now: datetime | None = None) -> dict | None:
    """The rollback hold on ``version`` if it has not expired at ``now``, else None."""
    record = _hold_record(tracking, version)
    if record is None:
        return None
    return record if (now or datetime.now(UTC)) < datetime.fromisoformat(record["until"]) else None


def _versions(tracking: Tracking) -> dict[str, object]:
    name = tracking.model_name.replace("'", "\\'")
    found = tracking.client().search_model_versions(f"name='{name}'")
    return {str(mv.version): mv for mv in sorted(found, key=lambda mv: int(mv.version))}


def previous_champion(tracking: Tracking, current: str, versions: dict | None = None) -> str | None:
    """The champion before ``current``: the latest in the history that is not ``current``, was not
    rolled back by a person and still exists. Rolling back twice goes two steps back, not back and forth."""
    versions = versions if versions is not None else _versions(tracking)
    for entry in reversed(champion_history(tracking)):
        v = str(entry["version"])
        if v != str(current) and v in versions and ROLLED_BACK_TAG not in versions[v].tags:
            return v
    return None
