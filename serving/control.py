"""The randomised control group: a stable share of each list's open leads that the team works without the model.

The lift of the list can only be measured against leads the model did not rank. With ``control_share`` = s,
each open lead goes to the control group when a keyed hash of its id, read as a number in [0, 1), is below s:
the same lead is in the same group in every week and every rerun (with the same salt), whatever else is in
the batch. The control leads form their own section of the list, ranked the way the team works without the
model (the persona rule, as ``serving.persona.persona_list`` ranks it), with the model's score, tier and
reasons withheld, so nothing of the model steers the work on them.

How the list reads with a control group on: a ``group`` column ("model"/"control") on every row; the model
group first, ranked as without a control group (``rank`` 1..n_model); then the control group, ranked by the
persona rule, its ``rank`` continuing n_model+1..n (its rank within the group is ``rank - n_model``, the
``persona_rank`` of the assignment file). A capacity is split between the groups in proportion to their
sizes: the control group's share of it goes to the top of its persona ranking.

The assignment (``list_assignment.parquet`` in each archived set, for every list a model scored, share 0
included) is what ``leadscore impact`` reads: ``lead_id``, ``group``, ``p_model`` (score / 100, the
calibrated probability as the list shows it, also for the control leads whose score the list withholds),
``worked`` and ``persona_rank``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from features.config import Persona
from models.baselines import persona_score

MODEL, CONTROL = "model", "control"
WORKED_TIERS = ("A", "B", "C")  # without a capacity, the model group's working list is tiers A-C
# murmur3's 64-bit finaliser: every input bit moves every output bit (an avalanche), with numpy's wrapping uint64
_M1, _M2, _S = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _S)
    h = h * _M1
    h = h ^ (h >> _S)
    h = h * _M2
    return h ^ (h >> _S)


def uniform(lead_ids, salt: str) -> np.ndarray:
    """A number in [0, 1) per lead id, fixed by the id and the salt alone (the same on every machine and run).

    Vectorised over the ids' bytes (UTF-8) in 8-byte words: the salt's BLAKE2b digest seeds the hash, each
    word is mixed in with murmur3's finaliser, the byte length last; the top 53 bits make the number. About
    0.05 s for a million ids on one core, where BLAKE2b per id in a Python loop takes 0.6 s
    (benchmarks/bench_control.py measures it).
    """
    arr = pa.array(pd.Series(lead_ids, dtype="str"), from_pandas=True)  # Arrow-backed text: no Python strings
    arr = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).cast(pa.large_string())
    if arr.null_count:
        raise ValueError("a lead without an id cannot be assigned to a group")
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    raw = np.concatenate([raw, np.zeros(8, np.uint8)])  # the last word of the last id reads into zeros
    # the 8 bytes from every position, as one little-endian word each (an unaligned view: no copy)
    words = np.ndarray((len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))
    start, length = off[:-1], np.diff(off)
    seed = int.from_bytes(hashlib.blake2b(salt.encode("utf-8"), digest_size=8).digest(), "little")
    h = np.full(len(arr), seed, dtype=np.uint64)
    for j in range(0, int(length.max(initial=0)), 8):
        left = np.clip(length - j, 0, 8).astype(np.uint64)  # the id's bytes in this word; the rest are masked
        mask = np.where(left == 8, _ALL, (np.uint64(1) << (left * np.uint64(8))) - np.uint64(1))
        mixed = _fmix(h ^ (words[np.minimum(start + j, len(words) - 1)] & mask))
        h = np.where(left > 0, mixed, h)  # an id's rounds are its own words: never the batch's longest id's
    h = _fmix(h ^ length.astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def in_control(lead_ids, share: float, salt: str) -> np.ndarray:
    """True for the leads of the control group: their ``uniform`` number is below ``share``."""
    if share <= 0:
        return np.zeros(len(lead_ids), dtype=bool)
    return uniform(lead_ids, salt) < share


def _groups(n_model: int, n_control: int) -> pd.Series:
    """ "model" n_model times, then "control": text built by Arrow (a million numpy strings take half a second)."""
    codes = pa.array(np.repeat(np.array([0, 1], dtype=np.int8), [n_model, n_control]))
    text = pa.DictionaryArray.from_arrays(codes, pa.array([MODEL, CONTROL])).cast(pa.string())
    return pd.Series(pd.array(text, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


@dataclass(frozen=True)
class Split:
    """A scored list split in two: the model group (ranked as scored) and the control group (persona order)."""

    model: pd.DataFrame  # the model group's rows, ``rank`` 1..n_model
    control: pd.DataFrame  # the control group's rows, best persona share first, score/tier/reasons withheld
    p_control: np.ndarray  # the control rows' withheld probabilities, in the same order
    share: float
    salt: str


def split_list(scored: pd.DataFrame, features: pd.DataFrame, persona: Persona, *, share: float, salt: str) -> Split:
    """Split ``score_leads``'s list into the model group and the persona-ranked, score-withheld control group.

    ``features`` (indexed by lead id) are the listed leads' features in the export's order: the persona rule
    ranks the control leads by the share of its conditions they meet, ties in that order, as the persona
    week does (never in the model's order, which would let the model steer the control group).
    With ``share`` 0 the model group is ``scored`` itself, untouched.
    """
    empty = scored.iloc[:0]
    if share <= 0:
        return Split(scored, empty, np.zeros(0), 0.0, salt)
    control = in_control(scored["lead_id"], share, salt)
    model = scored[~control].reset_index(drop=True)
    model["rank"] = np.arange(1, len(model) + 1, dtype=scored["rank"].dtype)
    rows = scored[control]
    mine = in_control(features.index, share, salt)  # the control leads again (an id's hash is its own), in export order
    by_persona = np.argsort(-persona_score(features[mine], persona), kind="stable")
    at = pd.Index(rows["lead_id"].astype(str)).get_indexer(features.index[mine].astype(str)[by_persona])
    if len(at) != len(rows) or (at < 0).any():
        raise ValueError("the control leads on the list and their feature rows differ: score and features disagree")
    rows = rows.take(at).reset_index(drop=True)
    p = rows["score"].to_numpy(dtype=float) / 100
    rows["rank"] = np.arange(len(model) + 1, len(model) + len(rows) + 1, dtype=scored["rank"].dtype)
    rows["score"] = np.nan
    rows["tier"] = ""
    for c in ("reason_1", "reason_2", "reason_3"):
        rows[c] = ""
    return Split(model, rows, p, float(share), salt)


def split_capacity(capacity: int | None, n_model: int, n_control: int) -> tuple[int | None, int | None]:
    """The capacity of each group, in proportion to its leads (the control's rounded, the model's the rest).

    The model group's is 0 only when it has no lead (then the control group has the whole capacity)."""
    if not capacity:
        return capacity, None
    total = n_model + n_control
    control = round(capacity * n_control / total) if total else 0
    if n_model and control >= capacity:  # the model group keeps at least one lead to work
        control = capacity - 1
    return capacity - control, control


def shape_week(
    split: Split, shape: Callable[[pd.DataFrame, int | None], tuple[pd.DataFrame, dict]], capacity: int | None
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """The week's list, its facts and its assignment: ``shape`` (the working list, trends, KPIs) on the model
    group with its share of the capacity, then the control section below it with the rest.

    With share 0 the list is exactly ``shape``'s (no ``group`` column); the facts gain ``control`` either way.
    Trend columns stay empty on control rows: a score trend would give away the withheld score.
    """
    cap_model, cap_control = split_capacity(capacity, len(split.model), len(split.control))
    model, facts = shape(split.model, cap_model)
    if capacity:
        worked_model = (model["this_week"] == "yes").to_numpy()
        n_worked = cap_control or 0
    else:
        worked_model = model["tier"].isin(WORKED_TIERS).to_numpy()
        # the same share of the control group as the model group works, from the top of the persona ranking
        n_worked = round(len(split.control) * worked_model.mean()) if len(model) else 0
    n_worked = min(n_worked, len(split.control))
    worked_control = np.arange(len(split.control)) < n_worked
    if split.share > 0:
        control = split.control.copy()
        for col in model.columns.difference(control.columns, sort=False):
            blank = np.nan if pd.api.types.is_numeric_dtype(model[col]) else ""
            control[col] = np.where(worked_control, "yes", "no") if col == "this_week" else blank
        listed = pd.concat([model, control[model.columns]], ignore_index=True)
        listed.insert(int(listed.columns.get_loc("score")), "group", _groups(len(model), len(control)))
    else:
        listed = model
    n_model, n_control = len(model), len(split.control)
    persona_rank = np.concatenate([np.zeros(n_model, np.int64), np.arange(1, n_control + 1)])
    assignment = pd.DataFrame(
        {
            "lead_id": listed["lead_id"].astype("str").reset_index(drop=True),
            "group": _groups(n_model, n_control),
            "p_model": np.concatenate([model["score"].to_numpy(dtype=float) / 100, split.p_control]),
            "worked": np.concatenate([worked_model, worked_control]),
            "persona_rank": pd.arrays.IntegerArray(persona_rank, persona_rank == 0),  # null for model rows
        }
    )
    facts["control"] = control_facts(split, n_worked, cap_model, cap_control)
    return listed, facts, assignment


def control_facts(split: Split, n_worked: int, cap_model: int | None, cap_control: int | None) -> dict:
    """The summary's ``list.control``: share, leads and salt; when on, what the control group costs this week.

    The cost: the control leads the team works are the top ``n_worked`` of the persona ranking; the model
    would have picked the control group's ``n_worked`` best-scored leads instead. The expected SQLs given up
    are the difference of the two sums of probabilities (0 when the persona rule picks the model's best).
    """
    out: dict = {"share": split.share, "leads": len(split.control), "salt": split.salt}
    if split.share <= 0:
        return out
    p = split.p_control
    worked = float(p[:n_worked].sum())
    best = float(np.sort(p)[::-1][:n_worked].sum())
    out |= {
        "model_leads": len(split.model),
        "worked": int(n_worked),
        **({"capacity_model": cap_model, "capacity_control": cap_control} if cap_control is not None else {}),
        "expected_sqls_worked": round(worked, 2),
        "expected_sqls_model_pick": round(best, 2),
        "expected_sqls_given_up": round(best - worked, 2),
    }
    return out


def working_list_line(capacity: Mapping, control: Mapping | None) -> str:
    """The console's sentence about this week's working list (``planning.mark_capacity``'s facts).

    With a control group the capacity in those facts is the model group's share of it: the sentence says so,
    and how the capacity asked for was split (``control_facts``), so "the best 79" reads right when 100 was asked.
    """
    c, split = capacity, control is not None and control.get("capacity_control") is not None
    best = f"the best {c['leads']:,} leads (this_week=yes)"
    if split:
        m, k = control["capacity_model"], control["capacity_control"]
        best = (
            f"the best {c['leads']:,} of the model group's leads (this_week=yes; the capacity of {m + k:,} "
            f"split: {m:,} model, {k:,} control)"
        )
    return (
        f"This week's working list: {best}, {c['expected_sqls']:.1f} SQLs expected in it; "
        f"{c['expected_sqls_remainder']:.1f} expected in the other {c['leads_remainder']:,}."
    )


def control_line(c: Mapping) -> str:
    """The console's sentence about a control group that is on (``control_facts``): size, leads worked, cost."""
    return (
        f"Control group on ({100 * c['share']:.1f}% of the open leads): {c['leads']:,} leads ranked by the persona "
        f"rule below the model's {c['model_leads']:,} (group=control, score and tier withheld); {c['worked']:,} "
        f"of them worked this week. Expected SQLs given up: {c['expected_sqls_given_up']:.1f} (the model's "
        f"{c['worked']:,} best control leads {c['expected_sqls_model_pick']:.1f}, the persona rule's "
        f"{c['expected_sqls_worked']:.1f}); the lift is measured by `leadscore impact`."
    )
