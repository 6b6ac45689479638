"""What each flow returns: typed results, rendered by the CLI (pipelines/cli/render.py) and dumped by --json.

Every model keeps the keys, the values and the order of the summary it was built from, so ``to_json()`` is
the JSON the command printed before the results were typed (and the ``*_summary.json`` written beside a
list). Sections built by lower layers (drift, KPIs, back-test weeks) allow keys this module does not name:
a figure added there reaches the JSON without a change here, and the renderer reads only named fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_serializer, model_validator

Number = int | float  # left as given: an int stays an int, a float a float, as in the JSON before


class Record(BaseModel):
    """A typed summary section: attribute access for the renderer, the original key order for the JSON.

    Read-only mapping access (``record["key"]``, ``.get``, ``dict(record)``, equality with a dict) serves
    callers that still hold the summary as the JSON document it is (tests, the serve events).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())
    _order: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_order(cls, data: Any, handler):  # noqa: ANN206 - pydantic's validator protocol
        obj = handler(data)
        if isinstance(data, dict):
            obj._order = list(data)
        return obj

    @model_serializer(mode="wrap")
    def _in_order(self, handler) -> dict[str, Any]:  # noqa: ANN001 - pydantic's serializer protocol
        out = handler(self)
        if not isinstance(out, dict) or not self._order:
            return out
        return {k: out[k] for k in self._order if k in out} | {k: v for k, v in out.items() if k not in self._order}

    def to_json(self) -> dict[str, Any]:
        """The summary as the JSON document it was: keys as given (aliases), absent ones left out."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def _key(self, key: str) -> str:
        for name, field in type(self).model_fields.items():
            if key == (field.alias or name):
                return name
        return key

    def __getitem__(self, key: str) -> Any:
        name = self._key(key)
        if name not in self.model_fields_set:
            raise KeyError(key)
        return getattr(self, name)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> list[str]:
        return list(self.to_json())

    def __len__(self) -> int:  # an empty section is falsy, as the empty dict it stands for was
        return len(self.model_fields_set)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._key(key) in self.model_fields_set

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return self.to_json() == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment] - mutable, like the dict it stands for


class Result(Record):
    """A command's result: errors are printed and exit, so a result returned is always ``ok``."""

    status: str = "ok"


# ---------------------------------------------------------------------------------------------------
# the inputs and the feature cache


class RelatedRows(Record):
    rows_in: int = Field(alias="in")
    rejected: int


class Inputs(Record):
    """Rows read and rejected per table, the loader's warnings, and (training) the leads by state."""

    leads_in: int
    activities_in: int
    leads_rejected: int
    activities_rejected: int
    warnings: list[str] = []
    related: dict[str, RelatedRows] | None = None
    leads_by_state: dict[str, int] | None = None


class FeatureCache(Record):
    cache: str | None = None  # reused, built or off
    key: str | None = None
    note: str | None = None


class Files(Record):
    """The files a command wrote (absent: not written)."""

    csv: str | None = None
    parquet: str | None = None
    rejects: str | None = None
    review_en: str | None = None
    review_es: str | None = None
    drift: str | None = None
    archive: str | None = None
    list: str | None = None
    json_file: str | None = Field(None, alias="json")


# ---------------------------------------------------------------------------------------------------
# training


class Window(Record):
    rows: int | None = None
    sqls: int | None = None
    sql_rate: float | None = None
    first_mql: str | None = None
    last_mql: str | None = None


class Metrics(Record):
    roc_auc: float | None = None
    roc_auc_ci_low: float | None = None
    roc_auc_ci_high: float | None = None
    pr_auc: float | None = None
    capture_top20: float | None = None
    lift_top10: float | None = None
    ece: float | None = None
    brier: float | None = None
    brier_base_rate: float | None = None
    pass_rate: float | None = None
    capture_passed: float | None = None
    sql_rate_passed: float | None = None


class Comparison(Record):
    diff: float
    low: float
    high: float
    verdict: str


class ModelChoice(Record):
    chosen: str | None = None
    kind: str = "lightgbm"


class Candidate(Record):
    name: str
    calibration_auc: float
    holdout_auc: float
    chosen: bool


class Segment(Record):
    segment: str
    train_rows: int
    model: str
    holdout_auc: float | None = None
    holdout_auc_global: float | None = None
    why: str = ""


class LeakSuspect(Record):
    source: str
    evidence: str


