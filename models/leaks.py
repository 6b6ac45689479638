"""Leak alarm and field audit: which columns look like they were written after the outcome.

Every candidate column is ranked by how suspicious it is, with the evidence a person can check:
- its own AUC against the label on the training window;
- how much a quick model loses on the next window without it;
- how many leads sit in values that decide the outcome almost alone (a category or a range of a number
  with 30+ leads converting at >= 97% or <= 1%);
- a name cue (status, stage, tag, quality, result, duration...).
No column is named in the code: the evidence alone ranks them.
"""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.config import DatasetConfig
from features.feature_ids import activity_ids, value_ids, window_feature
from features.names import display_names
from models.metrics import fast_auc
from models.scorer import LeadScoreModel, learn_categories, to_matrix

STOP_AUC = 0.95
NAME_CUES = re.compile(
    r"status|stage|tag|quality|result|outcome|duration|score|index|profile|last|won|lost|closed|convert"
    r"|disposition|reason|rating|grade|qualif|stat[eu]|etapa|estado|resultado|calidad",
    re.IGNORECASE,
)
PURE_HIGH, PURE_LOW, PURE_MIN_LEADS = 0.97, 0.01, 30
DROP_CHECK_TOP = 8  # retraining without a column costs a fit: only for the most suspicious candidates
AUDIT_MAX_ROWS = 20_000


class LeakSuspected(ValueError):
    """The run stopped: a column, or the model, ranks the outcome too well to be true."""


def single_auc(values: pd.Series, y: np.ndarray, categorical: bool) -> float:
    """max(AUC, 1 - AUC) of one column on its own (categories scored by their conversion rate)."""
    if categorical:
        key = values.astype("str").fillna("(missing)")
        score = key.map(pd.Series(y, index=values.index).groupby(key).mean()).to_numpy(dtype=float)
    else:
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        score = np.where(np.isnan(v), np.nanmin(v) - 1 if np.isfinite(v).any() else 0.0, v)
    if len(np.unique(score)) < 2 or y.min() == y.max():
        return 0.5
    auc = fast_auc(y, score)
    return max(auc, 1 - auc)


def pure_share(values: pd.Series, y: np.ndarray, categorical: bool) -> tuple[float, str]:
    """Share of leads in values (categories, or 20 quantile ranges) that decide the outcome almost alone."""
    if categorical:
        key = values.astype("str").fillna("(missing)")
    else:
        v = pd.to_numeric(values, errors="coerce")
        key = pd.qcut(v.rank(method="first"), 20, labels=False, duplicates="drop").astype("float").fillna(-1)
        key = key.where(v.notna(), -1)
    grp = pd.DataFrame({"k": key.to_numpy(), "y": y, "v": values.to_numpy()}).groupby("k")
    stats = grp["y"].agg(["size", "mean"])
    pure = stats[(stats["size"] >= PURE_MIN_LEADS) & ((stats["mean"] >= PURE_HIGH) | (stats["mean"] <= PURE_LOW))]
    if pure.empty:
        return 0.0, ""
    top = pure.sort_values("size", ascending=False).iloc[0]
    label = top.name if categorical else _range_label(grp.get_group(top.name)["v"])
    return float(pure["size"].sum() / len(y)), f"'{label}': {int(top['size'])} leads, {top['mean']:.0%} SQL"


def _range_label(v: pd.Series) -> str:
    v = pd.to_numeric(v, errors="coerce")
    return "missing" if v.isna().all() else f"{v.min():g} to {v.max():g}"


def _quick_auc(M_tr: np.ndarray, y_tr, M_ev: np.ndarray, y_ev, n_categorical: int, seed: int) -> float:
    """AUC on the evaluation rows of a quick LightGBM fit; categoricals are the matrices' first columns."""
    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "verbosity": -1,
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
    }
    train = lgb.Dataset(M_tr, label=y_tr, categorical_feature=list(range(n_categorical)))
    booster = lgb.train(params, train, num_boost_round=150)
    return fast_auc(y_ev, booster.predict(M_ev))


