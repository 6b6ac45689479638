"""Every figure of issue 16 in one run, one table: reading, scoring end to end, memory, reasons, training.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_all.py --leads 200000 --activities 4000000 --runs 3
    PYTHONPATH=. .venv/bin/python benchmarks/bench_all.py --leads 1000000 --activities 20000000 --runs 3

One size per invocation (the table's title says which). On the generated export of benchmarks/_common.py
(cached in /tmp/leadscore-bench/, LEADSCORE_BENCH_CACHE to move it), also written as Parquet input files
(``export_parquet_typed/``: the CSV's columns, with the timestamp columns the config maps typed as a
warehouse or CRM Parquet export holds them and blanks null; every other column as text), every figure is
taken in fresh processes, ``--runs`` times, medians, each against its reference in the same run:

- read: ``load_export`` (read and validate) against a bare multi-threaded ``pyarrow.csv.read_csv`` /
  ``pyarrow.parquet.read_table`` of the same files;
- scoring end to end (``load_export``, ``build_features``, ``score_leads`` without reasons, the list written
  as CSV and Parquet and the rejects as CSV), from CSV and from Parquet with the LightGBM booster, and from
  Parquet with the compiled predictor (lleaves), against ``Booster.predict`` on the built matrix;
  the peak RSS of those processes (the goal is for 1M leads);
- contributions for the top --reasons leads (``LeadScoreModel.contributions``), against LightGBM's
  ``pred_contrib`` on the same rows (largest difference shown), and the reasons as ``score_leads`` gives them;
- training: ``train_and_evaluate`` with the default TrainParams; its final fit (the shipped booster's own fit,
  cut and Platt calibration) against raw ``lgb.train`` on the same matrix with the same parameters,
  validation rows and rounds; the rest of the model search, the leak audit and the evaluation (holdout metrics,
  bootstrap intervals, baselines, drift reference) as shares of the whole, the search against its time budget.

Only public entry points are called, so the script follows the code it measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG, data_options, emit, ensure_data, machine, measure, score  # noqa: E402

GOALS = {"csv": 2.0, "parquet": 1.2, "compiled": 1.0, "rss_mb": 2048, "contrib_s": 2.0, "final_fit": 1.2}
PARQUET_EXPORT = "export_parquet_typed"


def export_paths(folder: Path, source: str) -> tuple[Path, Path]:
    sub, ext = ("export", "csv") if source == "csv" else (PARQUET_EXPORT, "parquet")
    return folder / sub / f"leads.{ext}", folder / sub / f"activities.{ext}"


def ensure_parquet_export(folder: Path) -> None:
    """The CSV export as Parquet input files: the config's timestamp columns typed (blanks null), the rest text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from features.config import load_config

    out = folder / PARQUET_EXPORT
    if (out / "activities.parquet").is_file():
        return
    out.mkdir(exist_ok=True)
    config = load_config(CONFIG)
    stamps = {
        "leads": {config.leads.created_at, config.leads.mql_at, config.leads.sql_at},
        "activities": {config.activities.occurred_at},
    }
    for name in ("leads", "activities"):
        src = folder / "export" / f"{name}.csv"
        with pacsv.open_csv(src) as reader:
            names = reader.schema.names
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
        table = pacsv.read_csv(src, convert_options=convert)
        for i, col in enumerate(table.column_names):
            if col in stamps[name]:  # the generator writes "YYYY-MM-DD HH:MM:SS", blank when missing
                text = pc.if_else(pc.equal(table[col], ""), None, table[col])
                table = table.set_column(i, col, pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="s"))
        pq.write_table(table, out / f".{name}.parquet.tmp")
        (out / f".{name}.parquet.tmp").rename(out / f"{name}.parquet")


def step_read(folder: Path, source: str, bare: bool) -> None:
    leads_path, acts_path = export_paths(folder, source)
    if bare:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        read = pacsv.read_csv if source == "csv" else pq.read_table
        t0 = time.perf_counter()
        rows = sum(read(p).num_rows for p in (leads_path, acts_path))
        emit({"total_s": time.perf_counter() - t0, "rows": rows})
        return
    from features.config import load_config
    from features.contract import load_export

    config = load_config(CONFIG)
    t0 = time.perf_counter()
    export = load_export(leads_path, acts_path, config)
    emit({"total_s": time.perf_counter() - t0, "rows": len(export.leads) + len(export.activities)})


