"""The feature flows: the point-in-time feature table, and the same rows as a request body for online scoring."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from features.config import load_config
from features.files import write_csv, write_parquet
from pipelines.flows.common import labels_at, load
from pipelines.results import FeaturesResult
from serving.online import write_invocation_json
from serving.summary import inputs_summary


def _rejects_beside(out: Path) -> Path:
    return Path(out).with_name(Path(out).stem + "_rejects.csv")


@flow(name="build-features", log_prints=True)
def build_features_flow(leads: Path, activities: Path | None, config_path: Path, out: Path) -> FeaturesResult:
    """Load, validate and write the point-in-time feature table (Parquet) and its rejects."""
    config = load_config(config_path)
    export, features = load(leads, activities, config)
    labels, as_of = labels_at(export, config, None)
    table = features.reset_index().merge(labels[["lead_id", "state", "label"]], on="lead_id")
    write_parquet(table, out)
    rejects = write_csv(export.rejects, _rejects_beside(out))
    return FeaturesResult(
        status="ok",
        inputs=inputs_summary(export, labels),
        features=str(out),
        rejects=str(rejects),
        columns=len(features.columns),
        as_of=str(as_of),
    )


@flow(name="serving-rows", log_prints=True)
def serving_rows_flow(leads: Path, activities: Path | None, config_path: Path, out: Path) -> FeaturesResult:
    """Load, validate and write every valid lead's feature rows as a request body for `mlflow models serve`.

    The rows are the model's input (no state, no label), built point in time as for the list; the lead
    ids ride in the body's index. Rejected rows go beside it, as for the feature table.
    """
    config = load_config(config_path)
    export, features = load(leads, activities, config)
    write_invocation_json(features, out)
    rejects = write_csv(export.rejects, _rejects_beside(out))
    return FeaturesResult(
        status="ok",
        format="json",
        inputs=inputs_summary(export),
        features=str(out),
        rejects=str(rejects),
        columns=len(features.columns),
        rows=len(features),
    )
