"""The only module that talks to MLflow: experiments, runs, the model registry and the promotion gate.

Nothing personal reaches MLflow: params and metrics are figures and settings, artifacts are the model
(feature names, category values of firmographic columns, the booster), the dataset config (column
names only), metrics and the feature importance table. PII values never enter a feature table, so
they cannot reach the model either; no input example is logged.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import urlopen

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from models.scorer import FeatureMismatchError, LeadScoreModel
from models.train import TrainingResult

CHAMPION, CHALLENGER = "champion", "challenger"
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
    """A model URI that cannot be loaded; the message names it and what to do."""


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


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds when an http(s) tracking server does not answer.

    MLflow's own client retries a refused connection with back-off for minutes before it gives up. Any
    HTTP answer (even 401 or 404 from a proxy that guards /health) counts as reachable: only a
    connection that fails is refused here. Stores that are not http(s) are left to MLflow.
    """
    if urlparse(uri).scheme not in ("http", "https"):
        return
    try:
        with urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):  # noqa: S310 - the scheme is http(s)
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

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def log_training(tracking: Tracking, result: TrainingResult, *, params: dict, data_facts: dict) -> tuple[str, str]:
    """Log one training run (params, metrics, artifacts, the pyfunc model). Returns (run_id, model_uri)."""
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
                    },
                    indent=1,
                )
            )
            result.importance.to_csv(tmp_path / "feature_importance.csv", index=False)
            result.audit.to_csv(tmp_path / "leak_audit.csv", index=False)
            mlflow.log_artifacts(tmp, artifact_path="evaluation")
            scorer_dir = result.model.save(tmp_path / "scorer")
            sample = result.holdout_features.head(50)
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
    try:
        return str(tracking.client().get_model_version_by_alias(tracking.model_name, CHAMPION).version)
    except MlflowException:
        return None


def register(
    tracking: Tracking, model_uri: str, run_id: str, result: TrainingResult, *, by: str, dataset: str = ""
) -> str:
    """Create a registry version (no alias yet) carrying its metrics and default tier cut-offs as tags."""
    client = tracking.client()
    try:
        client.get_registered_model(tracking.model_name)
    except MlflowException:
        client.create_registered_model(tracking.model_name, description="MQL-to-SQL conversion, calibrated")
    # a tracking server refuses a models:/<model_id> source unless the model id is passed with it
    model_id = model_uri.removeprefix("models:/") if re.fullmatch(r"models:/m-[0-9a-f]+", model_uri) else None
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


def decide(tracking: Tracking, version: str, result: TrainingResult, *, tolerance: float) -> GateDecision:
    """Compare the new version with the champion on the same, newest rows (this run's holdout)."""
    challenger_auc = float(result.metrics["model"]["roc_auc"])
    previous = champion_version(tracking)
    if previous is None:
        return GateDecision(True, version, None, challenger_auc, None, tolerance, "first model: becomes champion")
    try:
        champ = load_scorer(tracking, f"models:/{tracking.model_name}/{previous}")
        champion_auc = float(roc_auc_score(result.holdout_labels, champ.predict_proba(result.holdout_features)))
    except (FeatureMismatchError, ModelLoadError) as exc:
        return GateDecision(
            True,
            version,
            previous,
            challenger_auc,
            None,
            tolerance,
            f"champion v{previous} cannot score the new feature table ({exc}): replaced",
        )
    promoted = challenger_auc >= champion_auc - tolerance
    verdict = "promoted" if promoted else "kept as challenger"
    reason = (
        f"{verdict}: AUC {challenger_auc:.4f} vs champion v{previous} {champion_auc:.4f} "
        f"on the same {len(result.holdout_labels)} newest leads (tolerance {tolerance})"
    )
    return GateDecision(promoted, version, previous, challenger_auc, champion_auc, tolerance, reason)


def apply_decision(tracking: Tracking, run_id: str, decision: GateDecision) -> None:
    """Move the aliases and log the decision on the run and the version, either way."""
    client = tracking.client()
    client.set_registered_model_alias(
        tracking.model_name, CHAMPION if decision.promoted else CHALLENGER, decision.version
    )
    client.set_model_version_tag(tracking.model_name, decision.version, "gate_decision", decision.reason)
    client.set_tag(run_id, "gate_decision", decision.reason)
    client.set_tag(run_id, "gate_promoted", str(decision.promoted).lower())
    client.log_metric(run_id, "gate.challenger_auc", decision.challenger_auc)
    if decision.champion_auc is not None:
        client.log_metric(run_id, "gate.champion_auc", decision.champion_auc)


@dataclass(frozen=True)
class ResolvedModel:
    scorer: LeadScoreModel
    version: str
    tier_cutoffs: dict[str, float]
    uri: str


def load_scorer(tracking: Tracking, uri: str) -> LeadScoreModel:
    """Load the scorer behind a models:/ or runs:/ URI."""
    try:
        with _tracking_uri(tracking.tracking_uri):
            pyfunc = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as exc:
        raise ModelLoadError(
            f"cannot load model '{uri}' from {display_uri(tracking.tracking_uri)}: {str(exc).splitlines()[0]}. "
            "Train one first (`leadscore weekly` or `leadscore train`), or pass --model with an existing "
            "URI (e.g. models:/lead-scoring/1)."
        ) from None
    return pyfunc.unwrap_python_model().model


def resolve(tracking: Tracking, uri: str | None = None) -> ResolvedModel:
    """The model to score with (default: the champion), its registry version and tier cut-offs."""
    uri = uri or f"models:/{tracking.model_name}@{CHAMPION}"
    scorer = load_scorer(tracking, uri)
    version, cutoffs = "unregistered", None
    client = tracking.client()
    if uri.startswith("models:/"):
        name, _, ref = uri.removeprefix("models:/").partition("@")
        mv = (
            client.get_model_version_by_alias(name, ref)
            if ref
            else client.get_model_version(*uri.removeprefix("models:/").split("/", 1))
        )
        version = str(mv.version)
        if "tier_cutoffs" in mv.tags:
            cutoffs = json.loads(mv.tags["tier_cutoffs"])
    if cutoffs is None:
        raise ModelLoadError(f"model '{uri}' has no tier cut-offs; score with a registered version")
    return ResolvedModel(scorer, version, cutoffs, uri)


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