def field_audit(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_eval: pd.DataFrame,
    y_eval: np.ndarray,
    *,
    categorical: list[str],
    numeric: list[str],
    candidates: list[str] | None = None,
    sources: dict[str, str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Every candidate column ranked by suspicion, most suspicious first, with its evidence.

    ``candidates``: the columns that come from the export (default: every feature). Features computed
    point in time from the activity log cannot leak, so the pipeline leaves them out.
    """
    sources = sources or {}
    candidates = candidates if candidates is not None else categorical + numeric
    if len(X_train) > AUDIT_MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(X_train), AUDIT_MAX_ROWS, replace=False)
        X_train, y_train = X_train.iloc[keep], y_train[keep]
    rows = []
    for col in candidates:
        is_cat = col in categorical
        share, example = pure_share(X_train[col], y_train, is_cat)
        name = sources.get(col, col)
        cue = NAME_CUES.search(f"{name} {col}")
        rows.append(
            {
                "feature": col,
                "source": name,
                "auc_alone": single_auc(X_train[col], y_train, is_cat),
                "pure_share": share,
                "pure_example": example,
                "name_cue": cue.group(0).lower() if cue else "",
                "drop_loss": np.nan,
            }
        )
    audit = pd.DataFrame(rows)
    audit["suspicion"] = _suspicion(audit)
    # the model's loss without a column: only for the top candidates, each costs a quick fit
    candidates = audit.sort_values("suspicion", ascending=False)["feature"].head(DROP_CHECK_TOP).tolist()
    if len(np.unique(y_eval)) == 2 and len(candidates) > 1:
        # both matrices built once; a fit without a column uses them without that column (category
        # codes are learned per column, so this is the matrix the smaller feature list would give)
        cats = learn_categories(X_train, categorical)
        M_tr = to_matrix(X_train, categorical, numeric, cats)
        M_ev = to_matrix(X_eval, categorical, numeric, cats)
        names = categorical + numeric
        full = _quick_auc(M_tr, y_train, M_ev, y_eval, len(categorical), seed)
        for col in (c for c in candidates if c in names):
            j = names.index(col)
            audit.loc[audit["feature"] == col, "drop_loss"] = full - _quick_auc(
                np.delete(M_tr, j, axis=1),
                y_train,
                np.delete(M_ev, j, axis=1),
                y_eval,
                len(categorical) - (col in categorical),
                seed,
            )
    audit["suspicion"] = _suspicion(audit)
    audit["evidence"] = audit.apply(_evidence, axis=1)
    return audit.sort_values("suspicion", ascending=False, ignore_index=True)


def _suspicion(a: pd.DataFrame) -> pd.Series:
    """0 (nothing odd) to 3.5: each line of evidence adds up to 1, a name cue 0.5."""
    return (
        2 * (a["auc_alone"] - 0.5).clip(0, 0.5)
        + (a["drop_loss"].fillna(0) / 0.02).clip(0, 1)
        + (a["pure_share"] / 0.05).clip(0, 1)
        + 0.5 * (a["name_cue"] != "")
    )


def _evidence(r: pd.Series) -> str:
    parts = [f"AUC alone {r['auc_alone']:.2f}"]
    if pd.notna(r["drop_loss"]):
        parts.append(f"model loses {r['drop_loss']:+.3f} AUC without it")
    if r["pure_share"] > 0:
        parts.append(f"{r['pure_share']:.0%} of leads in values that decide the outcome (e.g. {r['pure_example']})")
    if r["name_cue"]:
        parts.append(f"name suggests an outcome field ('{r['name_cue']}')")
    return "; ".join(parts)


def leak_alarm(audit: pd.DataFrame, model_auc: float | None = None) -> str | None:
    """Why the leak alarm fires (a column alone, or the model, reaches AUC 0.95), or None if it does not."""
    alone = audit[audit["auc_alone"] >= STOP_AUC]
    if len(alone):
        return _stop_message(alone, f"{len(alone)} column(s) alone rank the outcome with AUC >= {STOP_AUC}")
    if model_auc is not None and model_auc >= STOP_AUC:
        return _stop_message(audit.head(3), f"the model reaches AUC {model_auc:.3f} on the holdout")
    return None


def stop_if_leaking(audit: pd.DataFrame, model_auc: float | None = None) -> None:
    """Raise LeakSuspected when a column alone, or the model, reaches AUC 0.95."""
    message = leak_alarm(audit, model_auc)
    if message is not None:
        raise LeakSuspected(message)


def _stop_message(rows: pd.DataFrame, why: str) -> str:
    named = "; ".join(f"'{r.source}' ({r.evidence})" for r in rows.itertuples())
    return (
        f"leak alarm, run stopped: {why}, too good to be true for MQL-to-SQL. Most likely responsible: {named}. "
        "If a column is written after the outcome, set its role to exclude in the dataset config."
    )


TIME_AUC = 0.8  # a feature that tells the training window from the newer windows this well on its own...
TIME_SHARE = 0.2  # ...and holds this share of the model's weight stands in for time
TIME_SAMPLE = 20_000


def time_proxies(
    X_old: pd.DataFrame, X_new: pd.DataFrame, shares: pd.Series, categorical: list[str], seed: int = 0
) -> pd.DataFrame:
    """How well each model feature tells the newer windows from the training window on its own.

    ``time_auc``: max(AUC, 1 - AUC) of the feature for "is newer" (training window against calibration and
    holdout; features only, no labels); ``weight_share``: its share of the model's weight (``shares``). A
    feature high on both earns its weight by standing in for time: its values moved with the calendar, and
    the model learned the period, not the lead.
    """
    both = pd.concat([X_old[shares.index], X_new[shares.index]])
    newer = np.r_[np.zeros(len(X_old), dtype=int), np.ones(len(X_new), dtype=int)]
    if len(both) > TIME_SAMPLE:
        keep = np.sort(np.random.default_rng(seed).choice(len(both), TIME_SAMPLE, replace=False))
        both, newer = both.iloc[keep], newer[keep]
    rows = [
        {"feature": f, "time_auc": single_auc(both[f], newer, f in categorical), "weight_share": float(shares[f])}
        for f in shares.index
    ]
    return pd.DataFrame(rows, columns=["feature", "time_auc", "weight_share"])


def flag_time_proxies(
    audit: pd.DataFrame, proxies: pd.DataFrame, config: DatasetConfig | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The audit with each feature's ``time_auc`` and ``weight_share``, the evidence of the features that
    stand in for time (rows added for features the leak audit did not cover), and one note per such feature.

    With ``config`` a note names the feature in the export's words and gives the setting that removes it
    (an attribute's role, a derived feature's source key); without it, the id and "role exclude"."""
    flagged = proxies[(proxies["time_auc"] >= TIME_AUC) & (proxies["weight_share"] >= TIME_SHARE)]
    audit = audit.merge(proxies, on="feature", how="left") if len(audit) else audit.assign(time_auc=[], weight_share=[])
    notes = []
    for r in flagged.itertuples():
        why = (
            f"stands in for time: alone it tells the newer leads from the training window with AUC "
            f"{r.time_auc:.2f}, and it holds {r.weight_share:.0%} of the model's weight"
        )
        at = audit["feature"] == r.feature
        if at.any():
            audit.loc[at, "evidence"] = audit.loc[at, "evidence"] + "; " + why
        else:
            extra = {"feature": r.feature, "source": r.feature, "evidence": why, "suspicion": 0.0}
            extra |= {"time_auc": r.time_auc, "weight_share": r.weight_share}
            audit = pd.concat([audit, pd.DataFrame([extra])], ignore_index=True)
        if config is None:
            notes.append(
                f"'{r.feature}' {why}: its weight may not hold on new leads; consider leaving it out (role exclude)"
            )
            continue
        label = display_names(config).get(r.feature, r.feature)
        notes.append(f"{label!r} {why}: its weight may not hold on new leads; {time_proxy_lever(r.feature, config)}")
    return audit, notes


def time_proxy_lever(feature: str, config: DatasetConfig) -> str:
    """The dataset-config change that leaves ``feature`` out, in one clause (derived features have no role)."""
    spec = config.features
    sources = {a.name: a.source for a in config.attributes}
    if feature in sources:
        return f"consider leaving it out (role = 'exclude' on column {sources[feature]!r})"
    fixed = {
        "seniority": "remove features.title_attribute",
        "email_type": "remove features.email_attribute",
        "days_created_to_mql": "remove leads.created_at",
    }
    if feature in fixed:
        return f"to leave it out, {fixed[feature]}"
    for (table, column), vid in value_ids(config).items():
        if feature.startswith(f"{vid}_sum_"):
            return f"to leave it out, remove {column!r} from the values of event table '{table}'"
    for kind, kid in activity_ids(config).items():
        if any(feature == window_feature(kid, w) for w in spec.windows):
            return f"to pool it with the rare types, move {kind!r} to features.other_types"
    return "no setting removes it alone: check that the next weekly run's holdout AUC holds"


WEIGHT_SAMPLE = 5_000


def weight_shares(model: LeadScoreModel, X: pd.DataFrame) -> pd.Series:
    """Each feature's share of the model's weight: its share of the booster's gain for a LightGBM model,
    of the mean absolute contribution (on at most WEIGHT_SAMPLE rows of ``X``) for a logistic or blend."""
    if model.kind == "lightgbm":
        gain = pd.Series(model.booster.feature_importance(importance_type="gain"), index=model.features)
    else:
        sample = X.iloc[:WEIGHT_SAMPLE]
        gain = model.contributions(sample).abs().mean() if len(sample) else pd.Series(0.0, index=model.features)
    total = float(gain.sum())
    return gain / total if total > 0 else gain * 0.0
