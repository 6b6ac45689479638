"""Marketing's threshold review: the figures, as pure functions of the validation window, and the one-file
HTML page built from them.

Every figure comes from ``figures`` (and ``insights``), computed on a *window* (``window``): a frame with
one row per validation lead and the columns

- ``proba``: the model's calibrated SQL probability, 0-1 (the score is ``proba * 100``, 0-100);
- ``label``: 1 if the lead became an SQL within the horizon, else 0;
- ``persona_pass``: True where the manual persona rule passes the lead (all its conditions met);
- ``mql_at`` (optional): the MQL moment, used only to print the window's dates.

``fairness`` splits the window by the dataset config's ``audit`` columns (share passed, SQL rate, expected
vs realised SQLs per group). ``charts`` draws the figures as inline SVG, ``format`` writes numbers and dates
in English or Spanish, ``page`` assembles the page (its CSS, script and skeleton are package data in
``assets/``; its words are in ``serving/vocabulary``), and ``inputs`` gathers what the page needs from a
training run or a registered model.
"""

from serving.review.fairness import audit_values, fairness_section, group_figures
from serving.review.figures import (
    FIGURE_FORMATS,
    FIGURE_SLUGS,
    REFERENCE_RULES,
    RULE_SLUGS,
    TIERS,
    TRADEOFF_COLUMNS,
    calibration_table,
    cumulative_gains,
    cutoff_tradeoffs,
    reference_tradeoffs,
    score_bands,
)
from serving.review.format import TEXT, format_figure, format_number
from serving.review.inputs import ReviewInputs, for_model, from_training, render_pages, volume_for
from serving.review.insights import factor_insights, feature_label
from serving.review.page import render_report
from serving.review.window import review_window, scores, weekly_volume, window_frame
from serving.vocabulary import LANGS

__all__ = [
    "FIGURE_FORMATS",
    "FIGURE_SLUGS",
    "LANGS",
    "REFERENCE_RULES",
    "RULE_SLUGS",
    "TEXT",
    "TIERS",
    "TRADEOFF_COLUMNS",
    "ReviewInputs",
    "audit_values",
    "calibration_table",
    "cumulative_gains",
    "cutoff_tradeoffs",
    "factor_insights",
    "fairness_section",
    "feature_label",
    "for_model",
    "format_figure",
    "format_number",
    "from_training",
    "group_figures",
    "reference_tradeoffs",
    "render_pages",
    "render_report",
    "review_window",
    "score_bands",
    "scores",
    "volume_for",
    "weekly_volume",
    "window_frame",
]
