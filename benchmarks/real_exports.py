"""Bring-your-own-export check: `init-config` then `weekly`, with no edit, on many export shapes.

    .venv/bin/python benchmarks/real_exports.py [--leads 20000] [--styles hubspot,excel-es,relational]
                                                [--datasets ../shared/datasets] [--work /tmp/ls-exports]

For every `leadscore generate --style` (a synthetic history written as a HubSpot-like, a Spanish-Excel and
a relational export, each with `truth.csv`) and every public dataset in ../shared/datasets (read there,
never copied), it runs what a new user runs, through the CLI in fresh processes:

1. `leadscore init-config` on the export's files, writing a config nobody edits (its persona rule is the
   placeholder init-config writes, the one edit a person is expected to make);
2. `leadscore weekly` with that config;
3. for the public datasets, `weekly` again with the committed config in data/configs/ (the edits a person
   made, counted as the attribute roles and top-level keys that differ from init-config's).

It prints one row per export: edits needed, rows rejected, the shipped model's holdout AUC next to the
logistic regression's and a default LightGBM's (when training reports one), and, where `truth.csv` gives
each lead's true probability, the list's AUC on the open leads against the Bayes AUC on the same leads.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {  # folder/file under ../shared/datasets -> the committed config a person edited
    "x_education": ("x_education_leads/Leads.csv", "x_education.toml"),
    "uci_bank": ("uci_bank_marketing/bank-additional-full.csv", "uci_bank.toml"),
}
DEFAULT_STYLES = "leadscore,hubspot,excel-es,relational"


def cli(args: list[str], *, timeout: int = 1800) -> tuple[dict, float]:
    """One `leadscore` command in a fresh process; its --json summary (or error) and wall seconds."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - t0
    try:
        payload = json.loads(out.stdout) if out.stdout.strip() else {}
    except json.JSONDecodeError:
        payload = {}
    if out.returncode != 0:
        payload = payload or {}
        payload.setdefault("status", "error")
        payload.setdefault("error", (out.stderr.strip().splitlines() or ["(no message)"])[-1][:300])
    return payload, elapsed


def export_files(folder: Path) -> tuple[Path, Path | None, list[Path]]:
    """(leads, activities or None, related tables) of a generated export folder."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("truth"))
    leads = next(p for p in files if p.name.startswith("leads"))
    acts = next((p for p in files if p.name.startswith("activities")), None)
    related = [p for p in files if p not in (leads, acts) and p.suffix in (".csv", ".gz", ".parquet")]
    return leads, acts, related


def init_args(leads: Path, acts: Path | None, related: list[Path], out: Path) -> list[str]:
    args = ["init-config", "--leads", str(leads), "--out", str(out)]
    if acts is not None:
        args += ["--activities", str(acts)]
    for path in related:
        args += ["--related", str(path)]
    return args


def weekly_args(leads: Path, acts: Path | None, config: Path, workspace: Path) -> list[str]:
    args = ["weekly", "--leads", str(leads), "--config", str(config), "--workspace", str(workspace)]
    if acts is not None:
        args += ["--activities", str(acts)]
    return args


def auc_by_scorer(summary: dict) -> dict[str, float]:
    """Holdout AUC of every scorer the summary reports (model, baselines, candidates)."""
    out = {name: m["roc_auc"] for name, m in (summary.get("metrics") or {}).items() if "roc_auc" in m}
    for c in summary.get("candidates") or []:  # the model search's candidates, each scored on the holdout too
        if c.get("holdout_auc") is not None:
            out[f"candidate {c['name']}"] = c["holdout_auc"]
    return out


def open_lead_aucs(workspace: Path, truth_path: Path) -> tuple[float | None, float | None, int]:
    """(list AUC, Bayes AUC) on the listed open leads, from truth.csv's outcome and true probability."""
    listed = workspace / "lists" / "latest.parquet"
    if not listed.is_file() or not truth_path.is_file():
        return None, None, 0
    lst = pd.read_parquet(listed, columns=["lead_id", "score"])
    truth = pd.read_csv(truth_path, dtype={"lead_id": str})
    both = lst.merge(truth, on="lead_id", how="inner")
    if both.empty or both["converted"].nunique() < 2:
        return None, None, len(both)
    return (
        float(roc_auc_score(both["converted"], both["score"])),
        float(roc_auc_score(both["converted"], both["p_true"])),
        len(both),
    )


def config_edits(proposed: Path, committed: Path) -> list[str]:
    """What a person changed: attribute roles and top-level settings that differ between the two configs."""
    a = tomllib.loads(proposed.read_text(encoding="utf-8"))
    b = tomllib.loads(committed.read_text(encoding="utf-8"))
    edits = []
    roles_a = {x["source"]: x["role"] for x in a.get("leads", {}).get("attributes", [])}
    roles_b = {x["source"]: x["role"] for x in b.get("leads", {}).get("attributes", [])}
    for col in sorted(set(roles_a) | set(roles_b)):
        if roles_a.get(col) != roles_b.get(col):
            edits.append(f"{col}: {roles_a.get(col, '-')} -> {roles_b.get(col, '-')}")
    for key in ("time", "outcome", "split", "horizon_days", "delimiter", "encoding", "decimal", "timestamp_format"):
        if a.get(key) != b.get(key):
            edits.append(f"{key}: {a.get(key)} -> {b.get(key)}")
    for key in ("lead_id", "mql_at", "sql_at", "created_at"):
        if a.get("leads", {}).get(key) != b.get("leads", {}).get(key):
            edits.append(f"leads.{key}: {a['leads'].get(key)} -> {b['leads'].get(key)}")
    return edits


