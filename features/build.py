"""Point-in-time features: each lead as it looked at its MQL moment, for training and scoring alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.canonical import lead_positions
from features.config import DatasetConfig
from features.feature_ids import OTHER, activity_ids, feature_columns, window_feature
from features.related import value_columns
from features.seniority import seniority_from_title

DAY_S = 86_400.0
BLOCK = 1 << 20  # activities per block where a step's temporaries would otherwise hold all of them

# the whole domain must be a free provider's (gmail.com, yahoo.com.mx), not merely start like one (me.gob.mx)
FREE_EMAIL_DOMAINS = (
    r"^(?:gmail|googlemail|hotmail|yahoo|outlook|live|icloud|me|aol|msn|proton|protonmail|gmx"
    r"|yandex|terra|uol|bol|prodigy|latinmail)\.(?:com|net|org|es|[a-z]{2}|com?\.[a-z]{2})$"
)


def email_type(emails: pd.Series) -> pd.Series:
    """'free' (gmail, hotmail...) or 'corporate' by domain; missing where there is no usable email."""
    text = emails.astype("str").where(emails.notna(), "").str.strip().str.lower()
    # the domain is what follows the last '@'; no provider pattern holds an '@', so "the text ends in '@'
    # and a free domain" is "the domain after the last '@' is a free one", read without splitting the text
    valid = text.str.contains("@", regex=False) & ~text.str.endswith("@")
    free = text.str.contains("@" + FREE_EMAIL_DOMAINS.removeprefix("^"), regex=True)
    kind = np.where(free.to_numpy(dtype=bool, na_value=False), "free", "corporate")
    return pd.Series(kind, index=emails.index, dtype="str").where(valid)


def build_features(leads: pd.DataFrame, activities: pd.DataFrame | None, *, config: DatasetConfig) -> pd.DataFrame:
    """Feature table indexed by lead_id, as known at each lead's MQL moment (``mql_at``).

    Activities after a lead's cutoff are never read, so the same function serves training and scoring.
    PII columns are never features: only the email's domain kind is derived from the email.
    Inputs are not modified.
    """
    cats, nums = feature_columns(config)
    n = len(leads)
    cutoff = leads["mql_at"].to_numpy(dtype="datetime64[ns]")
    feats: dict[str, pd.Series | np.ndarray] = {}
    # text features stay Arrow-backed text arrays (as the frame's columns are): to_numpy made 5 columns of
    # Python strings only for the frame below to turn them back into Arrow text
    for name in config.names_with_role("categorical"):
        feats[name] = leads[name].astype("str").where(leads[name].notna()).array
    if config.features.title_attribute:
        feats["seniority"] = _per_distinct(seniority_from_title, leads[config.features.title_attribute]).array
    if config.features.email_attribute:
        feats["email_type"] = email_type(leads[config.features.email_attribute]).to_numpy()
    for name in config.names_with_role("numeric"):
        feats[name] = leads[name].to_numpy(dtype=float)
    if "days_created_to_mql" in nums:
        created = leads["created_at"].to_numpy(dtype="datetime64[ns]")
        feats["days_created_to_mql"] = (cutoff - created) / np.timedelta64(1, "s") / DAY_S
    if "mql_month" in nums:
        feats["mql_month"] = leads["mql_at"].dt.month.to_numpy(dtype=float)

    if config.has_activities:
        feats.update(_activity_features(leads, activities, cutoff, config, n))

    out = pd.DataFrame(feats, index=pd.Index(leads["lead_id"].to_numpy(), name="lead_id"))
    for c in cats:
        out[c] = out[c].astype("str").where(out[c].notna())
    for c in nums:
        out[c] = out[c].astype("float64")
    return out[cats + nums]


def _per_distinct(rule, values: pd.Series) -> pd.Series:
    """``rule(values)`` computed once per distinct value (job titles repeat: thousands of distinct titles
    among a million leads) and spread back to every row; the same values as ``rule(values)``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) > len(values) // 2:  # mostly distinct: nothing to gain
        return rule(values)
    per_value = rule(pd.Series(uniques, dtype=values.dtype))
    return per_value.iloc[codes].set_axis(values.index)