class Gate(Record):
    """The registry's decision on this run's version (models.tracking.GateDecision)."""

    promoted: bool
    version: str
    previous_champion: str | None = None
    challenger_auc: float | None = None
    champion_auc: float | None = None
    tolerance: float | None = None
    reason: str
    rule: str = ""
    outcome: str = ""
    champion_age_days: float | None = None


class MlflowRun(Record):
    tracking_uri: str
    experiment: str
    run_id: str
    model: str


class TrainingFigures(Record):
    """A trained model's figures: windows, metrics, comparisons, notes, leak suspects, the gate, MLflow."""

    windows: dict[str, Window] | None = None
    metrics: dict[str, Metrics] | None = None
    model_vs_baselines: dict[str, Comparison] | None = None
    best_iteration: int | None = None
    model_choice: ModelChoice | None = None
    candidates: list[Candidate] | None = None
    notes: list[str] | None = None
    segments: list[Segment] | None = None
    leak_suspects: list[LeakSuspect] | None = None
    tier_cutoffs: dict[str, Number] | None = None
    tier_cutoffs_set_by: str | None = None
    gate: Gate | None = None
    mlflow: MlflowRun | None = None


class TrainResult(TrainingFigures):
    """`train`: the export read, the model's figures, the registry's decision."""

    status: str = "ok"
    as_of: str | None = None
    inputs: Inputs | None = None
    features: FeatureCache | None = None
    elapsed_s: float | None = None


# ---------------------------------------------------------------------------------------------------
# the list and drift


class Capacity(Record):
    capacity: int
    leads: int
    expected_sqls: float | None = None
    leads_remainder: int | None = None
    expected_sqls_remainder: float | None = None
    note: str | None = None


class Trend(Record):
    improving: int = 0
    steady: int = 0
    declining: int = 0
    new: int = 0
    tier_moved: int = 0


class TierResponse(Record):
    leads: int
    replied: int
    rate: float


class Kpis(Record):
    """The week's seed KPIs (serving.planning.week_kpis)."""

    open_leads: int
    expected_sqls: float
    cutoff_c: Number
    leads_at_or_above_c: int
    expected_sqls_at_or_above_c: float
    expected_sqls_below_c: float | None = None
    sdr_hours_needed: float | None = None
    sdr_hours_recovered: float
    cost_per_sql: float | None = None
    minutes_per_lead: Number
    cost_per_hour: Number
    response_by_tier: dict[str, TierResponse] | None = None


class ControlGroup(Record):
    """The list's control group (serving.control.control_facts): share 0 is off."""

    share: float
    leads: int
    salt: str
    model_leads: int | None = None
    worked: int | None = None
    capacity_model: int | None = None
    capacity_control: int | None = None
    expected_sqls_worked: float | None = None
    expected_sqls_model_pick: float | None = None
    expected_sqls_given_up: float | None = None


class ListSummary(Record):
    """The list written: rows, tiers, and the working-list, trend and KPI facts."""

    rows: int
    note: str | None = None
    tiers: dict[str, int] | None = None
    tier_cutoffs: dict[str, Number] | None = None
    predictor: str | None = None
    capacity: Capacity | None = None
    trend: Trend | None = None
    kpis: Kpis | None = None
    control: ControlGroup | None = None
    lang: str | None = None  # the language list.csv is written in (the review page in it is shown first)
    kind: str | None = None  # "weekly", "score" or "persona": how impact reads the list


class DriftRow(Record):
    feature: str
    top: bool = False
    psi: float
    level: str
    unseen_now: float | None = None
    missing_then: float | None = None
    missing_now: float | None = None
    largest_shift: str = ""


class DriftThresholds(Record):
    watch: float
    alert: float


class DriftMlflow(Record):
    monitor_run_id: str | None = None
    step: int | None = None
    warning: str | None = None


class DriftSection(Record):
    """The batch against the scoring model's training window (serving.drift.check)."""

    level: str
    score_psi: float | None = None
    score_level: str | None = None
    alerts: list[str] | None = None
    other_alerts: list[str] | None = None
    worst: list[DriftRow] | None = None
    message: str = ""
    reference: str | None = None
    top_features: dict[str, float] | None = None
    thresholds: DriftThresholds | None = None
    named: dict[str, str] | None = None
    mlflow: DriftMlflow | None = None


class ListResult(Result):
    """What every command that writes a list shares: the list, its drift check and its files."""

    inputs: Inputs | None = None
    list: ListSummary | None = None
    drift: DriftSection | None = None
    files: Files | None = None
    elapsed_s: float | None = None


class ScoreResult(ListResult):
    """`score`: the model that scored, its cut-offs and the list."""

    model: str | None = None
    model_version: str | None = None
    tier_cutoffs: dict[str, Number] | None = None
    predictor: str | None = None