def load_model(folder: Path, predictor: str):
    from models.scorer import LeadScoreModel

    model = LeadScoreModel.load(folder / "model")
    if predictor == "lightgbm":
        model.compiled, model.predictor_note = None, "benchmark: the LightGBM booster"
    elif model.predictor != "compiled":
        raise SystemExit(f"the compiled predictor does not load here: {model.predictor_reason}")
    return model, json.loads((folder / "model" / "cutoffs.json").read_text())


def step_e2e(folder: Path, source: str, predictor: str) -> None:
    from features.build import build_features
    from features.config import load_config
    from features.contract import load_export
    from features.files import write_csv, write_parquet

    config = load_config(CONFIG)
    model, cutoffs = load_model(folder, predictor)
    out_dir = folder / "scoring_out" / f"{source}_{predictor}"
    t0 = time.perf_counter()
    export = load_export(*export_paths(folder, source), config)
    t1 = time.perf_counter()
    features = build_features(export.leads, export.activities, config=config)
    t2 = time.perf_counter()
    scored = score(model, features, export.leads, cutoffs=cutoffs, config=config, reasons_limit=0)
    t3 = time.perf_counter()
    write_csv(scored, out_dir / "list.csv")
    write_parquet(scored, out_dir / "list.parquet")
    write_csv(export.rejects, out_dir / "list_rejects.csv")
    t4 = time.perf_counter()
    emit(
        {
            "total_s": t4 - t0,
            "read_validate_s": t1 - t0,
            "features_s": t2 - t1,
            "score_s": t3 - t2,
            "write_s": t4 - t3,
            "rows": len(scored),
        }
    )


def step_predict(folder: Path) -> None:
    import pandas as pd

    model, _ = load_model(folder, "compiled")
    matrix = model.matrix(pd.read_parquet(folder / "features.parquet"))
    t0 = time.perf_counter()
    proba = model.booster.predict(matrix)
    total = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.compiled.predict(matrix)
    emit({"total_s": total, "compiled_s": time.perf_counter() - t0, "rows": len(proba)})


def step_reasons(folder: Path, top: int) -> None:
    import numpy as np
    import pandas as pd

    config_leads = pd.read_parquet(folder / "leads.parquet")
    model, cutoffs = load_model(folder, "lightgbm")
    features = pd.read_parquet(folder / "features.parquet")
    head = features.iloc[np.argsort(-model.predict_proba(features), kind="stable")[:top]]
    matrix = model.matrix(head)
    t0 = time.perf_counter()
    contrib = model.contributions(head, with_base=True)
    contrib_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = model.booster.predict(matrix, pred_contrib=True)
    pred_contrib_s = time.perf_counter() - t0
    from features.config import load_config

    config = load_config(CONFIG)
    leads = config_leads.set_index("lead_id").loc[head.index].reset_index()
    t0 = time.perf_counter()
    listed = score(model, head, leads, cutoffs=cutoffs, config=config, reasons_limit=top)
    reasons_s = time.perf_counter() - t0
    emit(
        {
            "total_s": contrib_s,
            "pred_contrib_s": pred_contrib_s,
            "reasons_s": reasons_s,
            "max_diff": float(np.abs(contrib.to_numpy() - exact).max()),
            "rows": len(listed),
        }
    )


def step_train(folder: Path) -> None:
    import numpy as np
    import pandas as pd

    import models.train as train
    from features.config import load_config
    from models.candidates import split_calibration

    config = load_config(CONFIG)
    features = pd.read_parquet(folder / "features.parquet")
    leads = pd.read_parquet(folder / "leads.parquet", columns=["lead_id", "mql_at", "sql_at", "created_at"])
    params = train.TrainParams()
    t0 = time.perf_counter()
    labels = train.labels_for(leads, config, train.default_as_of(leads, None))
    result = train.train_and_evaluate(features, labels, config=config, params=params)
    total = time.perf_counter() - t0
    # after the clock: the final fit's matrix and settings, which the reference replays
    mature = train.mature_leads(features, labels, config=config, params=params)
    model, tr, cal = result.model, mature.split == "train", mature.split == "calibration"
    halves = split_calibration(mature.y[cal], None if config.time == "none" else mature.mql_at[cal], seed=params.seed)
    np.savez(
        folder / "training_matrix.npz",
        M_train=model.matrix(mature.X[tr]),
        y_train=mature.y[tr],
        M_tune=model.matrix(mature.X[cal])[halves.tune],
        y_tune=mature.y[cal][halves.tune],
    )
    spec = config.features
    monotone = {f: 1 for f in spec.monotone_increasing} | {f: -1 for f in spec.monotone_decreasing}
    ff = result.final_fit
    lgb_params = train.lightgbm_params(
        params, model.features, monotone, rows=int(tr.sum()), overrides=ff.get("settings")
    )
    replay = {"params": lgb_params, "rounds": ff["rounds_trained"], "categorical": len(model.categorical)}
    (folder / "training_replay.json").write_text(json.dumps(replay, default=int))
    choice = result.model_choice
    emit(
        {
            "total_s": total,
            **{k: float(v) for k, v in result.timings.items() if k != "total_s"},
            "final_fit": {k: v for k, v in ff.items() if k != "seconds"},
            "budget_s": choice.get("budget_s"),
            "chosen": choice.get("chosen"),
            "tried": choice.get("tried"),
            "longest_fit_s": max((c.get("seconds", 0.0) for c in result.candidates), default=0.0),
            "train_rows": int(tr.sum()),
            "holdout_auc": result.metrics["model"]["roc_auc"],
        }
    )


