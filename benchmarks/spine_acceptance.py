"""Acceptance figures of the weekly pipeline on a generated CRM, measured end to end through the CLI.

    .venv/bin/python benchmarks/spine_acceptance.py [--leads 60000] [--seed 11] [--work /tmp/ls-accept]

Generates an export, runs `leadscore weekly` twice on it, and prints: open leads listed or rejected
exactly once, the list's AUC against the realised outcomes next to the Bayes AUC (true probability) on
the same leads, the holdout ECE, the model against both baselines, the second run's gate decision, and
wall times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

BIN = Path(sys.executable).parent


def run(args: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run([str(BIN / "leadscore"), *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ls-accept"))
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    data, ws = a.work / "data", a.work / "ws"
    gen, t_gen = run(["generate", "--out", str(data), "--leads", str(a.leads), "--seed", str(a.seed)])
    args = [
        "weekly",
        "--leads",
        str(data / "leads.csv"),
        "--activities",
        str(data / "activities.csv"),
        "--workspace",
        str(ws),
    ]
    first, t1 = run(args)
    second, t2 = run(args)

    listed = pd.read_csv(ws / "lists" / "latest.csv")
    rejects = pd.read_csv(ws / "lists" / "latest_rejects.csv")
    truth = pd.read_csv(data / "truth.csv").set_index("lead_id")
    leads = pd.read_csv(data / "leads.csv", usecols=["Lead ID", "MQL Date"])
    horizon_start = (pd.Timestamp(gen["export_at"]) - pd.Timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    open_ids = set(leads.loc[leads["MQL Date"] > horizon_start, "Lead ID"])
    counted = pd.concat([listed["lead_id"], rejects["lead_id"].dropna()])
    once = counted[counted.isin(open_ids)].value_counts()
    t = truth.loc[listed["lead_id"]]
    auc_list = roc_auc_score(t["converted"], listed["score"])
    auc_bayes = roc_auc_score(t["converted"], t["p_true"])

    m = first["metrics"]
    print(
        f"generated {gen['leads']:,} leads, {gen['activities']:,} activities in {t_gen:.1f} s; "
        f"SQL rate {gen['sql_rate']:.3f}"
    )
    print(
        f"open leads: {len(open_ids):,}; listed {len(listed):,}, rejected {len(rejects):,}; "
        f"each open lead exactly once: {len(once) == len(open_ids) and (once == 1).all()}"
    )
    print(f"list AUC on open leads {auc_list:.4f} vs Bayes {auc_bayes:.4f}: ratio {auc_list / auc_bayes:.4f}")
    print(
        f"holdout ({first['windows']['holdout']['rows']:,} newest mature MQLs): ECE {m['model']['ece']:.4f}, "
        f"Brier {m['model']['brier']:.4f} vs base rate {m['model']['brier_base_rate']:.4f}"
    )
    for name in ("model", "logistic_regression", "persona_rule"):
        x = m[name]
        print(
            f"  {name:20s} AUC {x['roc_auc']:.4f} [{x['roc_auc_ci_low']:.4f}, {x['roc_auc_ci_high']:.4f}]  "
            f"PR-AUC {x['pr_auc']:.4f}  capture@20% {x['capture_top20']:.3f}"
        )
    for name, c in first["model_vs_baselines"].items():
        print(f"  model - {name}: {c['diff']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] {c['verdict']}")
    print(f"run 1: {first['gate']['reason']} ({t1:.1f} s wall, {first['elapsed_s']} s in the flow)")
    print(f"run 2: v{second['gate']['version']} {second['gate']['reason']} ({t2:.1f} s wall)")


if __name__ == "__main__":
    main()
