"""Dataset configuration: how one CRM export maps onto the canonical leads and activities tables."""

from __future__ import annotations

import codecs
import hashlib
import tomllib
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.feature_ids import check_names, feature_columns, unknown_features

# the canonical leads' own columns: no attribute may take their names
RESERVED = {"lead_id", "mql_at", "sql_at", "created_at", "outcome"}
Role = Literal["categorical", "numeric", "text", "pii", "exclude"]


class ConfigError(ValueError):
    """A dataset config that cannot be used; the message names the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Attribute(_Strict):
    """One column of the leads export beyond the id and timestamps."""

    source: str = Field(description="column name in the export")
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="canonical snake_case name (its feature's id)"
    )
    role: Role


class LeadsMapping(_Strict):
    lead_id: str | None = Field(None, description="id column; without one, rows are numbered row-1, row-2...")
    mql_at: str | None = Field(None, description="MQL timestamp column (required when time = 'timestamps')")
    sql_at: str | None = Field(None, description="SQL timestamp column (required for outcome kind 'sql_date')")
    created_at: str | None = None
    attributes: list[Attribute] = []

    @model_validator(mode="after")
    def _unique_names(self) -> LeadsMapping:
        names = [a.name for a in self.attributes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        reserved = sorted(set(names) & {"lead_id", "mql_at", "sql_at", "created_at"})
        if dupes:
            raise ValueError(f"attribute names used twice: {dupes}")
        if reserved:
            raise ValueError(f"attribute names reserved for the contract: {reserved}")
        return self


class ActivitiesMapping(_Strict):
    lead_id: str
    occurred_at: str
    activity_type: str
    detail: str | None = None
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="this file's field separator (default: the top-level one)"
    )
    encoding: str | None = Field(None, description="this file's text encoding (default: the top-level one)")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        return value if value is None else _encoding(value)


class _RelatedFile(_Strict):
    """How a related table's own file is written, where it differs from the config's top-level settings."""

    delimiter: str | None = Field(None, min_length=1, max_length=1, description="default: the config's delimiter")
    encoding: str | None = Field(None, description="default: the config's encoding")
    decimal: str | None = Field(None, min_length=1, max_length=1, description="default: the config's decimal")
    thousands: str | None = Field(None, min_length=1, max_length=1, description="default: the config's thousands")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        return value if value is None else _encoding(value)

    @model_validator(mode="after")
    def _readable_numbers(self) -> Self:
        if self.decimal is not None and self.decimal == self.thousands:
            raise ValueError(
                f"'{getattr(self, 'name', '')}': thousands and decimal are both {self.decimal!r}: "
                "numbers could not be read"
            )
        return self


class Lookup(_RelatedFile):
    """A table joined onto the leads by key (contacts, accounts): its attributes become lead attributes.

    It is read as it is exported now, not as it was at each lead's MQL moment: mark a column written after
    the outcome (an account stage, a customer flag) ``exclude``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="short snake_case name, e.g. 'contacts'")
    file: str = Field(description="the table's file; relative paths are read from the leads file's folder")
    via: str = Field("leads", description="the table holding `key`: 'leads' or the name of an earlier lookup")
    key: str = Field(description="the column of `via` whose values are this table's ids, e.g. 'Contact ID'")
    id: str = Field(description="this table's own key column, unique per row")
    attributes: list[Attribute] = []


