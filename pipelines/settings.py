"""One typed settings object, built at the entry point and passed down (env prefix LEADSCORE_)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.tracking import Tracking, is_tracking_server
from models.train import TrainParams


class Settings(BaseSettings):
    """Every knob of a run; e.g. LEADSCORE_WORKSPACE=/data/ls, LEADSCORE_TRAIN__NUM_LEAVES=31."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_", env_nested_delimiter="__", extra="ignore")

    workspace: Path = Field(Path("workspace"), description="folder for lists, the MLflow store and artifacts")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default: MLFLOW_TRACKING_URI, else SQLite in the workspace"
    )
    model_name: str = Field("lead-scoring", description="registered model name")
    experiment_prefix: str = Field("leadscore", description="experiment = <prefix>-<dataset name>")
    gate_tolerance: float = Field(
        0.005, ge=0, le=0.5, description="promote if new AUC >= champion AUC - tolerance, same rows"
    )
    reasons_limit: int = Field(10_000, ge=0, description="leads (best first) that get plain-word reasons")
    weekly_mql_volume: float | None = Field(
        None, gt=0, description="MQLs per week for the review page's figures; default: measured from MQL dates"
    )
    minutes_per_lead: float = Field(15, ge=0, description="minutes an SDR spends per lead (review page, KPIs)")
    cost_per_hour: float = Field(30.0, ge=0, description="cost of an SDR hour (review page, KPIs)")
    currency: str = Field("€", description="currency symbol on the review page")
    capacity: int | None = Field(
        None, ge=1, description="leads the SDR team works per week: the top ones are marked this_week"
    )
    trend_points: float = Field(5.0, gt=0, description="score change (points) read as Improving or Declining")
    train: TrainParams = TrainParams()

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        return f"sqlite:///{(self.workspace / 'mlflow.db').resolve()}"

    def tracking(self, dataset_name: str) -> Tracking:
        uri = self.resolved_tracking_uri()
        # a tracking server owns its artifacts (--artifacts-destination); any store this process opens
        # itself (SQLite, PostgreSQL, a folder) keeps them in the workspace, never in the current folder
        return Tracking(
            uri,
            f"{self.experiment_prefix}-{dataset_name}",
            self.model_name,
            None if is_tracking_server(uri) else (self.workspace / "mlartifacts"),
        )