def row(name: str, edits: str, summary: dict, seconds: float, aucs: tuple) -> dict:
    inputs = summary.get("inputs", {})
    scores = auc_by_scorer(summary)
    lgb_default = scores.get("candidate lightgbm_default")
    list_auc, bayes, n_open = aucs
    gate = summary.get("gate") or {}
    return {
        "export": name,
        "status": summary.get("status", "?") if summary.get("status") != "error" else "error",
        "edits": edits,
        "leads_rejected": inputs.get("leads_rejected"),
        "rows_rejected": (inputs.get("leads_rejected") or 0) + (inputs.get("activities_rejected") or 0),
        "shipped_auc": scores.get("model"),
        "logistic_auc": scores.get("logistic_regression"),
        "lightgbm_default_auc": lgb_default,
        "shipped_minus_logistic": (
            round(scores["model"] - scores["logistic_regression"], 4)
            if "model" in scores and "logistic_regression" in scores
            else None
        ),
        "chosen": (summary.get("model_choice") or {}).get("chosen"),
        "champion": gate.get("promoted"),
        "open_leads_scored": n_open,
        "list_auc_open": list_auc,
        "bayes_auc_open": bayes,
        "auc_over_bayes": round(list_auc / bayes, 4) if list_auc and bayes else None,
        "seconds": round(seconds, 1),
        "error": summary.get("error") or summary.get("message"),
    }


def run_style(style: str, a: argparse.Namespace) -> dict:
    folder = a.work / style
    data, ws = folder / "data", folder / "ws"
    gen, _ = cli(["generate", "--style", style, "--out", str(data), "--leads", str(a.leads), "--seed", str(a.seed)])
    if gen.get("status") == "error":
        return row(style, "-", gen, 0.0, (None, None, 0))
    leads, acts, related = export_files(data)
    config = folder / f"{style.replace('-', '_')}.toml"
    init, t_init = cli(init_args(leads, acts, related, config))
    if init.get("status") == "error":
        return row(style, "init-config failed", init, t_init, (None, None, 0))
    weekly, t_week = cli(weekly_args(leads, acts, config, ws))
    return row(style, "0 (persona placeholder)", weekly, t_init + t_week, open_lead_aucs(ws, data / "truth.csv"))


def run_dataset(name: str, a: argparse.Namespace) -> list[dict]:
    rel, committed_name = DATASETS[name]
    path = a.datasets / rel
    if not path.is_file():
        return []
    folder = a.work / name
    folder.mkdir(parents=True, exist_ok=True)
    proposed = folder / f"{name}.toml"
    init, t_init = cli(init_args(path, None, [], proposed))
    rows = []
    if init.get("status") == "error":
        rows.append(row(f"{name} (init-config, unedited)", "init-config failed", init, t_init, (None, None, 0)))
    else:
        weekly, t_week = cli(weekly_args(path, None, proposed, folder / "ws-unedited"))
        rows.append(row(f"{name} (init-config, unedited)", "0", weekly, t_init + t_week, (None, None, 0)))
    committed = ROOT / "data" / "configs" / committed_name
    edits = config_edits(proposed, committed) if proposed.is_file() else []
    weekly, t_week = cli(weekly_args(path, None, committed, folder / "ws-committed"))
    rows.append(
        row(f"{name} (committed config)", f"{len(edits)}: " + "; ".join(edits), weekly, t_week, (None, None, 0))
    )
    return rows


def fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if v < 10 else f"{v:.1f}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=20_000, help="leads per generated export")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--styles", default=DEFAULT_STYLES, help="comma-separated `generate --style` names")
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ls-exports"))
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    rows = []
    for style in [s for s in a.styles.split(",") if s]:
        rows.append(run_style(style, a))
        print(json.dumps(rows[-1]), flush=True)
    for name in DATASETS:
        for r in run_dataset(name, a):
            rows.append(r)
            print(json.dumps(r), flush=True)
    cols = [
        ("export", "export"),
        ("status", "status"),
        ("rows_rejected", "rows rejected"),
        ("shipped_auc", "shipped AUC"),
        ("logistic_auc", "logistic AUC"),
        ("lightgbm_default_auc", "default LightGBM AUC"),
        ("shipped_minus_logistic", "shipped - logistic"),
        ("chosen", "chosen on calibration"),
        ("champion", "champion"),
        ("list_auc_open", "list AUC (open)"),
        ("bayes_auc_open", "Bayes AUC (open)"),
        ("auc_over_bayes", "AUC/Bayes"),
        ("seconds", "s"),
    ]
    print()
    print("| " + " | ".join(h for _, h in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(fmt(r[k]) for k, _ in cols) + " |")
    print()
    for r in rows:
        print(f"- {r['export']}: edits needed: {r['edits']}" + (f"; error: {r['error']}" if r["error"] else ""))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
