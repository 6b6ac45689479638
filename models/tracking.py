"""The only module that talks to MLflow: experiments, runs, the model registry and the promotion gate.

Nothing personal reaches MLflow: params and metrics are figures and settings, artifacts are the model
(feature names, category values of firmographic columns, the booster), the dataset config (column
names only), metrics and the feature importance table. PII values never enter a feature table, so
they cannot reach the model either; no input example is logged.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlparse
from urllib.request import Request, urlopen

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from features.build import feature_columns
from features.config import DatasetConfig
from models import promotion
from models.compiled import compile_saved_model
from models.promotion import ChampionFacts, PromotionPolicy
from models.scorer import FeatureMismatchError, LeadScoreModel
from models.train import TrainingResult
from models.transient import is_transient
from serving.output import neutralise_formulas

CHAMPION, CHALLENGER = "champion", "challenger"
ROLLED_BACK_TAG = "rolled_back"  # on a version a person moved the champion away from: who, when, why, to
BY_ROLLBACK_TAG = "champion_by_rollback"  # on a version a person made champion: who, when, why, from
CHAMPION_HISTORY_TAG = "champion_history"  # on the registered model: every champion, oldest first
HOLD_TAG = "champion_hold"  # on the registered model: the rollback hold (version, until, who, why)
CHAMPION_HISTORY_KEEP = 50
DEFAULT_SETTER = "leadscore (default)"  # tier_cutoffs_set_by of cut-offs no person chose
HISTORY_TAG = "tier_cutoffs_history"
HISTORY_KEEP, HISTORY_CHARS, NOTE_CHARS = 20, 4800, 300  # the history tag stays small
MODELS_DIR = Path(__file__).resolve().parent


@contextmanager
def _tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's fluent API (runs, log_model, load_model) reads a global URI: set it, then put it back.

    ``mlflow.set_tracking_uri`` also writes MLFLOW_TRACKING_URI into the environment, which our settings
    read: the environment is restored exactly, or every later lookup in the process would go to
    MLflow's default store in the current folder.
    """
    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env_before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env_before


class ModelLoadError(RuntimeError):
    """A model URI that cannot be loaded; the message names it and what to do.

    ``transient`` says the cause may pass by itself (an unreachable MLflow server, a network share's I/O
    error): the gate must then not read the champion as unusable, and a retry may succeed.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server does not answer; the message names the URI and what to check."""


SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc")


def is_tracking_server(uri: str) -> bool:
    """True when ``uri`` is a tracking server (it owns the artifact store), not a store this process opens."""
    return (urlparse(uri).scheme or uri) in SERVER_SCHEMES  # "databricks" alone names a workspace server


def display_uri(uri: str) -> str:
    """``uri`` with any password replaced by ***, for messages and summaries (which are written to files)."""
    parts = urlparse(uri)
    if parts.password is None:
        return uri
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s/:@'\"]*):[^\s/@'\"]+@", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URI in it replaced by ***: MLflow's errors quote the URL they called."""
    return _CREDENTIALS.sub(r"\1:***@", text)