def step_train_reference(folder: Path) -> None:
    import lightgbm as lgb
    import numpy as np

    saved = np.load(folder / "training_matrix.npz")
    replay = json.loads((folder / "training_replay.json").read_text())
    t0 = time.perf_counter()
    train_set = lgb.Dataset(
        saved["M_train"], label=saved["y_train"], categorical_feature=list(range(replay["categorical"]))
    )
    tune = lgb.Dataset(saved["M_tune"], label=saved["y_tune"], reference=train_set)
    booster = lgb.train(replay["params"], train_set, num_boost_round=replay["rounds"], valid_sets=[tune])
    emit({"total_s": time.perf_counter() - t0, "rounds": booster.current_iteration()})


def step(a: argparse.Namespace, folder: Path) -> None:
    if a.step == "prepare":
        from bench_scoring import prepare_model

        ensure_parquet_export(folder)
        prepare_model(folder)
        emit({"total_s": 0.0})
    elif a.step in ("read", "arrow"):
        step_read(folder, a.source, bare=a.step == "arrow")
    elif a.step == "e2e":
        step_e2e(folder, a.source, a.predictor)
    elif a.step == "predict":
        step_predict(folder)
    elif a.step == "reasons":
        step_reasons(folder, a.reasons)
    elif a.step == "train":
        step_train(folder)
    elif a.step == "train_reference":
        step_train_reference(folder)


def verdict(value: float, limit: float, applies: bool = True, below: bool = False) -> str:
    if not applies:
        return "n/a at this size"
    met = value < limit if below else value <= limit
    return "met" if met else f"MISSED by {value / limit:.2f}x"


