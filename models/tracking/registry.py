"""The model registry: register a trained version, judge it against the champion, move the aliases, load a version."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
from mlflow.exceptions import MlflowException
from sklearn.metrics import roc_auc_score

from models import promotion
from models.promotion import ChampionFacts, PromotionPolicy
from models.scorer import FeatureMismatchError, LeadScoreModel
from models.tracking.client import (
    CHALLENGER,
    CHAMPION,
    ModelLoadError,
    Tracking,
    _tracking_uri,
    champion_version,
    display_uri,
    is_missing,
)
from models.tracking.history import (
    ROLLED_BACK_TAG,
    _append_champion_history,
    _hold_record,
    _note,
    _registered_at,
    champion_history,
)
from models.tracking.records import NOTE_CHARS, _decision_tags, _history, _human_cutoffs_of_champion
from models.train import TrainingResult
from models.transient import is_transient


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    version: str
    previous_champion: str | None
    challenger_auc: float
    champion_auc: float | None
    tolerance: float
    reason: str
    rule: str = ""  # the promotion policy's rule that decided (models/promotion.py)
    outcome: str = ""  # promoted, kept (as challenger) or refused (no alias at all)
    champion_age_days: float | None = None

    @property
    def alias(self) -> str | None:
        """The alias the version gets: champion, challenger, or none when the policy refused it."""
        if self.promoted:
            return CHAMPION
        return None if self.outcome == "refused" else CHALLENGER

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def register(
    tracking: Tracking,
    model_uri: str,
    run_id: str,
    result: TrainingResult,
    *,
    by: str,
    dataset: str = "",
    resume: bool = False,
) -> str:
    """Create a registry version (no alias yet) carrying its metrics and default tier cut-offs as tags.

    With ``resume``, a version already registered from ``run_id`` (by an attempt that failed half-way) is
    completed instead of adding a second one; for a run registered once, as the training flows do.
    """
    client = tracking.client()
    try:
        client.get_registered_model(tracking.model_name)
    except MlflowException as exc:
        if not is_missing(exc):
            raise
        client.create_registered_model(tracking.model_name, description="MQL-to-SQL conversion, calibrated")
    # resume: a retry after a transient error completes the version this run already got, never adds another
    done = client.search_model_versions(f"name='{tracking.model_name}' and run_id='{run_id}'") if resume else []
    # a tracking server refuses a models:/<model_id> source unless the model id is passed with it
    model_id = model_uri.removeprefix("models:/") if re.fullmatch(r"models:/m-[0-9a-f]+", model_uri) else None
    if done:
        mv = done[0]
    else:
        with _tracking_uri(tracking.tracking_uri):  # MLflow resolves the logged model through the global URI
            mv = client.create_model_version(tracking.model_name, model_uri, run_id=run_id, model_id=model_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    decision = {
        "cutoffs": result.tier_cutoffs,
        "by": by,
        "at": now,
        "note": "default: top 10% / next 20% / next 30% of the holdout window",
    }
    history: list[dict] = []
    carried = _human_cutoffs_of_champion(tracking, dataset)
    if carried is not None:
        # a person's decision outlives the weekly retrain of the same dataset; its record keeps who and
        # when, and the run's summary shows what share of the newest MQLs each carried cut-off passes
        champion, tags = carried
        history = _history(tags)
        note = re.sub(r"^(carried over from v\d+: )+", "", tags.get("tier_cutoffs_note", ""))
        decision = {
            "cutoffs": json.loads(tags["tier_cutoffs"]),
            "by": tags.get("tier_cutoffs_set_by", ""),
            "at": tags.get("tier_cutoffs_set_at", now),
            "note": f"carried over from v{champion}: {note}"[:NOTE_CHARS],
        }
    tags = {
        "dataset": dataset,
        "holdout_auc": f"{result.metrics['model']['roc_auc']:.4f}",
        "holdout_ece": f"{result.metrics['model']['ece']:.4f}",
        "holdout_window": (
            f"{result.windows['holdout']['first_mql']} .. {result.windows['holdout']['last_mql']}"
            if "first_mql" in result.windows["holdout"]
            else f"{result.windows['holdout']['rows']} leads (no timestamps)"
        ),
        **_decision_tags(decision, history),
    }
    for k, v in tags.items():
        client.set_model_version_tag(tracking.model_name, mv.version, k, v)
    return str(mv.version)


def decide(
    tracking: Tracking,
    version: str,
    result: TrainingResult,
    *,
    policy: PromotionPolicy | None = None,
    tolerance: float | None = None,
    now: datetime | None = None,
) -> GateDecision:
    """Judge the new version against the champion with the promotion policy (models/promotion.py).

    The champion's AUC is measured on the same, newest rows (this run's holdout); its age is the time
    since it was registered, against ``now`` (default: the clock). ``tolerance`` alone is the old
    signature: a default policy with that tolerance.
    """
    if policy is None:
        policy = PromotionPolicy(**({} if tolerance is None else {"tolerance": tolerance}))
    now = now or datetime.now(UTC)
    challenger_auc = float(result.metrics["model"]["roc_auc"])
    rows = len(result.holdout_labels)
    refused = promotion.refusals(result)  # first, and without MLflow: nothing can talk the gate out of it
    champion = None
    if not refused:
        rolled = tracking.client().get_model_version(tracking.model_name, version).tags.get(ROLLED_BACK_TAG)
        if rolled:
            refused = [(promotion.ROLLED_BACK, f"a person rolled v{version} back ({_note(json.loads(rolled))})")]
        else:
            champion = _champion_facts(tracking, result, now)
    verdict = promotion.judge(
        policy,
        version=version,
        challenger_auc=challenger_auc,
        rows=rows,
        champion=champion,
        refused=refused,
        versus_logistic=getattr(result, "comparisons", {}).get("logistic_regression"),
        now=now,
    )
    return GateDecision(
        verdict.outcome == "promoted",
        version,
        champion.version if champion else None,
        challenger_auc,
        champion.auc if champion else None,
        policy.tolerance,
        verdict.reason,
        verdict.rule,
        verdict.outcome,
        round(champion.age_days, 2) if champion else None,
    )


def _champion_facts(tracking: Tracking, result: TrainingResult, now: datetime) -> ChampionFacts | None:
    previous = champion_version(tracking)
    if previous is None:
        return None
    client = tracking.client()
    mv = client.get_model_version(tracking.model_name, previous)
    age = (now - _registered_at(mv)).total_seconds() / 86_400
    hold = _hold_record(tracking, previous)  # the policy judges its expiry against ``now``
    until, note = (datetime.fromisoformat(hold["until"]), _note(hold)) if hold else (None, "")
    try:
        champ = load_scorer(tracking, f"models:/{tracking.model_name}/{previous}")
        auc = float(roc_auc_score(result.holdout_labels, champ.predict_proba(result.holdout_features)))
    except (FeatureMismatchError, ModelLoadError) as exc:
        if getattr(exc, "transient", False):
            raise  # an outage says nothing about the champion: never "replaced" because MLflow was down
        return ChampionFacts(previous, None, age, cannot_score=str(exc), hold_until=until, hold_note=note)
    return ChampionFacts(previous, auc, age, hold_until=until, hold_note=note)


def apply_decision(tracking: Tracking, run_id: str, decision: GateDecision) -> None:
    """Move the aliases and log the decision on the run and the version, either way.

    A refused version gets no alias; a promotion is appended to the champion history.
    """
    client = tracking.client()
    if decision.alias is not None:
        client.set_registered_model_alias(tracking.model_name, decision.alias, decision.version)
    client.set_model_version_tag(tracking.model_name, decision.version, "gate_decision", decision.reason)
    client.set_tag(run_id, "gate_decision", decision.reason)
    client.set_tag(run_id, "gate_promoted", str(decision.promoted).lower())
    if decision.rule:
        client.set_model_version_tag(tracking.model_name, decision.version, "gate_rule", decision.rule)
        client.set_tag(run_id, "gate_rule", decision.rule)
    client.log_metric(run_id, "gate.challenger_auc", decision.challenger_auc)
    if decision.champion_auc is not None:
        client.log_metric(run_id, "gate.champion_auc", decision.champion_auc)
    if decision.promoted:
        if decision.previous_champion and not champion_history(tracking):
            # a store from before the history: start it with the champion being replaced, so that a
            # rollback has a previous champion to go back to
            mv = client.get_model_version(tracking.model_name, decision.previous_champion)
            at = _registered_at(mv).isoformat(timespec="seconds")
            _append_champion_history(
                tracking, {"version": decision.previous_champion, "how": "before-history", "by": "", "at": at}
            )
        _append_champion_history(
            tracking, {"version": decision.version, "how": decision.rule or "gate", "by": "leadscore gate"}
        )


@dataclass(frozen=True)
class ResolvedModel:
    scorer: LeadScoreModel
    version: str
    tier_cutoffs: dict[str, float]
    uri: str
    name: str = ""  # the registered model ``uri`` names (which may differ from the settings' model name)


def load_scorer(tracking: Tracking, uri: str) -> LeadScoreModel:
    """Load the scorer behind a models:/ or runs:/ URI."""
    try:
        with _tracking_uri(tracking.tracking_uri):
            pyfunc = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if is_transient(exc):
            raise ModelLoadError(
                f"cannot reach model '{uri}' at {display_uri(tracking.tracking_uri)} just now: {first}. Check that the "
                "MLflow server and the artifact store are reachable, then run again.",
                transient=True,
            ) from None
        raise ModelLoadError(
            f"cannot load model '{uri}' from {display_uri(tracking.tracking_uri)}: {first}. "
            "Train one first (`leadscore weekly` or `leadscore train`), or pass --model with an existing "
            "URI (e.g. models:/lead-scoring/1; `leadscore models` lists them)."
        ) from None
    except Exception as exc:  # noqa: BLE001 - damaged files fail in pickle, LightGBM, YAML...: one message
        first = (str(exc).splitlines() or [""])[0][:200]
        raise ModelLoadError(
            f"cannot load model '{uri}' from {display_uri(tracking.tracking_uri)}: its files are damaged or were "
            f"written by an incompatible version ({type(exc).__name__}: {first}). `leadscore models` lists the "
            "versions; `leadscore rollback` returns to the previous champion; `leadscore train` makes a new one; "
            "or pass --model with another version (e.g. models:/lead-scoring/1)."
        ) from None
    try:
        return pyfunc.unwrap_python_model().model
    except Exception as exc:  # noqa: BLE001 - a pyfunc model that is not leadscore's
        raise ModelLoadError(
            f"model '{uri}' is not a leadscore model ({type(exc).__name__}); pass --model with a version "
            "registered by `leadscore train` (`leadscore models` lists them)"
        ) from None


def resolve(tracking: Tracking, uri: str | None = None) -> ResolvedModel:
    """The model to score with (default: the champion), its registry version and tier cut-offs."""
    uri = uri or f"models:/{tracking.model_name}@{CHAMPION}"
    scorer = load_scorer(tracking, uri)
    version, cutoffs, registered = "unregistered", None, ""
    client = tracking.client()
    if uri.startswith("models:/"):
        name, _, ref = uri.removeprefix("models:/").partition("@")
        mv = (
            client.get_model_version_by_alias(name, ref)
            if ref
            else client.get_model_version(*uri.removeprefix("models:/").split("/", 1))
        )
        version, registered = str(mv.version), str(mv.name)
        if "tier_cutoffs" in mv.tags:
            cutoffs = json.loads(mv.tags["tier_cutoffs"])
    if cutoffs is None:
        raise ModelLoadError(f"model '{uri}' has no tier cut-offs; score with a registered version")
    return ResolvedModel(scorer, version, cutoffs, uri, registered)
