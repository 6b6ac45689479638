"""Feature words: the user's own words for every feature, in whatever a person reads.

The list's reasons, the review page, the drift table and MLflow's importance table show an activity type
or a column as the export writes it, never its internal id (``features.feature_ids``). The id -> words
map is recomputed from the dataset config, which travels with every model (``model.extra["dataset_config"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from features.config import DatasetConfig
from features.feature_ids import OTHER, activity_ids, derived_features, value_features, window_feature


@dataclass(frozen=True)
class FeatureWords:
    """The user's words for a config's features, for the sentences people read.

    ``kinds``: activity kind id -> the type as the export writes it; ``other``: the types pooled in
    ``other_activities_<w>d``; ``columns``: attribute name -> its column in the export; ``labels``: every
    feature -> a short display name ("Page View: Pricing, last 7 days").
    """

    kinds: dict[str, str] = field(default_factory=dict)
    other: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # event value column id -> its words

    def named(self, feature: str) -> str:
        """The feature as a message names it: its id where that is the config's own name (``pricing_view_7d``,
        ``company_size``), else its words ("'Page View: Pricing, last 7 days'")."""
        kind, _, days = feature.rpartition("_")
        if kind in self.kinds and self.kinds[kind] != kind and days[:-1].isdigit():
            return repr(self.labels.get(feature, feature))
        if self.value_sum(feature) is not None:  # an event value's sum: its column's words
            return repr(self.labels.get(feature, feature))
        return feature

    def value_sum(self, feature: str) -> tuple[str, int] | None:
        """(the value column's words, the window in days) for an event value's sum feature, else None."""
        vid, sep, days = feature.rpartition("_sum_")
        if sep and vid in self.values and days.endswith("d") and days[:-1].isdigit():
            return self.values[vid], int(days[:-1])
        return None


def other_label(types: tuple[str, ...] | list[str], most: int = 3) -> str:
    """'other activities (A, B, C and 4 more)': what the pooled bucket holds."""
    shown = ", ".join(types[:most]) + (f" and {len(types) - most} more" if len(types) > most else "")
    return f"other activities ({shown})" if shown else "other activities"


def display_names(config: DatasetConfig) -> dict[str, str]:
    """Every feature id of the config -> its name in the user's words.

    Attributes: their column in the export; activity counts: the type as the export writes it and the
    window ("Page View: Pricing, last 7 days"); derived features: plain words.
    """
    return feature_words(config).labels


def feature_words(config: DatasetConfig | dict | None) -> FeatureWords:
    """The words of a config's features (see ``FeatureWords``); a config as saved with a model is accepted.

    Empty for None or a saved config that no longer validates, so a sentence falls back to the id.
    """
    if config is None:
        return FeatureWords()
    if isinstance(config, dict):
        try:
            config = DatasetConfig.model_validate(config)
        except (ValidationError, ValueError):
            return FeatureWords()
    spec = config.features
    columns = {a.name: a.source for a in config.attributes}
    # a lookup's column reads "Industry (accounts)" to people, not the joined leads' "accounts.Industry"
    shown = {a.name: a.source for a in config.leads.attributes}
    shown |= {a.name: f"{a.source} ({t.name})" for t in config.lookups for a in t.attributes}
    labels = {a.name: shown[a.name] for a in config.attributes if a.role in ("categorical", "numeric")}
    plain = {
        "seniority": f"seniority (from {shown.get(spec.title_attribute or '', 'the job title')})",
        "email_type": f"email type (from {shown.get(spec.email_attribute or '', 'the email')})",
        "days_created_to_mql": "days from creation to MQL",
        "mql_month": "month of the MQL",
        "distinct_types_90d": "different activity types, last 90 days",
        "days_since_last_activity": "days since the last activity",
        "engagement_recency_weighted": "recent engagement (recent activity counts more)",
        "velocity_7d_vs_30d": "activity pace, last 7 days against last 30 days",
    }
    kinds: dict[str, str] = {}
    for name in derived_features(config):
        if name in plain:
            labels[name] = plain[name]
    values = value_features(config)
    for vid, words in values.items():
        for w in spec.windows:
            labels[f"{vid}_sum_{w}d"] = f"{words}, sum over the last {w} days"
    if config.has_activities:
        kinds = {kid: t for t, kid in activity_ids(config).items()}
        for w in spec.windows:
            for kid, t in kinds.items():
                labels[window_feature(kid, w)] = f"{t}, last {w} days"
            labels[window_feature("activities", w)] = f"all activities, last {w} days"
            if spec.other_types:
                labels[window_feature(OTHER, w)] = f"{other_label(spec.other_types)}, last {w} days"
    return FeatureWords(kinds=kinds, other=tuple(spec.other_types), columns=columns, labels=labels, values=values)