class EventTable(_RelatedFile):
    """A table of dated events that become activities (email events, web sessions, calls)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="short snake_case name, e.g. 'web_sessions'")
    file: str = Field(description="the table's file; relative paths are read from the leads file's folder")
    key: str = Field(description="the column naming whose event it is")
    matches: str = Field(
        "lead_id", description="what `key` holds: 'lead_id', or the name of a lookup whose ids it holds"
    )
    occurred_at: str
    activity_type: str | None = Field(None, description="the type column; without one every row is of `type`")
    type: str | None = Field(
        None, description="the fixed activity type of tables without a type column (default: name)"
    )
    values: list[str] = Field([], description="numeric columns summed per window, e.g. ['Pages Viewed']")
    timestamp_format: str | list[str] | None = Field(
        None, description="this table's own date format(s) when they differ from the config's timestamp_format"
    )

    @model_validator(mode="after")
    def _type_given_once(self) -> EventTable:
        if self.activity_type and self.type:
            raise ValueError(f"event table '{self.name}': give activity_type (a column) or type (fixed), not both")
        return self

    @property
    def fixed_type(self) -> str:
        return self.type or self.name


class Outcome(_Strict):
    """How the export says a lead became an SQL."""

    kind: Literal["sql_date", "status", "flag"] = Field(
        "sql_date",
        description="sql_date: an SQL timestamp within horizon_days; status: a column whose value is one of "
        "`positive`; flag: a 0/1 or yes/no column",
    )
    column: str | None = Field(None, description="the status or flag column (kinds status and flag)")
    positive: list[str] = Field(["1", "yes", "true", "y", "si", "sí"], description="values meaning SQL")

    @model_validator(mode="after")
    def _column_when_needed(self) -> Outcome:
        if self.kind != "sql_date" and not self.column:
            raise ValueError(f"outcome kind '{self.kind}' needs outcome.column")
        return self


class Split(_Strict):
    """Overrides of the evaluation windows for this dataset (fractions of the labelled leads)."""

    holdout_fraction: float | None = Field(None, gt=0, lt=0.5)
    calibration_fraction: float | None = Field(None, gt=0, lt=0.5)


class FieldAudit(_Strict):
    """One column's answer to: is it known at the MQL moment? Written by init-config for a person to confirm."""

    column: str
    known_at_mql: bool
    evidence: str = ""
    confirmed: bool = False


class PersonaCondition(_Strict):
    """One condition of the manual rule, on a feature-table column."""

    feature: str
    isin: list[str] | None = Field(default=None, alias="in")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PersonaCondition:
        if self.isin is None and self.min is None and self.max is None:
            raise ValueError(f"condition on '{self.feature}' needs 'in', 'min' or 'max'")
        return self


class Persona(_Strict):
    description: str
    conditions: list[PersonaCondition] = Field(min_length=1)


class FeatureSpec(_Strict):
    windows: list[int] = Field(default=[7, 30, 90], min_length=1)
    activity_types: list[str] = []
    other_types: list[str] = []
    title_attribute: str | None = None
    email_attribute: str | None = None
    monotone_increasing: list[str] = []
    monotone_decreasing: list[str] = []
    recency_half_life_days: float = Field(default=14.0, gt=0)


class Segments(_Strict):
    """One model per segment (e.g. country group), each where the segment passes the minimum-data check."""

    by: str = Field(description="a categorical feature whose values define the segments, e.g. 'country'")
    groups: dict[str, list[str]] = Field(
        default={},
        description="segment name -> the values it holds; without groups every value is its own segment. "
        "Leads whose value is in no group, missing or unseen are scored by the global model",
    )

    @model_validator(mode="after")
    def _groups_disjoint(self) -> Segments:
        seen: dict[str, str] = {}
        for name, values in self.groups.items():
            if not values:
                raise ValueError(f"segment group '{name}' lists no values")
            for v in values:
                if v in seen:
                    raise ValueError(f"value '{v}' is in two segment groups: '{seen[v]}' and '{name}'")
                seen[v] = name
        return self

    def value_map(self) -> dict[str, str]:
        """Feature value -> segment name (empty without groups: each value is its own segment)."""
        return {v: name for name, values in self.groups.items() for v in values}


