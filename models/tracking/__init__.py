"""The only package that talks to MLflow: experiments, runs, the model registry and the promotion gate.

One concern per module: ``client`` (the tracking URI, reachability, errors), ``runs`` (a training run and
its model), ``registry`` (register, gate, aliases, loading a version), ``records`` (tier cut-offs as a
versioned decision), ``history`` (champion history and holds), ``rollback``, ``versions`` (the list of
versions), ``drift`` (the drift series) and ``impact`` (realised results
of past lists). The public names are re-exported here, so callers write ``import models.tracking as trk``.
"""

from models.tracking.client import (
    CHALLENGER,
    CHAMPION,
    SERVER_SCHEMES,
    ModelLoadError,
    Tracking,
    TrackingUnavailable,
    champion_version,
    check_reachable,
    display_uri,
    is_missing,
    is_tracking_server,
    mask_secrets,
)
from models.tracking.drift import DRIFT_LEVEL_CODE, DRIFT_MONITOR_TAG, drift_metrics, log_drift
from models.tracking.history import (
    BY_ROLLBACK_TAG,
    CHAMPION_HISTORY_KEEP,
    CHAMPION_HISTORY_TAG,
    HOLD_TAG,
    ROLLED_BACK_TAG,
    active_hold,
    champion_history,
    previous_champion,
)
from models.tracking.impact import IMPACT_TAG, log_impact
from models.tracking.records import (
    DEFAULT_SETTER,
    HISTORY_CHARS,
    HISTORY_KEEP,
    HISTORY_TAG,
    NOTE_CHARS,
    CutoffError,
    cutoff_record,
    registry_version,
    set_cutoffs,
)
from models.tracking.registry import GateDecision, ResolvedModel, apply_decision, decide, load_scorer, register, resolve
from models.tracking.rollback import RollbackError, rollback
from models.tracking.runs import MODELS_DIR, log_report, log_training
from models.tracking.versions import METRIC_KEYS, WINDOW_KEYS, list_versions

__all__ = [
    "BY_ROLLBACK_TAG",
    "CHALLENGER",
    "CHAMPION",
    "CHAMPION_HISTORY_KEEP",
    "CHAMPION_HISTORY_TAG",
    "DEFAULT_SETTER",
    "DRIFT_LEVEL_CODE",
    "DRIFT_MONITOR_TAG",
    "HISTORY_CHARS",
    "HISTORY_KEEP",
    "HISTORY_TAG",
    "HOLD_TAG",
    "IMPACT_TAG",
    "METRIC_KEYS",
    "MODELS_DIR",
    "NOTE_CHARS",
    "ROLLED_BACK_TAG",
    "SERVER_SCHEMES",
    "WINDOW_KEYS",
    "CutoffError",
    "GateDecision",
    "ModelLoadError",
    "ResolvedModel",
    "RollbackError",
    "Tracking",
    "TrackingUnavailable",
    "active_hold",
    "apply_decision",
    "champion_history",
    "champion_version",
    "check_reachable",
    "cutoff_record",
    "decide",
    "display_uri",
    "drift_metrics",
    "is_missing",
    "is_tracking_server",
    "list_versions",
    "load_scorer",
    "log_drift",
    "log_impact",
    "log_report",
    "log_training",
    "mask_secrets",
    "previous_champion",
    "register",
    "registry_version",
    "resolve",
    "rollback",
    "set_cutoffs",
]
