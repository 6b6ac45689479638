"""One typed settings object, built at the entry point and passed down (env prefix LEADSCORE_)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.config import known_time_zone
from models.promotion import PromotionPolicy
from models.tracking import Tracking, display_uri, is_tracking_server
from models.train import TrainParams


class RetrySettings(BaseModel):
    """Retries of the steps that touch files or MLflow, on transient errors only (pipelines/retries.py)."""

    retries: int = Field(3, ge=0, le=50, description="retries after the first attempt; 0 turns retrying off")
    delay_seconds: float = Field(2.0, ge=0, description="wait before the first retry; it doubles each retry")
    jitter: float = Field(0.2, ge=0, le=1, description="random extra wait, as a share of the delay")


class CacheSettings(BaseModel):
    """The point-in-time feature table, kept under <workspace>/cache/features/ (pipelines/feature_cache.py)."""

    enabled: bool = Field(True, description="reuse the feature table of identical inputs, config and code")
    keep: int = Field(8, ge=1, description="feature tables kept; the least recently used go first")


# the dataset config's time-zone check, with the settings' own advice
ScheduleZone = Annotated[
    str, AfterValidator(partial(known_time_zone, advice="; use an IANA name such as Europe/Madrid or UTC"))
]


class ScheduleSettings(BaseModel):
    """The weekly schedule of `leadscore serve` and the scheduled flow's default inputs."""

    cron: str = Field("0 6 * * 1", description="cron of the weekly run; default Monday 06:00")
    timezone: ScheduleZone = Field("Europe/Madrid", description="IANA time zone the cron is read in")
    leads: Path | None = Field(None, description="leads export the scheduled run reads")
    activities: Path | None = Field(None, description="activities export the scheduled run reads")
    config: Path | None = Field(None, description="dataset config; default data/configs/synthetic.toml")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        try:
            CronSchedule(cron=v)  # the same check `prefect deploy` applies
        except ValidationError:
            raise ValueError(
                f"invalid cron {v!r}; five fields: minute hour day-of-month month day-of-week, e.g. '0 6 * * 1'"
            ) from None
        return v


class LimitSettings(BaseModel):
    """Input limits and run time-outs (features/limits.py); generous defaults so real exports pass."""

    max_file_bytes: int = Field(
        20 * 1024**3, ge=1, description="largest input file read, in bytes (default 20 GiB); larger: refused"
    )
    max_rows: int = Field(100_000_000, ge=1, description="most rows per table (leads, activities); more: refused")
    max_cell_chars: int = Field(
        10_000, ge=1, description="longest text cell, in characters; a longer one rejects its row, with the reason"
    )
    run_timeout_seconds: float | None = Field(
        None, gt=0, description="time-out of a whole run (weekly, train, score...); none by default"
    )


class Settings(BaseSettings):
    """Every knob of a run; e.g. LEADSCORE_WORKSPACE=/data/ls, LEADSCORE_TRAIN__NUM_LEAVES=31."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_", env_nested_delimiter="__", extra="ignore")

    workspace: Path = Field(Path("workspace"), description="folder for lists, the MLflow store and artifacts")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default: MLFLOW_TRACKING_URI, else SQLite in the workspace"
    )
    model_name: str = Field("lead-scoring", description="registered model name")
    lock_timeout_seconds: float = Field(
        3600, ge=0, description="how long a command waits for another one writing the same workspace (0: not at all)"
    )

    @field_serializer("tracking_uri")
    def _mask_password(self, uri: str | None) -> str | None:
        # Settings is a flow parameter: Prefect stores parameters, serialised, in its database and UI
        return display_uri(uri) if uri else uri

    experiment_prefix: str = Field("leadscore", description="experiment = <prefix>-<dataset name>")
    promotion: PromotionPolicy = PromotionPolicy()
    gate_tolerance: float | None = Field(
        None, ge=0, le=0.5, description="deprecated name of promotion.tolerance; reads as the tolerance in effect"
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
    drift_watch: float = Field(0.1, gt=0, description="PSI from which a feature or the score is a drift watch")
    drift_alert: float = Field(0.2, gt=0, description="PSI from which it is a drift alert")
    drift_top_features: int = Field(
        5, ge=0, description="the model's most important features (by gain) whose alert is an alert for the run"
    )
    compile_predictor: Literal["auto", "on", "off"] = Field(
        "auto",
        description="compile the booster with lleaves when a model is logged (auto: where lleaves is installed; "
        "on: fail without it; off: never); scoring uses it where it loads, else LightGBM",
    )
    # the randomised control group (serving/control.py): the way to measure the list's lift in production
    control_share: float = Field(
        0.0,
        description="share of each list's open leads held out as a control group, ranked by the persona rule "
        "with their score and tier withheld (0 = off; at most 0.5)",
    )
    control_salt: str = Field(
        "leadscore-control",
        min_length=1,
        description="seed of the control assignment: a lead stays in its group for as long as the salt is unchanged",
    )
    lang: Literal["en", "es"] = Field(
        "en",
        description="language of the SDR list (list.csv: headers, tier labels, this_week, trend words, reasons) and "
        "of the review page shown first: en or es; list.parquet keeps the column ids",
    )
    train: TrainParams = TrainParams()
    retry: RetrySettings = RetrySettings()
    cache: CacheSettings = CacheSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    limits: LimitSettings = LimitSettings()

    @model_validator(mode="after")
    def _legacy_gate_tolerance(self) -> Settings:
        # LEADSCORE_GATE_TOLERANCE predates the policy: it still sets the tolerance unless the new name does
        if self.gate_tolerance is not None and "tolerance" not in self.promotion.model_fields_set:
            self.promotion = self.promotion.model_copy(update={"tolerance": self.gate_tolerance})
        self.gate_tolerance = self.promotion.tolerance
        return self

    @field_validator("control_share")
    @classmethod
    def _control_share(cls, value: float) -> float:
        if not 0 <= value <= 0.5:  # above half, the control group would be the list
            raise ValueError(f"must be a share from 0 (off) to 0.5, e.g. 0.1 for 10% of the open leads; got {value}")
        return value

    @field_validator("drift_alert")
    @classmethod
    def _alert_above_watch(cls, value: float, info: ValidationInfo) -> float:
        watch = info.data.get("drift_watch")
        if watch is not None and value <= watch:
            raise ValueError(f"must be above LEADSCORE_DRIFT_WATCH ({watch})")
        return value

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
