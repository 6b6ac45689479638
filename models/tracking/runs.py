"""Training runs: params, metrics, evaluation artifacts and the pyfunc model of one training; review pages.

Nothing personal reaches MLflow: params and metrics are figures and settings, artifacts are the model
(feature names, category values of firmographic columns, the booster), the dataset config (column
names only), metrics and the feature importance table. PII values never enter a feature table, so
they cannot reach the model either; no input example is logged.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from features.files import neutralise_formulas
from models.compiled import compile_saved_model
from models.tracking.client import Tracking, _tracking_uri
from models.train import TrainingResult

MODELS_DIR = Path(__file__).resolve().parent.parent  # models/: shipped with the logged model as its code


def log_training(
    tracking: Tracking, result: TrainingResult, *, params: dict, data_facts: dict, compile_predictor: str = "auto"
) -> tuple[str, str]:
    """Log one training run (params, metrics, artifacts, the pyfunc model). Returns (run_id, model_uri).

    ``compile_predictor`` (auto, on, off): compile the booster(s) once with lleaves and log the object code
    with the model (models/compiled.py; auto only for an export of ``AUTO_MIN_LEADS`` leads or more, from
    ``data_facts["rows_leads"]``); the compile time is logged as the metric ``compile_predictor_s``.
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
            compiled = compile_saved_model(scorer_dir, compile_predictor, leads=data_facts.get("rows_leads"))
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
