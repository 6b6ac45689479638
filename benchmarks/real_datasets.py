"""Train on the two real public lead datasets and print metrics, baselines and the leak alarm's findings.

    .venv/bin/python benchmarks/real_datasets.py [--datasets ../shared/datasets]

For each dataset (read from ../shared/datasets, never copied into the project):
1. the pipeline as configured in data/configs/ (leaky columns excluded): holdout metrics of the model,
   the persona rule and a logistic regression, with 95% bootstrap intervals, and the SQL rate per window;
2. a stratified 5-fold estimate of the same model (what a random split would claim);
3. the leak audit with every excluded column switched back on (as an export arrives), its top 3;
4. the same run with the leaky columns left in: the leak alarm stops it, naming the columns.

With --sensitivity, two more sections explain a target figure that is hard to reach:
5. the headline figure (5-fold AUC without timestamps, holdout AUC with a time order) with each excluded
   column put back alone: how much each column the config drops would add;
6. the headline figure under a few honest settings (leaves, refit on the newest window): its spread.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from features.build import build_features, feature_columns
from features.config import DatasetConfig, load_config, parse_config
from features.contract import load_export
from models.leaks import LeakSuspected
from models.metrics import fast_auc
from models.train import TrainParams, fit_scorer, labels_for, stratified_split, train_and_evaluate

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    "x_education": "x_education_leads/Leads.csv",
    "uci_bank": "uci_bank_marketing/bank-additional-full.csv",
}


def prepare(config: DatasetConfig, path: Path):
    export = load_export(path, None, config)
    features = build_features(export.leads, None, config=config)
    return export, features, labels_for(export.leads, config, None)


def with_exclusions_switched_on(config: DatasetConfig, export_columns: dict[str, bool]) -> DatasetConfig:
    """The config as if nobody had excluded anything: each excluded column back as a candidate feature."""
    data = config.model_dump(by_alias=True)
    for attr in data["leads"]["attributes"]:
        if attr["role"] == "exclude" and not attr["name"].endswith(("_id", "_number")):
            attr["role"] = "numeric" if export_columns.get(attr["source"]) else "categorical"
    return parse_config(data)


def numeric_columns(path: Path, config: DatasetConfig) -> dict[str, bool]:
    from features.contract import read_table

    frame = read_table(path, encoding=config.encoding, delimiter=config.delimiter).frame
    out = {}
    for col in frame.columns:
        values = frame[col].astype("str").str.strip()
        values = values[~values.isin(config.missing_values)]
        out[col] = bool(len(values)) and values.str.fullmatch(r"-?\d+(\.\d+)?").mean() > 0.99
    return out


def stratified_cv(config: DatasetConfig, features, labels, params: TrainParams, folds: int = 5) -> list[float]:
    cats, nums = feature_columns(config)
    mature = (labels["state"] == "mature").to_numpy()
    X, y = features[mature], labels["label"].to_numpy()[mature]
    order = np.random.default_rng(params.seed).permutation(len(y))
    fold_of = np.empty(len(y), int)
    for cls in (0, 1):  # stratified: deal each class round the folds
        idx = order[y[order] == cls]
        fold_of[idx] = np.arange(len(idx)) % folds
    monotone = {f: 1 for f in config.features.monotone_increasing} | {
        f: -1 for f in config.features.monotone_decreasing
    }
    aucs = []
    for k in range(folds):
        test, rest = fold_of == k, np.flatnonzero(fold_of != k)
        inner = stratified_split(y[rest], holdout_fraction=0.0001, calibration_fraction=0.15, seed=params.seed + k)
        tr, cal = rest[inner == "train"], rest[inner == "calibration"]
        model, _ = fit_scorer(
            X.iloc[tr], y[tr], X.iloc[cal], y[cal], categorical=cats, numeric=nums, monotone=monotone, params=params
        )
        aucs.append(fast_auc(y[test], model.predict_proba(X[test])))
    return aucs


def report(name: str, path: Path, with_sensitivity: bool = False) -> None:
    config = load_config(ROOT / "data" / "configs" / f"{name}.toml")
    params = TrainParams()
    print(f"\n=== {name}: {path.name} ({config.time}, outcome {config.outcome.kind} '{config.outcome.column}')")
    t0 = time.perf_counter()
    export, features, labels = prepare(config, path)
    result = train_and_evaluate(features, labels, config=config, params=params)
    print(
        f"rows {export.rows_in['leads']:,}, rejected {len(export.rejects):,}; trained in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    for w, facts in result.windows.items():
        print(f"  {w:12s} {facts['rows']:6,} leads, SQL rate {facts['sql_rate']:.1%}")
    for scorer, m in result.metrics.items():
        print(
            f"  {scorer:20s} AUC {m['roc_auc']:.4f} [{m['roc_auc_ci_low']:.3f}, {m['roc_auc_ci_high']:.3f}]  "
            f"PR-AUC {m['pr_auc']:.3f}  SQLs in top 20% {m['capture_top20']:.1%}"
            + (f"  ECE {m['ece']:.3f}" if "ece" in m else "")
        )
    for note in result.notes:
        print(f"  note: {note}")
    t0 = time.perf_counter()
    aucs = stratified_cv(config, features, labels, params)
    print(f"  stratified 5-fold AUC {np.mean(aucs):.4f} (sd {np.std(aucs):.4f}) in {time.perf_counter() - t0:.1f} s")

    raw = with_exclusions_switched_on(config, numeric_columns(path, config))
    _, raw_features, raw_labels = prepare(raw, path)
    try:
        train_and_evaluate(raw_features, raw_labels, config=raw, params=params)
        print("  with the excluded columns switched on: the run went through (no alarm)")
    except LeakSuspected as exc:
        print(f"  with the excluded columns switched on: {exc}")
    from models.train import InsufficientData  # noqa: F401  (documented failure mode, not expected here)

    audit = _audit_only(raw, raw_features, raw_labels, params)
    print("  leak audit, top 3 suspects of the export as it arrives:")
    for r in audit.head(3).itertuples():
        print(f"    {r.source}: suspicion {r.suspicion:.2f}; {r.evidence}")
    if with_sensitivity:
        sensitivity(config, path, features, labels, numeric_columns(path, config))


def headline(config: DatasetConfig, features, labels, params: TrainParams) -> float:
    """The figure the issue targets: 5-fold AUC without timestamps, else the holdout AUC."""
    if config.time == "none":
        return float(np.mean(stratified_cv(config, features, labels, params)))
    return train_and_evaluate(features, labels, config=config, params=params).metrics["model"]["roc_auc"]


def sensitivity(config: DatasetConfig, path: Path, features, labels, numeric: dict[str, bool]) -> None:
    label = "5-fold AUC" if config.time == "none" else "holdout AUC"
    base = TrainParams(num_threads=1)
    print(f"  {label}, each excluded column put back alone (no leak stop here: measuring only):")
    import models.train as train

    original = train.stop_if_leaking
    train.stop_if_leaking = lambda audit, model_auc=None: None
    try:
        for attr in config.leads.attributes:
            if attr.role != "exclude" or attr.name.endswith(("_id", "_number")):
                continue
            data = config.model_dump(by_alias=True)
            for a in data["leads"]["attributes"]:
                if a["name"] == attr.name:
                    a["role"] = "numeric" if numeric.get(a["source"]) else "categorical"
            one = parse_config(data)
            _, f1, l1 = prepare(one, path)
            print(f"    + {attr.source:40s} {headline(one, f1, l1, base):.4f}")
    finally:
        train.stop_if_leaking = original
    print(f"  {label} as configured, under other honest settings:")
    figures = []
    for desc, kw in (
        ("defaults", {}),
        ("num_leaves 7", {"num_leaves": 7}),
        ("num_leaves 31, min_data_in_leaf 20", {"num_leaves": 31, "min_data_in_leaf": 20}),
        ("learning_rate 0.02", {"learning_rate": 0.02}),
        ("refit on train + calibration", {"refit": True}),
        ("num_leaves 7, refit", {"num_leaves": 7, "refit": True}),
    ):
        figures.append(headline(config, features, labels, base.model_copy(update=kw)))
        print(f"    {desc:40s} {figures[-1]:.4f}")
    print(f"    median {np.median(figures):.4f}, range {min(figures):.4f} to {max(figures):.4f}")


def _audit_only(config, features, labels, params):
    """The audit the run performs before training, without the stop, to show the full ranking."""
    import models.train as train

    captured = {}
    original = train.stop_if_leaking

    def capture(audit, model_auc=None):
        captured["audit"] = audit
        raise LeakSuspected("captured")

    train.stop_if_leaking = capture
    try:
        train.train_and_evaluate(features, labels, config=config, params=params)
    except LeakSuspected:
        pass
    finally:
        train.stop_if_leaking = original
    return captured["audit"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument(
        "--sensitivity", action="store_true", help="also what each excluded column adds, and the spread over settings"
    )
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    for name, rel in DATASETS.items():
        path = args.datasets / rel
        if not path.is_file():
            print(f"skipped {name}: {path} not found (see ../shared/datasets)")
            continue
        report(name, path, args.sensitivity)


if __name__ == "__main__":
    main()
