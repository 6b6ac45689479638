"""Tier cut-offs as a versioned decision: who set them, when and why, with their history, on a registry version."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException

from models.cutoffs import validate_cutoffs
from models.tracking.client import CHAMPION, ModelLoadError, Tracking, champion_version, display_uri

DEFAULT_SETTER = "leadscore (default)"  # tier_cutoffs_set_by of cut-offs no person chose
HISTORY_TAG = "tier_cutoffs_history"
HISTORY_KEEP, HISTORY_CHARS, NOTE_CHARS = 20, 4800, 300  # the history tag stays small


class CutoffError(ValueError):
    """Cut-offs refused (not A > B > C within 0-100), or a model with nowhere to keep them."""


def _history(tags: dict[str, str]) -> list[dict]:
    """A version's cut-off history, oldest first; a version registered before the history was kept
    starts it with its current cut-offs."""
    if HISTORY_TAG in tags:
        return json.loads(tags[HISTORY_TAG])
    if "tier_cutoffs" not in tags:
        return []
    return [
        {
            "cutoffs": json.loads(tags["tier_cutoffs"]),
            "by": tags.get("tier_cutoffs_set_by", ""),
            "at": tags.get("tier_cutoffs_set_at", ""),
            "note": tags.get("tier_cutoffs_note", ""),
        }
    ]


def _decision_tags(decision: dict, history: list[dict]) -> dict[str, str]:
    history = [*history, decision][-HISTORY_KEEP:]
    while len(history) > 1 and len(json.dumps(history)) > HISTORY_CHARS:
        history = history[1:]
    return {
        "tier_cutoffs": json.dumps(decision["cutoffs"]),
        "tier_cutoffs_set_by": decision["by"],
        "tier_cutoffs_set_at": decision["at"],
        "tier_cutoffs_note": decision["note"],
        HISTORY_TAG: json.dumps(history, ensure_ascii=False),
    }


def _human_cutoffs_of_champion(tracking: Tracking, dataset: str) -> tuple[str, dict[str, str]] | None:
    """The champion's cut-offs if a person set them on a model of the same dataset, else None."""
    version = champion_version(tracking)
    if version is None:
        return None
    tags = dict(tracking.client().get_model_version(tracking.model_name, version).tags)
    if "tier_cutoffs" not in tags or tags.get("tier_cutoffs_set_by", DEFAULT_SETTER) == DEFAULT_SETTER:
        return None
    if tags.get("dataset", dataset) != dataset:  # another export's decision says nothing about this one
        return None
    return version, tags


def registry_version(tracking: Tracking, uri: str | None = None):
    """The registry version behind ``uri`` (models:/name/N or models:/name@alias; default the champion)."""
    uri = uri or f"models:/{tracking.model_name}@{CHAMPION}"
    if not uri.startswith("models:/"):
        raise CutoffError(f"'{uri}' is not a registered model version: cut-offs live on models:/<name>/<version>")
    name, _, alias = uri.removeprefix("models:/").partition("@")
    client = tracking.client()
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        name, _, number = name.partition("/")
        return client.get_model_version(name, number)
    except MlflowException as exc:
        raise ModelLoadError(
            f"no model version '{uri}' in {display_uri(tracking.tracking_uri)}: {str(exc).splitlines()[0]}. "
            "Train one first (`leadscore weekly`), or pass --model with an existing version "
            "(e.g. models:/lead-scoring/1)."
        ) from None


def cutoff_record(tracking: Tracking, uri: str | None = None) -> dict:
    """A version's current tier cut-offs (who set them, when, why) and their history, oldest first."""
    mv = registry_version(tracking, uri)
    tags = dict(mv.tags)
    if "tier_cutoffs" not in tags:
        raise CutoffError(f"model version {mv.name}/{mv.version} has no tier cut-offs")
    return {
        "model": f"models:/{mv.name}/{mv.version}",
        "version": str(mv.version),
        "aliases": list(getattr(mv, "aliases", []) or []),
        "current": {
            "cutoffs": json.loads(tags["tier_cutoffs"]),
            "by": tags.get("tier_cutoffs_set_by", ""),
            "at": tags.get("tier_cutoffs_set_at", ""),
            "note": tags.get("tier_cutoffs_note", ""),
        },
        "history": _history(tags),
    }


def set_cutoffs(tracking: Tracking, cutoffs: dict[str, float], *, by: str, note: str, uri: str | None = None) -> dict:
    """Store new tier cut-offs on a registry version, with who, when and why, and append them to its history.

    Refused (CutoffError, nothing changed) unless A > B > C within 0-100 and ``by`` names someone.
    """
    try:
        clean = validate_cutoffs(cutoffs)
    except ValueError as exc:
        raise CutoffError(f"{exc}; nothing was changed") from None
    if not by.strip():
        raise CutoffError("say who sets the cut-offs (--by NAME); nothing was changed")
    mv = registry_version(tracking, uri)
    decision = {
        "cutoffs": clean,
        "by": by.strip(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": note.strip()[:NOTE_CHARS],
    }
    client = tracking.client()
    # the history goes last: a reader who sees it sees the current tags it ends with
    for key, value in _decision_tags(decision, _history(dict(mv.tags))).items():
        client.set_model_version_tag(mv.name, mv.version, key, value)
    return cutoff_record(tracking, f"models:/{mv.name}/{mv.version}")