class DatasetConfig(_Strict):
    """Everything leadscore needs to know about one CRM export."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    horizon_days: int | None = Field(
        None, gt=0, description="an MQL is labelled SQL if it converts within this many days (outcome sql_date)"
    )
    time: Literal["timestamps", "row_order", "none"] = Field(
        "timestamps",
        description="timestamps: MQL times drive features and the time split; row_order: no times, but rows are "
        "in time order (the newest rows are the holdout); none: a stratified random split, with optimistic figures",
    )
    outcome: Outcome = Outcome()
    split: Split = Split()
    missing_values: list[str] = ["", "unknown", "Unknown", "N/A", "n/a", "Select", "-"]
    timestamp_format: str | list[str] = Field(
        "ISO8601",
        description="'ISO8601' or a strftime format such as '%d/%m/%Y %H:%M'; a list of formats is tried in order "
        "(a table with date-times and date-only columns: ['%d/%m/%Y %H:%M', '%d/%m/%Y'])",
    )
    decimal: str = Field(".", min_length=1, max_length=1, description="decimal mark of numeric attributes, e.g. ','")
    thousands: str | None = Field(
        None, min_length=1, max_length=1, description="thousands separator of numeric attributes, e.g. '.'"
    )
    timezone: str = Field("UTC", description="time zone of timestamps written without an offset")
    encoding: str = Field("utf-8", description="text encoding of CSV files, e.g. 'latin-1'")
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator, e.g. ';'")
    leads: LeadsMapping
    activities: ActivitiesMapping | None = None
    lookups: list[Lookup] = []
    events: list[EventTable] = []
    features: FeatureSpec = FeatureSpec()
    persona: Persona
    segments: Segments | None = None
    audit: list[str] = Field(
        [],
        description="columns whose groups the review page checks for fairness and calibration (share passed, "
        "SQL rate, expected vs realised SQLs per value), e.g. ['country']: a categorical or text attribute, an "
        "excluded one (audited without becoming a feature) or a derived category such as 'seniority'; never pii",
    )
    field_audit: list[FieldAudit] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value, advice=" (use an IANA name such as 'Europe/Madrid')")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return _encoding(value)

    @field_validator("timestamp_format")
    @classmethod
    def _some_format(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and (not value or not all(value)):
            raise ValueError("timestamp_format: a list needs at least one format and no empty one")
        return value

    @model_validator(mode="after")
    def _references(self) -> DatasetConfig:
        if self.time == "timestamps" and not self.leads.mql_at:
            raise ValueError("time = 'timestamps' needs leads.mql_at (or set time to 'row_order' or 'none')")
        sql_date = self.outcome.kind == "sql_date"
        if sql_date and (not self.leads.sql_at or self.horizon_days is None or self.time != "timestamps"):
            raise ValueError("outcome kind 'sql_date' needs leads.sql_at, horizon_days and time = 'timestamps'")
        if self.thousands is not None and self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}: numbers could not be read")
        if self.has_activities and self.time != "timestamps":
            raise ValueError("an activities table needs MQL timestamps (time = 'timestamps') to stay point in time")
        _check_references(self)
        roles = {a.name: a.role for a in self.attributes}
        if self.features.title_attribute and roles.get(self.features.title_attribute) != "text":
            raise ValueError(f"features.title_attribute '{self.features.title_attribute}' must name a text attribute")
        if self.features.email_attribute and roles.get(self.features.email_attribute) != "pii":
            raise ValueError(f"features.email_attribute '{self.features.email_attribute}' must name a pii attribute")
        check_names(self)
        cats, nums = feature_columns(self)
        unknown = sorted(set(self.features.monotone_increasing + self.features.monotone_decreasing) - set(cats + nums))
        if unknown:
            raise ValueError(
                f"features.monotone_* name columns that are not features: {unknown_features(self, unknown)}"
            )
        if self.segments and self.segments.by not in cats:
            raise ValueError(f"segments.by '{self.segments.by}' must be a categorical feature (one of {sorted(cats)})")
        _check_audit(self, cats)
        persona_unknown = sorted({c.feature for c in self.persona.conditions} - set(cats + nums))
        if persona_unknown:
            raise ValueError(
                f"persona conditions name columns that are not features: {unknown_features(self, persona_unknown)}"
            )
        return self

    @property
    def attributes(self) -> list[Attribute]:
        """The leads' attributes, then each lookup's (their sources as ``lookup.column`` in the joined leads)."""
        joined = [
            Attribute(source=f"{t.name}.{a.source}", name=a.name, role=a.role)
            for t in self.lookups
            for a in t.attributes
        ]
        return list(self.leads.attributes) + joined

    @property
    def has_activities(self) -> bool:
        """Whether activity features exist: an activities table or event tables."""
        return self.activities is not None or bool(self.events)

    def names_with_role(self, role: Role) -> list[str]:
        return [a.name for a in self.attributes if a.role == role]

    def reads(self, attribute: Attribute) -> bool:
        """Whether the canonical leads carry ``attribute``: every role but exclude, and an excluded column
        marked ``audit`` (read for the review page's groups, still never a feature)."""
        return attribute.role != "exclude" or attribute.name in self.audit

    def fingerprint(self) -> str:
        # without audit columns the dump leaves the key out, so configs written before it keep their fingerprint
        dump = self.model_dump_json(by_alias=True, exclude=None if self.audit else {"audit"})
        return hashlib.sha256(dump.encode()).hexdigest()[:16]


def _check_references(config: DatasetConfig) -> None:
    """Raise ValueError when lookups or events name tables or attributes that do not fit together."""
    tables = [t.name for t in config.lookups] + [e.name for e in config.events]
    dupes = sorted({n for n in tables if tables.count(n) > 1} | (set(tables) & {"leads", "activities"}))
    if dupes:
        raise ValueError(f"lookup and event table names must be unique and not 'leads' or 'activities': {dupes}")
    seen = ["leads"]
    for t in config.lookups:
        if t.via not in seen:
            raise ValueError(f"lookup '{t.name}': via '{t.via}' must be 'leads' or an earlier lookup ({seen[1:]})")
        seen.append(t.name)
    for e in config.events:
        if e.matches != "lead_id" and e.matches not in seen[1:]:
            raise ValueError(f"event table '{e.name}': matches '{e.matches}' must be 'lead_id' or a lookup {seen[1:]}")
    names = [a.name for a in config.attributes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"attribute names used twice (leads and lookups together): {dupes}")
    reserved = sorted(set(names) & RESERVED)
    if reserved:
        raise ValueError(f"attribute names reserved for the contract: {reserved}")
    for e in config.events:
        twice = sorted({v for v in e.values if e.values.count(v) > 1})
        if twice:
            raise ValueError(f"event table '{e.name}': values lists {twice} twice; list each column once")


def _check_audit(config: DatasetConfig, categorical_features: list[str]) -> None:
    """Raise ValueError (naming the key and the column) unless every audit column can be grouped on the page.

    A pii column is refused: its groups would be single people, printed on the page and logged with it to
    MLflow. A numeric one is refused too: its values are not groups (a banded column is).
    """
    roles = {a.name: a.role for a in config.attributes}
    twice = sorted({n for n in config.audit if config.audit.count(n) > 1})
    if twice:
        raise ValueError(f"audit lists {twice} twice; list each column once")
    for name in config.audit:
        role = roles.get(name)
        if role == "pii":
            raise ValueError(
                f"audit names '{name}', a pii column: its groups would be people, shown on the review page and "
                "logged to MLflow; audit a category instead (e.g. country)"
            )
        if role == "numeric":
            raise ValueError(
                f"audit names '{name}', a numeric column: its values are not groups; add a banded column to the "
                "export (e.g. '18-29', '30-44') and audit that"
            )
        if role is None and name not in categorical_features:
            raise ValueError(
                f"audit names '{name}', which is neither an attribute nor a categorical feature of this config "
                f"(attributes: {sorted(roles)})"
            )


def known_time_zone(value: str, *, advice: str) -> str:
    """``value`` if it names a time zone Python knows (IANA, e.g. 'Europe/Madrid'), else a ValueError saying
    so, followed by ``advice`` (the dataset config and the settings each say what to write in their own terms)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}{advice}") from None
    return value


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r}") from None
    return value


def parse_config(data: dict, *, origin: str = "config") -> DatasetConfig:
    """Validate a config mapping; errors name each offending key."""
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{origin}: invalid dataset config"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  - {key}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path) -> DatasetConfig:
    """Read and validate a TOML dataset config."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"dataset config not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(data, origin=str(path))
