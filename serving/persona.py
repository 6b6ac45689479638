"""The SDR list from the manual persona rule, for weeks when there is too little history to train."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.config import Persona, PersonaCondition
from features.names import FeatureWords
from models.baselines import persona_score
from serving.reasons import describe
from serving.vocabulary import number
from serving.vocabulary import words as vocabulary

PERSONA_VERSION = "persona-rule"


def _rule_text(cond: PersonaCondition, lang: str = "en") -> str:
    say = vocabulary(lang, "reasons")
    low, high = number(cond.min, lang), number(cond.max, lang)
    if cond.isin is not None:
        return say["rule_in"].format(values=", ".join(cond.isin))
    if cond.min is not None and cond.max is not None:
        return say["rule_between"].format(min=low, max=high)
    return say["rule_min"].format(min=low) if cond.min is not None else say["rule_max"].format(max=high)


def persona_list(
    features: pd.DataFrame,
    leads: pd.DataFrame,
    persona: Persona,
    *,
    pii_columns: list[str],
    scored_at: datetime | None = None,
    words: FeatureWords | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """Open leads ranked by the share of the persona's conditions they meet (reasons in ``lang``).

    Same columns as the model's list; ``score`` is that share in percent (not a probability), tiers are
    A = all conditions met, B = at least half, C = some, D = none, and the reasons say which condition
    each lead meets or misses, in the dataset's own ``words`` when given. ``model_version`` reads "persona-rule".
    """
    scored_at = scored_at or datetime.now(UTC)
    share = persona_score(features, persona)
    order = np.argsort(-share, kind="stable")
    ranked = features.iloc[order]
    info = leads.set_index("lead_id").loc[ranked.index]
    out = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "lead_id": ranked.index.to_numpy()})
    for col in pii_columns:
        out[col] = info[col].to_numpy()
    out["mql_at"] = info["mql_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy()
    out["score"] = np.round(share[order] * 100, 1)
    out["tier"] = np.select([share[order] == 1, share[order] >= 0.5, share[order] > 0], ["A", "B", "C"], "D")
    for i, cond in enumerate(persona.conditions[:3]):
        met = persona_score(ranked, Persona(description="", conditions=[cond])) == 1
        values = ranked[cond.feature].tolist()
        out[f"reason_{i + 1}"] = [
            f"{'▲' if ok else '▼'} {describe(cond.feature, v, words=words, lang=lang)} ({_rule_text(cond, lang)})"
            for ok, v in zip(met, values, strict=True)
        ]
    for i in range(len(persona.conditions), 3):
        out[f"reason_{i + 1}"] = ""
    out["model_version"] = PERSONA_VERSION
    out["scored_at"] = scored_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