class WeeklyResult(ListResult, TrainingFigures):
    """`weekly`: the training figures and the registry's decision, then the list (or the persona week's)."""

    as_of: str | None = None
    features: FeatureCache | None = None
    training: str | None = None  # the persona week: why no model ranked the list
    scored_with: str | None = None
    review_pages: Files | None = None


# ---------------------------------------------------------------------------------------------------
# the other flows


class FeaturesResult(Result):
    """`features`: the feature table (or the serving rows) written and its rejects."""

    format: str | None = None
    inputs: Inputs
    features: str
    rejects: str
    columns: int
    rows: int | None = None
    as_of: str | None = None


class Tradeoff(Record):
    """One rule's weekly figures on the validation window (serving.review.reference_tradeoffs)."""

    leads_per_week: float | None = None
    sqls_per_week: float | None = None
    sql_rate_passed: float | None = None
    share_captured: float | None = None
    sdr_hours_per_week: float | None = None
    cost_per_sql: float | None = None


class ValidationWindow(Record):
    leads: int
    sqls: int


class ModelWindowResult(Result):
    """What `report` and `thresholds propose` share: the model, its validation window, the weekly volume."""

    model: str
    model_version: str
    window: ValidationWindow
    weekly_mql_volume: float
    weekly_mql_volume_source: str


class ReportResult(ModelWindowResult):
    """`report`: the page written and its figures at the current cut-offs."""

    page: str
    lang: str
    tier_cutoffs: dict[str, Number]
    at_current_cutoffs: dict[str, Tradeoff]
    auc: float


class ProposeResult(ModelWindowResult):
    """`thresholds propose`: cut-offs for a capacity and their figures beside the current ones'."""

    capacity: Number
    current: dict[str, Number]
    proposed: dict[str, Number]
    at_proposed: dict[str, Tradeoff]
    at_current: dict[str, Tradeoff]
    rule: str


class BacktestWeek(Record):
    """One replayed week (models.backtest.week_records), or the total row's figures."""

    week_of: str | None = None
    status: str | None = None
    note: str | None = None
    mqls: int
    sqls: int
    model_auc: float | None = None
    persona_auc: float | None = None
    median_model_auc: float | None = None
    median_persona_auc: float | None = None
    model_sqls_in_capacity: Number | None = None
    persona_sqls_in_capacity: Number | None = None
    random_sqls_in_capacity: Number | None = None
    model_expected_sqls: float | None = None


class ModelWeeks(Record):
    model_sqls_in_capacity: Number
    persona_sqls_in_capacity: Number
    gain_over_persona: float | None = None
    model_ahead: int
    persona_ahead: int
    level: int
    expected_sqls: Number
    actual_sqls: int


class BacktestTotal(BacktestWeek):
    weeks: int
    weeks_with_model: int
    persona_passed: int
    persona_passed_sqls: int
    model_weeks: ModelWeeks


class BacktestCapacity(Record):
    leads: int
    source: str


class BacktestResult(Result):
    """`backtest`: each replayed week and the total."""

    export_end: str
    horizon_days: int | None = None
    inputs: Inputs
    weeks_asked: int
    capacity: BacktestCapacity
    weeks: list[BacktestWeek]
    total: BacktestTotal
    not_mature: list[str]
    not_mature_note: str
    files: Files | None = None
    elapsed_s: float | None = None


class DaskFacts(Record):
    partitions: int
    workers: int | None = None
    address: str | None = None
    peak_rss_mb_by_worker: dict[str, float] = {}


class DaskScoreResult(ScoreResult):
    """`score --dask`: the partitioned list, and the cluster's figures."""

    dask: DaskFacts
    leads_per_s: int | None = None


class GenerateResult(Result):
    """`generate`: the files written and the history's facts (or the partitions')."""

    files: dict[str, str] | None = None
    leads: int
    activities: int
    partitions: int | None = None
    sql_rate: float | None = None
    export_at: str | None = None
    open_leads: int | None = None
    bayes_auc_open: float | None = None


class Suspect(Record):
    column: str
    evidence: str


class InitConfigResult(Result):
    """`init-config`: the config written, the roles guessed, the leak suspects and what to check."""

    config: str
    rows: int
    columns: int
    roles: dict[str, int]
    outcome: dict[str, Any] | None = None  # the config's outcome section, as proposed
    time: str
    pii: list[str] = []
    suspects: list[Suspect] = []
    to_check: list[str] = []
    related: list[str] = []
