"""Rolling the champion back to an earlier version, by a person, with the checks that keep it able to score."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from features.build import feature_columns
from features.config import DatasetConfig
from models import promotion
from models.promotion import PromotionPolicy
from models.scorer import LeadScoreModel
from models.tracking.client import CHALLENGER, CHAMPION, ModelLoadError, Tracking, champion_version
from models.tracking.history import (
    BY_ROLLBACK_TAG,
    HOLD_TAG,
    ROLLED_BACK_TAG,
    _append_champion_history,
    _now_iso,
    _versions,
    champion_history,
    previous_champion,
)
from models.tracking.records import NOTE_CHARS
from models.tracking.registry import load_scorer


class RollbackError(ValueError):
    """A rollback refused (unknown version, already champion, cannot score the dataset); nothing changed."""


def _scoring_problem(target: LeadScoreModel, dataset: str, config: DatasetConfig | None) -> str | None:
    """Why a version cannot score the dataset the champion scores, or None."""
    if config is not None and dataset and dataset != config.name:
        return f"it was trained on dataset '{dataset}', the current champion scores '{config.name}'"
    if config is None:
        return None
    cats, nums = feature_columns(config)
    lacking = [f for f in target.categorical if f not in cats] + [f for f in target.numeric if f not in nums]
    if lacking:
        return (
            f"the feature table of dataset config '{config.name}' lacks, or has with another kind, the feature(s) "
            f"{lacking} it was trained on"
        )
    return None


def rollback(
    tracking: Tracking,
    *,
    by: str,
    reason: str,
    to: str | None = None,
    config: DatasetConfig | None = None,
    hold_days: float = PromotionPolicy().rollback_hold_days,
    now: datetime | None = None,
) -> dict:
    """Make ``to`` (default: the previous champion) the champion again, logging who, when and why.

    Refused (RollbackError, nothing changed) for an unknown version, the current champion, a version the
    promotion policy refused, or one that cannot score the dataset: ``config`` (default: the dataset config
    saved with the current champion). The version moved away from is tagged ``rolled_back``, so neither
    the gate nor a later rollback brings it back by itself; the new champion is held for ``hold_days``.
    """
    name = tracking.model_name
    current = champion_version(tracking)
    if current is None:
        raise RollbackError(f"model '{name}' has no champion to roll back; nothing was changed")
    versions = _versions(tracking)
    target = str(to).removeprefix("v") if to is not None else previous_champion(tracking, current, versions)
    if target is None:
        history = " -> ".join(f"v{h['version']}" for h in champion_history(tracking)) or "empty"
        raise RollbackError(
            f"no earlier champion of '{name}' to roll back to (champion history: {history}; the current champion and "
            f"versions rolled back do not count); pass --to VERSION (versions: {', '.join(versions)}); "
            "nothing was changed"
        )
    if target not in versions:
        raise RollbackError(f"no version {target} of '{name}' (versions: {', '.join(versions)}); nothing was changed")
    if target == current:
        raise RollbackError(f"v{target} is already the champion; nothing was changed")
    tags = dict(versions[target].tags)
    if tags.get("gate_rule") in (promotion.LEAK, promotion.MIN_DATA):  # a rolled-back version may come back
        raise RollbackError(
            f"v{target} was refused by the promotion policy ({tags.get('gate_decision', tags['gate_rule'])}); "
            "nothing was changed"
        )
    uri = f"models:/{name}/{target}"
    try:
        scorer = load_scorer(tracking, uri)
    except ModelLoadError as exc:
        raise RollbackError(f"v{target} cannot be loaded, so it cannot score: {exc}; nothing was changed") from None
    if config is None:
        try:
            config = load_scorer(tracking, f"models:/{name}/{current}").dataset_config
        except ModelLoadError:
            config = None  # then only the dataset names can be compared
    dataset = tags.get("dataset", "")
    current_dataset = dict(versions[current].tags).get("dataset", "")
    if config is None and dataset and current_dataset and dataset != current_dataset:
        problem = f"it was trained on dataset '{dataset}', the current champion scores '{current_dataset}'"
    else:
        problem = _scoring_problem(scorer, dataset, config)
    if problem:
        raise RollbackError(f"v{target} cannot score this dataset: {problem}; nothing was changed")

    at = _now_iso(now)
    reason = reason.strip()[:NOTE_CHARS] or "no reason given"
    by = by.strip() or "unknown"
    client = tracking.client()
    client.set_registered_model_alias(name, CHAMPION, target)
    if str(client.get_registered_model(name).aliases.get(CHALLENGER, "")) == target:
        client.delete_registered_model_alias(name, CHALLENGER)  # search results carry no aliases: ask the model
    record = {"by": by, "at": at, "reason": reason}
    client.set_model_version_tag(name, target, BY_ROLLBACK_TAG, json.dumps({**record, "from": current}))
    if ROLLED_BACK_TAG in tags:  # a person chose it again
        client.delete_model_version_tag(name, target, ROLLED_BACK_TAG)
    client.set_model_version_tag(name, current, ROLLED_BACK_TAG, json.dumps({**record, "to": target}))
    until = None
    if hold_days > 0:
        until = (datetime.fromisoformat(at) + timedelta(days=hold_days)).isoformat(timespec="seconds")
        client.set_registered_model_tag(name, HOLD_TAG, json.dumps({"version": target, **record, "until": until}))
    elif HOLD_TAG in client.get_registered_model(name).tags:
        client.delete_registered_model_tag(name, HOLD_TAG)
    _append_champion_history(tracking, {"version": target, "how": "rollback", "from": current, **record}, now)
    return {
        "status": "ok",
        "model": uri,
        "from_version": current,
        "to_version": target,
        "by": by,
        "at": at,
        "reason": reason,
        "hold_until": until,
        "dataset": dataset,
        "tier_cutoffs": json.loads(tags["tier_cutoffs"]) if "tier_cutoffs" in tags else None,
        "holdout_auc": tags.get("holdout_auc"),
    }