def _activity_features(
    leads: pd.DataFrame, activities: pd.DataFrame | None, cutoff: np.ndarray, config: DatasetConfig, n: int
) -> dict[str, np.ndarray]:
    spec = config.features
    kind_names: list = []
    if activities is None or activities.empty:
        pos = np.empty(0, dtype=np.int64)
        age = np.empty(0)
        kind_codes = np.empty(0, dtype=np.int64)
        values: dict[str, np.ndarray] = {}
    else:
        # each activity's lead: as the contract found it when it validated these tables, else matched in
        # Arrow (turning 20M ids into Python strings first took two thirds of the time at 1M leads)
        pos = lead_positions(leads["lead_id"], activities["lead_id"])
        if pos is None:
            index = pc.index_in(pa.array(activities["lead_id"], from_pandas=True), value_set=pa.array(leads["lead_id"]))
            pos = index.fill_null(-1).to_numpy()
        pos = pos.astype(np.int64)
        known = pos >= 0
        everyone = bool(known.all())  # as after validation: no copy of 20M positions to drop none
        pos = pos if everyone else pos[known]
        occurred = activities["occurred_at"].to_numpy(dtype="datetime64[ns]")
        occurred = occurred if everyone else occurred[known]
        age = np.empty(len(pos))
        for lo in range(0, len(pos), BLOCK):  # in blocks: three temporaries of 20M values took 480 MB
            block = slice(lo, lo + BLOCK)
            age[block] = (cutoff[pos[block]] - occurred[block]) / np.timedelta64(1, "s") / DAY_S
        del occurred
        # point in time: only what had happened by the lead's MQL moment
        seen = age >= 0
        pos, age = pos[seen], age[seen]
        codes, uniques = pd.factorize(activities["activity_type"], use_na_sentinel=False)
        # the type's code in the smallest integer that holds it: 7 bytes less per activity than int64
        small = np.min_scalar_type(-max(len(uniques), 1))
        kind_codes = (codes if everyone else codes[known])[seen].astype(small)
        del codes
        kind_names = list(uniques)
        # numeric values of event tables (pages in a session): summed per window like the counts below
        values = {
            v: np.nan_to_num(activities[v].to_numpy(dtype=float)[known][seen])
            if v in activities
            else np.zeros(len(pos))
            for v in value_columns(config)
        }

    out: dict[str, np.ndarray] = {}
    for v in value_columns(config):
        weight = values.get(v, np.zeros(len(pos)))
        for w in spec.windows:
            inside = age <= w
            out[f"{v}_sum_{w}d"] = np.bincount(pos[inside], weights=weight[inside], minlength=n).astype(float)
    code_of = {k: i for i, k in enumerate(kind_names)}
    n_kinds = max(len(kind_names), 1)
    # one count per (lead, kind) and window: a bincount over lead * kinds + kind per window, instead of a
    # mask and a bincount per type and window (27 passes over the 20M activities of 1M leads, now 3)
    key = pos * n_kinds + kind_codes
    per_window = {}
    for w in sorted(set(spec.windows) | {7, 30}):
        per_window[w] = np.bincount(key[age <= w], minlength=n * n_kinds).astype(np.int32).reshape(n, n_kinds)
    for t, kid in activity_ids(config).items():
        j = code_of.get(t.strip())  # the export's types are read stripped; a type absent here counts nothing
        for w in spec.windows:
            out[window_feature(kid, w)] = per_window[w][:, j].astype(float) if j is not None else np.zeros(n)
    for w in spec.windows:
        out[f"activities_{w}d"] = per_window[w].sum(axis=1).astype(float)
    if spec.other_types:
        # rare types pooled into one count per window: each alone is too thin to learn from
        pooled = [code_of[t.strip()] for t in spec.other_types if t.strip() in code_of]
        for w in spec.windows:
            out[window_feature(OTHER, w)] = per_window[w][:, pooled].sum(axis=1).astype(float)

    recent = age <= 90
    # one key per (lead, kind) seen in 90 days; sort and keep the first of each run (np.unique's hashing
    # took 5 s on the 15M keys of 1M leads, the sort 0.2 s)
    keys = key[recent]  # the keys above, not made again (four temporaries of 20M values at 1M leads)
    del key, kind_codes
    keys.sort()
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    out["distinct_types_90d"] = np.bincount(keys[first] // n_kinds, minlength=n).astype(float)
    del keys, first
    last = np.full(n, np.inf)
    np.minimum.at(last, pos, age)
    out["days_since_last_activity"] = np.where(np.isinf(last), np.nan, last)
    decay = np.negative(age)  # exp(-age * log 2 / half-life), the same operations in place
    decay *= np.log(2)
    decay /= spec.recency_half_life_days
    np.exp(decay, out=decay)
    out["engagement_recency_weighted"] = np.bincount(pos, weights=decay, minlength=n)
    a7, a30 = per_window[7].sum(axis=1), per_window[30].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["velocity_7d_vs_30d"] = np.where(a30 > 0, (a7 / 7.0) / (a30 / 30.0), np.nan)
    return out
