"""Prefect flows: thin wiring of features/, models/ and serving/, one module per flow. Flows do the I/O, nothing else.

Each flow returns a typed result (pipelines/results.py); the tasks they call live in ``tasks``.
"""

from pipelines.flows.backtest import backtest_flow
from pipelines.flows.common import DRIFT_ALERT_STATE, with_drift_state
from pipelines.flows.features import build_features_flow, serving_rows_flow
from pipelines.flows.impact import impact_flow
from pipelines.flows.review import propose_flow, report_flow
from pipelines.flows.score import score_flow
from pipelines.flows.score_dask import score_dask_flow
from pipelines.flows.tasks import drift_task, publish_task
from pipelines.flows.train import train_flow
from pipelines.flows.weekly import weekly_flow

__all__ = [
    "DRIFT_ALERT_STATE",
    "backtest_flow",
    "build_features_flow",
    "drift_task",
    "impact_flow",
    "propose_flow",
    "publish_task",
    "report_flow",
    "score_dask_flow",
    "score_flow",
    "serving_rows_flow",
    "train_flow",
    "weekly_flow",
    "with_drift_state",
]
