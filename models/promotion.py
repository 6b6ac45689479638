"""The promotion policy: when a newly trained version replaces the champion. No MLflow in here.

models/tracking/ gathers the facts (the champion's AUC on this run's newest leads, its age, a
rollback hold) and moves the aliases; this module only judges, so that every rule can be tested with
plain values and an injected clock.

The rules, in the order they are checked:
1. Never promote a model the leak alarm or the minimum-data check would stop, nor a version a person
   rolled back. Training stops before registering such a model; the gate checks again, from the
   training result itself, so that no other code path can promote one.
2. The new version's own holdout shows it clearly worse than the logistic-regression baseline (the 95%
   interval of the AUC difference lies below 0): it stays a challenger, whether or not a champion exists
   (with none, ``weekly`` ranks the list by the persona rule, as when there is too little data).
3. No champion yet: the new version becomes champion.
4. The champion cannot score the new feature table (the dataset config changed): it is replaced.
5. A person rolled the champion back less than ``rollback_hold_days`` ago: new versions stay challengers.
6. The new version's AUC is at least the champion's minus ``tolerance``, both on the same newest leads.
7. The champion is older than ``max_champion_age_days`` (since it was registered): it is replaced.
Otherwise the new version is kept as challenger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.leaks import leak_alarm
from models.train import TrainParams, minimum_data_shortfall

# rule names, as logged in the version tag ``gate_rule`` and the run tag of the same name
FIRST_MODEL = "first-model"
CANNOT_SCORE = "champion-cannot-score"
HOLD = "rollback-hold"
AUC_OK = "auc-within-tolerance"
TOO_OLD = "champion-too-old"
AUC_LOW = "auc-below-tolerance"
LEAK = "leak-alarm"
MIN_DATA = "minimum-data"
ROLLED_BACK = "rolled-back-version"
WORSE_THAN_LOGISTIC = "worse-than-logistic"


class PromotionPolicy(BaseModel):
    """When a new version becomes champion (env: LEADSCORE_PROMOTION__TOLERANCE and so on)."""

    tolerance: float = Field(
        0.005, ge=0, le=0.5, description="promote if the new AUC >= the champion's AUC - tolerance, on the same rows"
    )
    max_champion_age_days: float = Field(
        90, ge=0, description="promote whatever the AUC when the champion was registered longer ago; 0 = never"
    )
    rollback_hold_days: float = Field(
        14, ge=0, description="after a rollback, new versions stay challengers this many days; 0 = no hold"
    )


@dataclass(frozen=True)
class ChampionFacts:
    """What the gate knows about the current champion."""

    version: str
    auc: float | None  # on the new version's holdout rows; None when it cannot score them
    age_days: float  # since it was registered
    cannot_score: str | None = None  # why it cannot score the new feature table
    hold_until: datetime | None = None  # a rollback's hold on it
    hold_note: str = ""  # who rolled back, when and why


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["promoted", "kept", "refused"]
    rule: str
    reason: str


def refusals(result) -> list[tuple[str, str]]:
    """(rule, why) for each check a training result fails that bars it from ever being champion.

    Recomputed from the result (its leak audit, holdout AUC and window counts), not read from a flag,
    so that a result that skipped the checks in training is still refused.
    """
    out = []
    leak = leak_alarm(result.audit, float(result.metrics["model"]["roc_auc"]))
    if leak is not None:
        out.append((LEAK, leak))
    floor = getattr(result, "min_class_count", None) or TrainParams().min_class_count
    short = minimum_data_shortfall({w: (f["rows"], f["sqls"]) for w, f in result.windows.items()}, floor)
    if short is not None:
        out.append((MIN_DATA, short))
    return out


def judge(
    policy: PromotionPolicy,
    *,
    version: str,
    challenger_auc: float,
    rows: int,
    champion: ChampionFacts | None,
    refused: list[tuple[str, str]] = (),
    versus_logistic: dict | None = None,
    now: datetime,
) -> Verdict:
    """Apply the rules above to version ``version``; the reason names the rule that decided.

    ``versus_logistic``: the training result's comparison of the model with the logistic-regression
    baseline on its holdout (``diff``, ``low``, ``high``, ``verdict``), when there is one.
    """
    if refused:
        rule, why = refused[0]
        return Verdict("refused", rule, f"refused, never champion: {'; '.join(w for _, w in refused)}")
    if versus_logistic is not None and versus_logistic.get("verdict") == "worse":
        v = versus_logistic
        stays = f"champion v{champion.version} stays" if champion is not None else "no champion yet"
        return Verdict(
            "kept",
            WORSE_THAN_LOGISTIC,
            f"kept as challenger: on its own holdout it is clearly worse than the logistic-regression baseline "
            f"(AUC {v['diff']:+.3f}, 95% interval {v['low']:+.3f} to {v['high']:+.3f}); {stays}",
        )
    if champion is None:
        return Verdict("promoted", FIRST_MODEL, "first model: becomes champion")
    c = champion
    if c.auc is None:
        why = f"champion v{c.version} cannot score the new feature table ({c.cannot_score}): replaced"
        return Verdict("promoted", CANNOT_SCORE, why)
    versus = (
        f"AUC {challenger_auc:.4f} vs champion v{c.version} {c.auc:.4f} on the same {rows} newest leads "
        f"(tolerance {policy.tolerance})"
    )
    if c.hold_until is not None and now < c.hold_until:
        return Verdict(
            "kept",
            HOLD,
            f"kept as challenger: champion v{c.version} is held after a rollback until "
            f"{c.hold_until.isoformat(timespec='seconds')} ({c.hold_note}); {versus}",
        )
    if challenger_auc >= c.auc - policy.tolerance:
        return Verdict("promoted", AUC_OK, f"promoted: {versus}")
    if policy.max_champion_age_days and c.age_days > policy.max_champion_age_days:
        return Verdict(
            "promoted",
            TOO_OLD,
            f"promoted: champion v{c.version} is {c.age_days:.0f} days old (maximum "
            f"{policy.max_champion_age_days:g}), although {versus}",
        )
    return Verdict("kept", AUC_LOW, f"kept as challenger: {versus}")