def is_missing(exc: MlflowException) -> bool:
    """True when MLflow says the model, version, alias or run does not exist: "none", not a failure.

    MLflow 3 raises RESOURCE_DOES_NOT_EXIST for a missing model, version or run, but INVALID_PARAMETER_VALUE
    ("Registered model alias champion not found.") for a missing alias on a model that exists. Any other
    error (a server that answers 500, a store that cannot be read) is not an answer and must propagate:
    read as "nothing there" it would make the gate promote a "first model" during an outage.
    """
    code = getattr(exc, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return True
    return code == "INVALID_PARAMETER_VALUE" and re.search(r"alias .* not found", str(exc), re.IGNORECASE) is not None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds when an http(s) tracking server does not answer.

    MLflow's own client retries a refused connection with back-off for minutes before it gives up. Any
    HTTP answer (even 401 or 404 from a proxy that guards /health) counts as reachable: only a
    connection that fails is refused here. Stores that are not http(s) are left to MLflow.
    """
    parts = urlparse(uri)
    if parts.scheme not in ("http", "https"):
        return
    headers = {}
    if "@" in parts.netloc:  # urllib refuses user:password in the URL: send them as basic auth instead
        user, _, password = parts.netloc.rpartition("@")[0].partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    request = Request(f"{parts.geturl().rstrip('/')}/health", headers=headers)  # noqa: S310 - the scheme is http(s)
    try:
        with urlopen(request, timeout=timeout):  # noqa: S310 - the scheme is http(s)
            pass
    except HTTPError:
        return
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailable(
            f"the MLflow tracking server {display_uri(uri)} does not answer ({reason}); start it, or point "
            "MLFLOW_TRACKING_URI (or LEADSCORE_TRACKING_URI) at one that runs"
        ) from None


@dataclass(frozen=True)
class Tracking:
    tracking_uri: str
    experiment_name: str
    model_name: str
    artifact_root: Path | None = None  # where a local store keeps artifacts (None for a tracking server)

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self) -> str:
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment_name)
        if exp is not None:
            return exp.experiment_id
        location = self.artifact_root.resolve().as_uri() if self.artifact_root else None
        return client.create_experiment(self.experiment_name, artifact_location=location)


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


def log_training(
    tracking: Tracking, result: TrainingResult, *, params: dict, data_facts: dict, compile_predictor: str = "auto"
) -> tuple[str, str]:
    """Log one training run (params, metrics, artifacts, the pyfunc model). Returns (run_id, model_uri).

    ``compile_predictor`` (auto, on, off): compile the booster(s) once with lleaves and log the object code
    with the model (models/compiled.py); the compile time is logged as the metric ``compile_predictor_s``.
    """
    exp_id = tracking.experiment_id()
    with (
        _tracking_uri(tracking.tracking_uri),
        mlflow.start_run(experiment_id=exp_id, run_name=f"train-{datetime.now(UTC):%Y%m%d-%H%M%S}") as run,
    ):
        mlflow.log_params(
            {
                **params,
                **{k: v for k, v in data_facts.items() if not isinstance(v, dict)},
                "best_iteration": result.best_iteration,
                "n_features": len(result.model.features),
            }
        )
        for w, facts in result.windows.items():
            mlflow.log_params({f"{w}_{k}": v for k, v in facts.items()})
        for scorer, ms in result.metrics.items():
            mlflow.log_metrics({f"{scorer}.{k}": float(v) for k, v in ms.items() if np.isfinite(v)})
        for baseline, c in result.comparisons.items():
            mlflow.log_metrics(
                {f"model_vs_{baseline}.auc_diff{k.removeprefix('diff')}": v for k, v in c.items() if k != "verdict"}
            )
            mlflow.set_tag(f"model_vs_{baseline}", c["verdict"])
        for c in result.candidates:  # every candidate of the model search, chosen on the calibration window
            mlflow.log_metrics({f"candidate.{c['name']}.{k}": c[k] for k in ("calibration_auc", "holdout_auc")})
        if result.model_choice:
            mlflow.set_tag("model_chosen", f"{result.model_choice['chosen']} ({result.model_choice['kind']})")
            mlflow.log_metrics(
                {"search.seconds": result.model_choice["seconds"], "search.tried": result.model_choice["tried"]}
            )
        top = result.audit.iloc[0] if len(result.audit) else None
        mlflow.set_tags(
            {
                "dataset": data_facts.get("dataset", ""),
                "top_leak_suspect": f"{top['source']}: {top['evidence']}" if top is not None else "",
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "metrics.json").write_text(
                json.dumps(
                    {
                        "metrics": result.metrics,
                        "windows": result.windows,
                        "model_vs_baselines": result.comparisons,
                        "tier_cutoffs": result.tier_cutoffs,
                        "notes": result.notes,
                        "leak_audit": result.audit.head(10).to_dict(orient="records"),
                        "segments": result.segments,
                        "model_choice": result.model_choice,
                        "candidates": result.candidates,
                    },
                    indent=1,
                )
            )
            neutralise_formulas(result.importance).to_csv(tmp_path / "feature_importance.csv", index=False)
            neutralise_formulas(result.audit).to_csv(tmp_path / "leak_audit.csv", index=False)
            mlflow.log_artifacts(tmp, artifact_path="evaluation")
            scorer_dir = result.model.save(tmp_path / "scorer")
            compiled = compile_saved_model(scorer_dir, compile_predictor)
            mlflow.set_tag("predictor", f"{compiled['predictor']}: {compiled['note']}")
            mlflow.log_metric("compile_predictor_s", compiled["compile_s"])
            print(f"predictor: {compiled['predictor']} ({compiled['note']})")
            # the columns the model reads (a feature the model left out, such as mql_month with one year of
            # history, is not asked of an online caller)
            m = result.model
            used = [c for c in dict.fromkeys([*m.features, m.segment_by]) if c in result.holdout_features.columns]
            sample = result.holdout_features[used].head(50)
            signature = infer_signature(_signature_frame(sample), result.model.predict_proba(sample))
            with warnings.catch_warnings():
                # no input example on purpose: nothing row-level leaves the workspace
                warnings.filterwarnings("ignore", message=".*input example.*")
                info = _log_model(scorer_dir, signature)
        return run.info.run_id, info.model_uri


def _log_model(scorer_dir: Path, signature):
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODELS_DIR / "packaging.py"),
        artifacts={"scorer": str(scorer_dir)},
        code_paths=[str(MODELS_DIR)],
        signature=signature,
        pip_requirements=_requirements(),
    )


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "lightgbm", "pandas", "numpy")]


def _signature_frame(X: pd.DataFrame) -> pd.DataFrame:
    # MLflow's schema inference wants plain object strings for text columns
    out = X.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object)
    return out


def champion_version(tracking: Tracking) -> str | None:
    """The champion's version, or None when the model or its champion alias does not exist.

    Any other MLflow error propagates: an outage is not "no champion" (the gate would promote a first model).
    """
    try:
        return str(tracking.client().get_model_version_by_alias(tracking.model_name, CHAMPION).version)
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise


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


def _registered_at(mv) -> datetime:
    return datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)


def _note(record: dict) -> str:
    """'by Ana at 2026-05-04T09:00:00+00:00: <reason>' from a rollback or hold record."""
    return f"by {record.get('by', '?')} at {record.get('at', '?')}: {record.get('reason', '')}"


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


# ---------------------------------------------------------------------------------------------------
# tier cut-offs as a versioned decision


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
    from serving.score import validate_cutoffs

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


def log_report(tracking: Tracking, run_id: str, pages: dict[str, str], *, version: str | None = None) -> list[str]:
    """Log the threshold review pages (language -> HTML) to a run's ``review/`` folder; tag the version.

    The pages hold figures about groups of leads, never a lead's identity or personal data.
    """
    client = tracking.client()
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang, page in pages.items():
            name = "review.html" if lang == "en" else f"review_{lang}.html"
            (Path(tmp) / name).write_text(page, encoding="utf-8")
            paths.append(f"review/{name}")
        client.log_artifacts(run_id, tmp, artifact_path="review")
    if version is not None:
        client.set_model_version_tag(tracking.model_name, version, "review_page", f"runs:/{run_id}/{paths[0]}")
    return paths


# ---------------------------------------------------------------------------------------------------
# the champion's history, rollbacks, and the list of versions


class RollbackError(ValueError):
    """A rollback refused (unknown version, already champion, cannot score the dataset); nothing changed."""


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
            extra = load_scorer(tracking, f"models:/{name}/{current}").extra
            config = DatasetConfig.model_validate(extra["dataset_config"])
        except (ModelLoadError, KeyError):
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


METRIC_KEYS = ("roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "pr_auc", "ece", "brier", "lift_top10", "capture_top20")
WINDOW_KEYS = ("rows", "sqls", "sql_rate", "first_mql", "last_mql")


def list_versions(tracking: Tracking, now: datetime | None = None) -> dict:
    """Every version of the registered model, newest first, with what a data team asks about it.

    Holdout metrics and the data windows come from the version's training run; aliases, tier cut-offs,
    the gate's decision and rollbacks from the registry. Reads only.
    """
    client, name = tracking.client(), tracking.model_name
    now = now or datetime.now(UTC)
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if not is_missing(exc):
            raise  # an unreachable or failing store is an error, not "no versions"
        return {"status": "ok", "model": name, "versions": [], "champion_history": [], "hold": None}
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for version, mv in reversed(_versions(tracking).items()):
        tags = dict(mv.tags)
        metrics, baselines, params = {}, {}, {}
        try:
            run = client.get_run(mv.run_id) if mv.run_id else None
        except MlflowException as exc:
            if not is_missing(exc):
                raise
            run = None  # the run was deleted: the figures kept on the version below
        if run is not None:
            m, params = run.data.metrics, run.data.params
            metrics = {k: m[f"model.{k}"] for k in METRIC_KEYS if f"model.{k}" in m}
            baselines = {b: m[f"{b}.roc_auc"] for b in ("persona_rule", "logistic_regression") if f"{b}.roc_auc" in m}
        if not metrics:  # the run is gone: the figures kept on the version
            kept = {"roc_auc": "holdout_auc", "ece": "holdout_ece"}
            metrics = {k: float(tags[t]) for k, t in kept.items() if t in tags}
        windows = {
            w: {k: params[f"{w}_{k}"] for k in WINDOW_KEYS if f"{w}_{k}" in params}
            for w in ("train", "calibration", "holdout")
        }
        created = _registered_at(mv)
        rows.append(
            {
                "version": version,
                "aliases": sorted(aliases.get(version, [])),
                "created": created.isoformat(timespec="seconds"),
                "age_days": round((now - created).total_seconds() / 86_400, 2),
                "dataset": tags.get("dataset", ""),
                "run_id": mv.run_id,
                "metrics": metrics,
                "baselines_auc": baselines,
                "windows": {w: f for w, f in windows.items() if f},
                "holdout_window": tags.get("holdout_window", ""),
                "tier_cutoffs": json.loads(tags["tier_cutoffs"]) if "tier_cutoffs" in tags else None,
                "tier_cutoffs_set_by": tags.get("tier_cutoffs_set_by", ""),
                "gate_rule": tags.get("gate_rule", ""),
                "gate_decision": tags.get("gate_decision", ""),
                "rolled_back": json.loads(tags[ROLLED_BACK_TAG]) if ROLLED_BACK_TAG in tags else None,
                "champion_by_rollback": json.loads(tags[BY_ROLLBACK_TAG]) if BY_ROLLBACK_TAG in tags else None,
            }
        )
    champion = next((r["version"] for r in rows if CHAMPION in r["aliases"]), None)
    return {
        "status": "ok",
        "model": name,
        "versions": rows,
        "champion_history": champion_history(tracking),
        "hold": active_hold(tracking, champion, now) if champion else None,
    }


# drift over time

DRIFT_MONITOR_TAG = "drift_monitor"  # tag (value: the registered model's name) of the run holding the series
DRIFT_LEVEL_CODE = {"ok": 0, "watch": 1, "alert": 2}


def _metric_key(name: str) -> str:
    return re.sub(r"[^\w\-. ]", "_", name)  # no "/": it would open a chart section of its own


def drift_metrics(table: pd.DataFrame, verdict: dict, *, version: str) -> dict[str, float]:
    """The figures of one drift check as MLflow metrics: the headline ones (``drift/...``), and per feature
    its PSI (``drift_psi/<feature>``), unseen share (``drift_unseen/``, categorical features) and missing
    rate (``drift_missing/``, where missing then or now). Names and numbers only: no category value or lead."""
    scored = table[table["kind"] != "score"]
    top = table[table["top"] & (table["kind"] != "score")]
    out = {
        "drift/level": float(DRIFT_LEVEL_CODE[verdict["level"]]),
        "drift/score_psi": float(verdict["score_psi"]),
        "drift/top_feature_max_psi": float(top["psi"].max()) if len(top) else 0.0,
        "drift/feature_max_psi": float(scored.loc[scored["level"] != "n/a", "psi"].max()) if len(scored) else 0.0,
        "drift/rows": float(verdict.get("rows", 0)),
    }
    if version.isdigit():
        out["drift/model_version"] = float(version)
    # per feature under a prefix with "/": the MLflow UI charts each prefix in a section of its own
    for r in scored.to_dict(orient="records"):
        key = _metric_key(r["feature"])
        out[f"drift_psi/{key}"] = float(r["psi"])
        if r["kind"] == "categorical":
            out[f"drift_unseen/{key}"] = float(r["unseen_now"])
        if r["missing_then"] or r["missing_now"]:  # a feature never missing would add a flat line
            out[f"drift_missing/{key}"] = float(r["missing_now"])
    return out


def _drift_monitor(client: MlflowClient, experiment_id: str, model_name: str) -> str:
    """The run that holds a model name's drift series in an experiment, created (finished) the first time."""
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.{DRIFT_MONITOR_TAG} = '{model_name}'", max_results=1
    )
    if found:
        return found[0].info.run_id
    run = client.create_run(
        experiment_id,
        run_name=f"drift-monitor-{model_name}",
        tags={
            DRIFT_MONITOR_TAG: model_name,
            "mlflow.note.content": (
                "One point per scoring run (step = its count, time = when it scored): PSI of the score and of "
                "each feature against the scoring model's training window. drift/level: 0 ok, 1 watch, 2 alert."
            ),
        },
    )
    client.set_terminated(run.info.run_id)  # a finished run still takes new points; the UI shows no spinner
    return run.info.run_id


