"""Training end to end (models/train.py) against raw `lgb.train` on the already-built matrix.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_training.py [--leads 1000000] [--activities 20000000] [--runs 3]

End to end is what the training flow's task runs, `train_and_evaluate` (labels, time split, leak audit,
LightGBM with early stopping, Platt calibration, holdout metrics with bootstrap intervals, the persona and
logistic-regression baselines, drift reference), with the default TrainParams, on the feature table of the
generated export (built once, cached in /tmp/leadscore-bench/; features are timed in bench_features.py).
Within it, the model search `fit_candidates` (matrix, every candidate, calibration) and the time inside the
default LightGBM's `lgb.train` are reported too. The reference is `lgb.train` alone, on the same training
matrix with the same parameters, validation set and number of boosting rounds as the default LightGBM
candidate used: the cost no wrapper can avoid (the search fits several models: see TrainParams
search_budget_seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG, data_options, emit, ensure_data, goal_line, machine, measure  # noqa: E402

GOAL = 1.5


def step(name: str, folder: Path, runs_dir: Path) -> None:
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    import models.fitting as fitting
    import models.train as train
    from features.config import load_config

    if name == "reference":
        saved = np.load(runs_dir / "train_matrix.npz")
        spec = json.loads((runs_dir / "train_params.json").read_text())
        t0 = time.perf_counter()
        train_set = lgb.Dataset(
            saved["M_train"],
            label=saved["y_train"],
            feature_name=spec["feature_name"],
            categorical_feature=spec["categorical_feature"],
        )
        cal_set = lgb.Dataset(saved["M_cal"], label=saved["y_cal"], reference=train_set)
        booster = lgb.train(spec["params"], train_set, num_boost_round=spec["rounds"], valid_sets=[cal_set])
        emit({"total_s": time.perf_counter() - t0, "rounds": booster.current_iteration()})
        return

    config = load_config(CONFIG)
    features = pd.read_parquet(folder / "features.parquet")
    leads = pd.read_parquet(folder / "leads.parquet", columns=["lead_id", "mql_at", "sql_at", "created_at"])
    as_of = train.default_as_of(leads, None)
    captured: dict = {}
    lgb_train, fit_scorer = fitting.lgb.train, train.fit_candidates

    def timed_lgb_train(params, train_set, **kw):
        if not captured.get("in_fit_scorer") or "lgb_train_s" in captured:  # the leak audit's, or a refit
            return lgb_train(params, train_set, **kw)
        if "arrays" not in captured:  # lightgbm frees the raw data once trained: keep references
            cal = kw["valid_sets"][0]
            captured["arrays"] = {"M_train": train_set.data, "y_train": train_set.label}
            captured["arrays"] |= {"M_cal": cal.data, "y_cal": cal.label}
            captured["names"] = (train_set.feature_name, train_set.categorical_feature)
        ran = [0]

        def count(env) -> None:  # rounds trained, early-stopping patience included (the booster keeps the best)
            ran[0] = env.iteration + 1

        kw = {**kw, "callbacks": [*kw.get("callbacks", []), count]}
        t = time.perf_counter()
        booster = lgb_train(params, train_set, **kw)
        captured.update(lgb_train_s=time.perf_counter() - t, params=params, rounds=ran[0])
        return booster

    def timed_fit_scorer(*args, **kw):
        t = time.perf_counter()
        captured["in_fit_scorer"] = True
        out = fit_scorer(*args, **kw)
        captured["in_fit_scorer"] = False
        captured["fit_scorer_s"] = time.perf_counter() - t
        return out

    # the other parts of train_and_evaluate, timed where it calls them
    parts = {
        "leak_audit_s": (train, "field_audit"),
        "logistic_baseline_s": (fitting, "fit_linear"),
        "metrics_bootstrap_s": (train, "compare_scorers"),
        "drift_reference_s": (train, "reference_profile"),
    }
    originals = {key: getattr(mod, attr) for key, (mod, attr) in parts.items()}

    def timer(key: str, fn):
        def wrapped(*args, **kw):
            t = time.perf_counter()
            out = fn(*args, **kw)
            captured[key] = captured.get(key, 0.0) + time.perf_counter() - t
            return out

        return wrapped

    for key, (mod, attr) in parts.items():
        setattr(mod, attr, timer(key, originals[key]))
    fitting.lgb.train, train.fit_candidates = timed_lgb_train, timed_fit_scorer
    t0 = time.perf_counter()
    labels = train.labels_for(leads, config, as_of)
    result = train.train_and_evaluate(features, labels, config=config, params=train.TrainParams())
    total = time.perf_counter() - t0
    fitting.lgb.train, train.fit_candidates = lgb_train, fit_scorer
    for key, (mod, attr) in parts.items():
        setattr(mod, attr, originals[key])

    # after the clock: keep the matrix and settings the reference step replays
    arrays = captured["arrays"]
    np.savez(runs_dir / "train_matrix.npz", **arrays)
    spec = {
        "params": captured["params"],
        "rounds": captured["rounds"],
        "feature_name": captured["names"][0],
        "categorical_feature": captured["names"][1],
    }
    (runs_dir / "train_params.json").write_text(json.dumps(spec, default=int))
    emit(
        {
            "total_s": total,
            "fit_scorer_s": captured["fit_scorer_s"],
            "lgb_train_s": captured["lgb_train_s"],
            **{key: captured.get(key, 0.0) for key in parts},
            "train_rows": int(arrays["M_train"].shape[0]),
            "calibration_rows": int(arrays["M_cal"].shape[0]),
            "features": int(arrays["M_train"].shape[1]),
            "rounds": captured["rounds"],
            "best_iteration": result.best_iteration,
            "threads": captured["params"]["num_threads"],
            "holdout_auc": result.metrics["model"]["roc_auc"],
        }
    )


def main() -> None:
    ap = data_options(__doc__)
    ap.add_argument("--step", choices=["e2e", "reference"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = ensure_data(a.leads, a.activities, a.seed)
    runs_dir = folder / "training"
    runs_dir.mkdir(exist_ok=True)
    if a.step:
        step(a.step, folder, runs_dir)
        return
    args = ["--leads", str(a.leads), "--activities", str(a.activities), "--seed", str(a.seed)]
    meta = json.loads((folder / "meta.json").read_text())
    print(f"machine: {machine()}")
    print(f"data: {meta['leads']:,} leads, {meta['activities']:,} activities (features cached in {folder})")
    e2e = measure(__file__, "e2e", args, a.runs)
    ref = measure(__file__, "reference", args, a.runs)
    x = e2e["extra"]
    print(
        f"model: {x['train_rows']:,} training rows ({x['calibration_rows']:,} calibration), {x['features']} features, "
        f"{x['rounds']} rounds (best {x['best_iteration']}), {x['threads']} threads; holdout AUC "
        f"{x['holdout_auc']:.4f}"
    )
    print(f"runs: {a.runs} each, median (all runs' totals in brackets); peak RSS of the step's process")
    print(
        f"  train_and_evaluate (end to end)         {e2e['total_s']:7.2f} s {e2e['all_total_s']}  "
        f"peak RSS {e2e['peak_rss_mb']:,.0f} MB"
    )
    for key, label in (
        ("fit_scorer_s", "model search (fit_candidates)"),
        ("lgb_train_s", "  inside it, default LightGBM's lgb.train"),
        ("leak_audit_s", "leak audit (field_audit)"),
        ("logistic_baseline_s", "  inside it, logistic regressions"),
        ("metrics_bootstrap_s", "holdout metrics, bootstrap CIs"),
        ("drift_reference_s", "drift reference profile"),
    ):
        print(f"    {label:38s} {e2e[key]:7.2f} s")
    print(
        f"  raw lgb.train (reference)                {ref['total_s']:7.2f} s {ref['all_total_s']}  "
        f"peak RSS {ref['peak_rss_mb']:,.0f} MB"
    )
    print(f"  model search vs reference: {e2e['fit_scorer_s'] / ref['total_s']:.2f}x")
    print(goal_line("training end to end vs lgb.train", e2e["total_s"] / ref["total_s"], GOAL))


if __name__ == "__main__":
    main()
