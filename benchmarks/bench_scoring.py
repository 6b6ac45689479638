"""Scoring end to end against raw `Booster.predict`, and the reasons for the top of the SDR list.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_scoring.py [--leads 1000000] [--activities 20000000] [--runs 3]

End to end scores every lead of the generated export as the scoring flow does, one stage after another:
read and validate the CSV export (`load_export`), build the features, predict with the calibrated model and
assign tiers (`score_leads` with no reasons), and write the list (CSV and Parquet) and the rejects atomically.
The reference is `Booster.predict` alone on the already-built matrix of the same leads, with the same booster.
Reasons are timed apart, as `score_leads` computes them: TreeSHAP contributions and the words for the
top --reasons leads (10,000 by default; the goal is 5 s).

End to end runs twice: with the compiled predictor (lleaves, compiled once when the model is prepared, as
log_training does) and with the LightGBM booster (the fallback where lleaves is not installed).

The model is fitted once (fit_scorer with the default TrainParams on the export's mature leads), compiled, and
cached with the data in /tmp/leadscore-bench/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG, data_options, emit, ensure_data, goal_line, machine, measure, score  # noqa: E402

from models.compiled import FACTS_FILE  # noqa: E402

GOAL_RATIO = 1.5
GOAL_REASONS_S = 5.0


def prepare_model(folder: Path) -> None:
    """Fit and save the model the scoring steps load, with its tier cut-offs."""
    import pandas as pd

    import models.train as train
    from features.build import feature_columns
    from features.config import load_config
    from models.compiled import compile_saved_model

    if (folder / "model" / "cutoffs.json").is_file():
        if not (folder / "model" / FACTS_FILE).is_file():  # a model cached before the compiled predictor
            print(json.dumps(compile_saved_model(folder / "model", "on")), file=sys.stderr)
        return
    config = load_config(CONFIG)
    categorical, numeric = feature_columns(config)
    features = pd.read_parquet(folder / "features.parquet")
    leads = pd.read_parquet(folder / "leads.parquet", columns=["lead_id", "mql_at", "sql_at", "created_at"])
    labels = train.labels_for(leads, config, train.default_as_of(leads, None)).set_index("lead_id")
    lab = labels.loc[features.index]
    mature = (lab["state"] == "mature").to_numpy()
    X, y = features[mature], lab["label"].to_numpy()[mature].astype(int)
    params = train.TrainParams()
    split = train.evaluation_split(lab["mql_at"][mature], y, config=config, params=params)
    spec = config.features
    monotone = {f: 1 for f in spec.monotone_increasing} | {f: -1 for f in spec.monotone_decreasing}
    tr, cal = split == "train", split == "calibration"
    model, _ = train.fit_scorer(
        X[tr], y[tr], X[cal], y[cal], categorical=categorical, numeric=numeric, monotone=monotone, params=params
    )
    model.extra["typical"] = X[tr][numeric].median().dropna().round(3).to_dict()
    model.save(folder / "model")
    cutoffs = train.default_tier_cutoffs(model.predict_proba(X[cal]))
    (folder / "model" / "cutoffs.json").write_text(json.dumps(cutoffs))
    # as log_training does when the model is logged: compiled once, beside booster.txt
    compile_saved_model(folder / "model", "on")


def step(name: str, folder: Path, reasons: int, predictor: str = "compiled") -> None:
    import numpy as np
    import pandas as pd

    from features.build import build_features
    from features.config import load_config
    from models.scorer import LeadScoreModel
    from serving.reasons import top_reasons

    config = load_config(CONFIG)
    model = LeadScoreModel.load(folder / "model")
    if predictor == "lightgbm":
        model.compiled, model.predictor_note = None, "benchmark: --predictor lightgbm"
    elif model.predictor != "compiled":
        raise SystemExit(f"the compiled predictor does not load here: {model.predictor_reason}")
    cutoffs = json.loads((folder / "model" / "cutoffs.json").read_text())
    if name == "e2e":
        import features.contract as contract
        from features.files import write_csv, write_parquet

        out_dir = folder / "scoring_out"
        t = {"csv_read_s": 0.0, "booster_predict_s": 0.0}

        def timed(key: str, fn):
            def wrapped(*args, **kw):
                t1 = time.perf_counter()
                out = fn(*args, **kw)
                t[key] += time.perf_counter() - t1
                return out

            return wrapped

        # where load_export and score_leads call them: the file reads, and the booster itself
        contract.read_table = timed("csv_read_s", contract.read_table)
        if model.compiled is not None:
            model.compiled.predict = timed("booster_predict_s", model.compiled.predict)
        else:
            model.booster.predict = timed("booster_predict_s", model.booster.predict)
        load_export = contract.load_export
        t0 = time.perf_counter()
        export = load_export(folder / "export" / "leads.csv", folder / "export" / "activities.csv", config)
        t["read_validate_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        features = build_features(export.leads, export.activities, config=config)
        t["features_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        scored = score(model, features, export.leads, cutoffs=cutoffs, config=config, reasons_limit=0)
        t["predict_tiers_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        write_csv(scored, out_dir / "list.csv")
        write_parquet(scored, out_dir / "list.parquet")
        write_csv(export.rejects, out_dir / "list_rejects.csv")
        t["write_s"] = time.perf_counter() - t1
        emit({"total_s": time.perf_counter() - t0, **t, "rows": len(scored), "predictor": model.predictor})
        return
    features = pd.read_parquet(folder / "features.parquet")
    if name == "predict":
        matrix = model.matrix(features)
        t0 = time.perf_counter()
        proba = model.booster.predict(matrix)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = model.compiled.predict(matrix) if model.compiled is not None else None
        compiled_s = time.perf_counter() - t0 if fast is not None else float("nan")
        emit({"total_s": total, "compiled_predict_s": compiled_s, "rows": len(proba)})
    elif name == "reasons":
        proba = model.predict_proba(features)
        head = features.iloc[np.argsort(-proba, kind="stable")[:reasons]]
        t0 = time.perf_counter()
        contrib = model.contributions(head)
        t_shap = time.perf_counter() - t0
        words = top_reasons(head, contrib, categories=model.categories, typical=model.extra.get("typical", {}))
        emit({"total_s": time.perf_counter() - t0, "treeshap_s": t_shap, "rows": len(words)})


def main() -> None:
    ap = data_options(__doc__)
    ap.add_argument("--reasons", type=int, default=10_000, help="leads at the top of the list that get reasons")
    ap.add_argument(
        "--predictor",
        choices=["both", "compiled", "lightgbm"],
        default="both",
        help="end to end with the compiled predictor (lleaves), the LightGBM booster (the fallback), or both",
    )
    ap.add_argument("--step", choices=["prepare", "e2e", "predict", "reasons"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = ensure_data(a.leads, a.activities, a.seed)
    if a.step == "prepare":
        prepare_model(folder)
        emit({"total_s": 0.0})
        return
    if a.step:
        step(a.step, folder, a.reasons, a.predictor)
        return
    args = ["--leads", str(a.leads), "--activities", str(a.activities), "--seed", str(a.seed)]
    measure(__file__, "prepare", args, 1)
    meta = json.loads((folder / "meta.json").read_text())
    print(f"machine: {machine()}")
    print(f"data: {meta['leads']:,} leads, {meta['activities']:,} activities (CSV export in {folder / 'export'})")
    kinds = ["compiled", "lightgbm"] if a.predictor == "both" else [a.predictor]
    e2es = {k: measure(__file__, "e2e", [*args, "--predictor", k], a.runs) for k in kinds}
    ref = measure(__file__, "predict", args, a.runs)
    rea = measure(__file__, "reasons", [*args, "--reasons", str(a.reasons)], a.runs)
    print(f"model: {model_size(folder)}")
    print(f"runs: {a.runs} each, median (all runs' totals in brackets); peak RSS of the step's process")
    for kind, e2e in e2es.items():
        print(
            f"  scoring end to end, {kind} predictor ({e2e['extra']['rows']:,} leads)  {e2e['total_s']:7.2f} s "
            f"{e2e['all_total_s']}  peak RSS {e2e['peak_rss_mb']:,.0f} MB"
        )
        for key, label in (
            ("read_validate_s", "read and validate (load_export)"),
            ("csv_read_s", "  of which reading the CSV files"),
            ("features_s", "features (build_features)"),
            ("predict_tiers_s", "predict, rank, tiers (score_leads)"),
            ("booster_predict_s", f"  of which the {kind} predictor"),
            ("write_s", "write list CSV + Parquet, rejects"),
        ):
            print(f"    {label:36s} {e2e[key]:7.2f} s")
    print(
        f"  Booster.predict (reference)             {ref['total_s']:7.2f} s {ref['all_total_s']}  "
        f"peak RSS {ref['peak_rss_mb']:,.0f} MB  ({ref['extra']['rows'] / ref['total_s'] / 1e6:.2f} M rows/s)"
    )
    print(
        f"  compiled predictor alone (lleaves)      {ref['compiled_predict_s']:7.2f} s, raw margins "
        f"({ref['extra']['rows'] / ref['compiled_predict_s'] / 1e6:.2f} M rows/s); compiled once in "
        f"{json.loads((folder / 'model' / FACTS_FILE).read_text())['compile_s']:.1f} s"
    )
    print(
        f"  reasons, top {rea['extra']['rows']:,} leads              {rea['total_s']:7.2f} s {rea['all_total_s']}  "
        f"(TreeSHAP {rea['treeshap_s']:.2f} s)  peak RSS {rea['peak_rss_mb']:,.0f} MB"
    )
    for kind, e2e in e2es.items():
        name = f"scoring end to end ({kind}) vs Booster.predict"
        print(goal_line(name, e2e["total_s"] / ref["total_s"], GOAL_RATIO))
    print(goal_line(f"reasons for the top {a.reasons:,}", rea["total_s"], GOAL_REASONS_S, " s"))


def model_size(folder: Path) -> str:
    import lightgbm as lgb

    from models.scorer import BOOSTER_FILE

    booster = lgb.Booster(model_file=str(folder / "model" / BOOSTER_FILE))
    dump = booster.dump_model()
    leaves = [t["num_leaves"] for t in dump["tree_info"]]
    return f"{booster.num_trees()} trees, up to {max(leaves)} leaves, {booster.num_feature()} features"


if __name__ == "__main__":
    main()