def log_drift(
    tracking: Tracking,
    table: pd.DataFrame,
    verdict: dict,
    *,
    version: str,
    scored_at: datetime | None = None,
    run_id: str | None = None,
    model_name: str | None = None,
) -> dict:
    """Log a drift check to MLflow as a point of a time series, so the MLflow UI charts drift over weeks.

    Where: one long-lived run per registered model name, ``drift-monitor-<model name>`` (tag
    ``drift_monitor``), in the experiment of the scoring version's training run. Each check adds one
    point to each of its metrics (``drift_metrics``), with step = the number of earlier checks and timestamp = the
    scoring time; the check's table goes to its ``drift/`` artifacts. Not the scoring version's own
    training run: the weekly gate promotes a new version most weeks, so each version's run would hold a
    single point and no chart. The series keeps going across versions, and ``drift/model_version``
    shows where the scoring model changed (the reference moves with it).

    With ``run_id`` (the weekly run), the same metrics and table are also logged on that run, so the
    runs table of the experiment shows each week's drift level next to its metrics.

    ``model_name`` is the registered model of the version that scored (``ResolvedModel.name``; default the
    settings' model name): ``--model models:/other/3`` is version 3 of ``other`` whatever the settings say.
    Logging never costs the list: an MLflow error that will not pass by itself (a version or run gone, a
    refused write) is returned as ``{"warning": ...}`` for the summary; a transient one (the server is
    down) propagates like any other MLflow outage.
    """
    name = model_name or tracking.model_name
    try:
        return _log_drift(tracking, table, verdict, name=name, version=version, scored_at=scored_at, run_id=run_id)
    except MlflowException as exc:
        if is_transient(exc):
            raise
        first = mask_secrets(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return {"warning": f"drift not logged to MLflow for model '{name}' version {version}: {first}"}


def _log_drift(
    tracking: Tracking,
    table: pd.DataFrame,
    verdict: dict,
    *,
    name: str,
    version: str,
    scored_at: datetime | None,
    run_id: str | None,
) -> dict:
    client = tracking.client()
    mv = client.get_model_version(name, version)
    experiment_id = client.get_run(mv.run_id).info.experiment_id
    monitor = _drift_monitor(client, experiment_id, name)
    step = len(client.get_metric_history(monitor, "drift/level"))
    when = scored_at or datetime.now(UTC)
    stamp = int(when.timestamp() * 1000)
    values = drift_metrics(table, verdict, version=version)
    targets = [(monitor, step)] + ([(run_id, 0)] if run_id else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"drift-{when:%Y%m%dT%H%M%SZ}-v{version}.csv"
        neutralise_formulas(table).to_csv(path, index=False)  # opened in spreadsheets too
        for target, at in targets:
            metrics = [Metric(k, v, stamp, at) for k, v in values.items()]
            for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
                client.log_batch(target, metrics=metrics[i : i + 1000])
            client.set_tag(target, "drift_level", verdict["level"])
            client.log_artifact(target, str(path), artifact_path="drift")
    return {"monitor_run_id": monitor, "experiment_id": experiment_id, "step": step}