def table(rows: list[tuple[str, ...]]) -> str:
    head = ("figure", "leadscore", "reference", "ratio", "goal", "verdict", "peak RSS")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    ap = data_options(__doc__)
    ap.add_argument("--reasons", type=int, default=10_000, help="leads at the top of the list whose reasons are timed")
    ap.add_argument("--skip-training", action="store_true", help="leave out the training figures (the longest part)")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--source", choices=["csv", "parquet"], default="csv", help=argparse.SUPPRESS)
    ap.add_argument("--predictor", choices=["compiled", "lightgbm"], default="lightgbm", help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = ensure_data(a.leads, a.activities, a.seed)
    if a.step:
        step(a, folder)
        return
    args = ["--leads", str(a.leads), "--activities", str(a.activities), "--seed", str(a.seed)]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    measure(__file__, "prepare", args, 1)

    def m(name: str, *extra: str) -> dict:
        return measure(__file__, name, [*args, *extra], a.runs)

    read = {s: m("read", "--source", s) for s in ("csv", "parquet")}
    bare = {s: m("arrow", "--source", s) for s in ("csv", "parquet")}
    e2e = {
        "csv": m("e2e", "--source", "csv"),
        "parquet": m("e2e", "--source", "parquet"),
        "compiled": m("e2e", "--source", "parquet", "--predictor", "compiled"),
    }
    ref = m("predict")
    rea = m("reasons", "--reasons", str(a.reasons))
    trn = ref_fit = None
    if not a.skip_training:
        trn = m("train")
        ref_fit = m("train_reference")

    meta = json.loads((folder / "meta.json").read_text())
    print(f"machine: {machine()}")
    print(
        f"data: {meta['leads']:,} leads, {meta['activities']:,} activities, seed {a.seed} ({folder}); "
        f"{a.runs} run(s) of every step, medians; started {started}"
    )

    def s(fig: dict, key: str = "total_s") -> str:
        return f"{fig[key]:.2f} s"

    def rss(fig: dict) -> str:
        return f"{fig['peak_rss_mb']:,.0f} MB"

    rows = []
    for src, label in (("csv", "CSV"), ("parquet", "Parquet")):
        bare_name = "pyarrow.csv.read_csv" if src == "csv" else "pyarrow.parquet.read_table"
        r = read[src]["total_s"] / bare[src]["total_s"]
        rows.append(
            (f"read+validate {label} (load_export)", s(read[src]), f"{s(bare[src])} {bare_name}", f"{r:.2f}x", "",
             "", rss(read[src]))
        )  # fmt: skip
    predict = f"{s(ref)} Booster.predict"
    for key, label in (("csv", "from CSV"), ("parquet", "from Parquet"), ("compiled", "compiled, from Parquet")):
        r = e2e[key]["total_s"] / ref["total_s"]
        goal = f"{'<' if key == 'compiled' else '<='} {GOALS[key]:g}x"
        rows.append(
            (f"scoring end to end, {label}", s(e2e[key]), predict, f"{r:.2f}x", goal,
             verdict(r, GOALS[key], below=key == "compiled"), rss(e2e[key]))
        )  # fmt: skip
    peak = max(f["peak_rss_mb"] for f in e2e.values())
    rows.append(
        ("peak RSS, scoring end to end", f"{peak:,.0f} MB", f"{rss(ref)} (Booster.predict's process)", "",
         f"<= {GOALS['rss_mb']:,} MB at 1M leads", verdict(peak, GOALS["rss_mb"], a.leads >= 1_000_000), "")
    )  # fmt: skip
    rows.append(
        (f"contributions, top {rea['extra']['rows']:,}", s(rea), f"{s(rea, 'pred_contrib_s')} pred_contrib",
         f"{rea['total_s'] / rea['pred_contrib_s']:.2f}x", f"<= {GOALS['contrib_s']:g} s, equal to 1e-9",
         (verdict(rea["total_s"], GOALS["contrib_s"]) if rea["extra"]["max_diff"] <= 1e-9 else "NOT EQUAL")
         + f" (largest difference {rea['extra']['max_diff']:.1e})",
         rss(rea))
    )  # fmt: skip
    rows.append((f"reasons, top {rea['extra']['rows']:,} (score_leads)", s(rea, "reasons_s"), "", "", "", "", ""))
    if trn is not None:
        ff, x = trn["final_fit_s"], trn["extra"]
        r = ff / ref_fit["total_s"]
        fit = x["final_fit"]
        rows.append(
            (f"final fit ({fit['candidate']}, {fit['rounds_trained']} rounds)", f"{ff:.2f} s",
             f"{s(ref_fit)} lgb.train", f"{r:.2f}x", f"<= {GOALS['final_fit']:g}x", verdict(r, GOALS["final_fit"]),
             "")
        )  # fmt: skip
        total = trn["total_s"]
        for key, label in (
            ("search_s", f"model search, the other candidates ({x['tried']} tried)"),
            ("leak_audit_s", "leak audit"),
            ("evaluation_s", "evaluation: holdout, bootstrap CIs, baselines, drift"),
        ):
            goal, ok = "", ""
            if key == "search_s":  # a candidate starts while the budget lasts: it may be passed by one fit
                # measure() keeps float "_s" figures as medians beside "extra": read either
                budget, longest = (trn.get(k, x.get(k)) for k in ("budget_s", "longest_fit_s"))
                bound = budget + longest
                goal = f"search with its final fit <= budget {budget:g} s + its longest fit"
                ok = verdict(trn[key] + ff, bound) + f" ({trn[key] + ff:.0f} s of {bound:.0f} s)"
            rows.append((label, f"{trn[key]:.2f} s", f"{trn[key] / total:.0%} of training", "", goal, ok, ""))
        rows.append(("training end to end (train_and_evaluate)", s(trn), "", "", "", "", rss(trn)))
    print(table(rows))
    print("scoring end to end, by stage (median seconds): read+validate / features / score_leads / write")
    for key, fig in e2e.items():
        parts = " / ".join(f"{fig[k]:.2f}" for k in ("read_validate_s", "features_s", "score_s", "write_s"))
        print(f"  {key:9s} {parts}")
    print(
        f"Booster.predict {ref['extra']['rows'] / ref['total_s'] / 1e6:.2f} M rows/s; compiled predictor alone "
        f"{ref['compiled_s']:.2f} s"
    )
    if trn is not None:
        print(
            f"training: {trn['extra']['train_rows']:,} training rows, chosen {trn['extra']['chosen']}, holdout AUC "
            f"{trn['extra']['holdout_auc']:.4f}; runs {trn['all_total_s']}"
        )


if __name__ == "__main__":
    main()
