"""What `leadscore impact` returns, typed for the console: each archived list's realised results and the lift.

They wrap serving.impact's report, keys and order kept, as pipelines/results.py does for the other flows;
sections allow keys this module does not name (the renderer reads only the named ones).
"""

from __future__ import annotations

from typing import Any

from pipelines.results import Number, Record, Result, TierResponse


class ImpactPart(Record):
    leads: int
    sqls: int
    rate: float | None = None


class ImpactKpis(Record):
    sql_volume: int
    sqls_worked: int
    sdr_hours_worked: float
    sdr_hours_recovered: float
    cost_per_sql: float | None = None
    response_by_tier: dict[str, TierResponse] | None = None


class ImpactWeek(Record):
    """One archived list: pending (``due``) or realised, its SQLs against what its scores expected."""

    week_of: str
    status: str
    leads: int
    expected_sqls: float | None = None
    score_sum: float | None = None
    due: str | None = None
    sqls: int | None = None
    sqls_by_tier: dict[str, dict[str, Number | None]] | None = None
    worked: ImpactPart | None = None
    rest: ImpactPart | None = None
    control_worked: ImpactPart | None = None
    persona_worked: ImpactPart | None = None  # a persona-rule week's worked leads (kind "persona")
    kind: str | None = None  # the list's kind: "weekly", "score" or "persona"
    lift: float | None = None
    expected_low: float | None = None
    expected_high: float | None = None
    realised_sqls_scored: int | None = None
    calibration_z: float | None = None
    kpis: ImpactKpis | None = None


class ImpactTotal(ImpactWeek):
    """The realised weeks together (serving.impact.total_record)."""

    week_of: str = "total"
    status: str = "realised"
    weeks: int
    counted: str | None = None  # "distinct_leads": each lead once (its first worked listing, else its first)
    lead_weeks: int | None = None  # the list rows those leads filled, one per list a lead was on


class ImpactGroup(Record):
    worked_leads: int
    sqls: int
    rate: float | None = None
    cost_per_sql: float | None = None
    expected_sqls: float | None = None


class ImpactLift(Record):
    """The model group's worked leads against the control group's (serving.impact.lift_estimate)."""

    weeks: int
    model: ImpactGroup
    control: ImpactGroup
    lift: float | None = None
    lift_low: float | None = None
    lift_high: float | None = None
    relative_lift: float | None = None
    sqls_gained_per_week: float | None = None
    sqls_gained_per_week_low: float | None = None
    sqls_gained_per_week_high: float | None = None
    expected_sqls_given_up_per_week: float | None = None
    weeks_needed: int | None = None
    note: str | None = None


class ImpactResult(Result):
    """`impact`: every archived list against the outcomes known now, the total and the lift over the control group."""

    as_of: str
    horizon_days: int
    minutes_per_lead: Number
    cost_per_hour: Number
    lists: int
    realised_weeks: int
    pending_weeks: int
    weeks: list[ImpactWeek]
    total: ImpactTotal | None = None
    lift: ImpactLift | None = None
    control: dict[str, Any] | None = None  # since/due/lists/realised: the control group's first list, when any
    notes: list[str] = []
    files: dict[str, str] | None = None
    mlflow: dict[str, Any] | None = None
    elapsed_s: float | None = None
