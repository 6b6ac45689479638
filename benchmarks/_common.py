"""Shared parts of the speed benchmarks: the machine, the cached generated data, steps run in subprocesses.

Each measured step runs in its own Python process (``<script> --step NAME``), so its peak RSS is its own
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole process, data loading included) and one step's
leftovers never slow the next. The step prints one JSON line; the parent takes medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data" / "configs" / "synthetic.toml"
CACHE = Path(os.environ.get("LEADSCORE_BENCH_CACHE", "/tmp/leadscore-bench"))


def machine() -> str:
    """CPU model, cores and RAM, as one line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return f"{model}, {os.cpu_count()} cores, {ram_gb:.0f} GB RAM, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def data_dir(leads: int, activities: int, seed: int) -> Path:
    return CACHE / f"L{leads}_A{activities}_s{seed}"


def ensure_data(leads: int, activities: int, seed: int) -> Path:
    """Generated export (CSV), its canonical tables and features (Parquet), written once and reused.

    ``features.synthetic.generate`` gives ~16 activities per lead; to reach ``activities`` the rest are
    copies of randomly drawn activities moved 0-72 hours earlier (vectorised, deterministic).
    """
    folder = data_dir(leads, activities, seed)
    if (folder / "meta.json").is_file():
        return folder
    import pandas as pd

    from features.build import build_features
    from features.config import load_config
    from features.contract import load_export
    from features.files import write_parquet
    from features.synthetic import generate

    (folder / "export").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    crm = generate(leads, months=12, seed=seed)
    acts = crm.activities
    extra = activities - len(acts)
    if extra > 0:
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, len(acts), extra)
        when = pd.to_datetime(acts["Timestamp"].to_numpy()[pick], format="%Y-%m-%d %H:%M:%S")
        shift = (rng.random(extra) * 72 * 3600).astype("int64").astype("timedelta64[s]")
        moved = (when.to_numpy(dtype="datetime64[s]") - shift).astype("datetime64[s]")
        stamps = pc.strftime(pa.array(moved), format="%Y-%m-%d %H:%M:%S").to_numpy(zero_copy_only=False)
        acts = pd.concat(
            [
                acts,
                pd.DataFrame(
                    {
                        "Lead ID": acts["Lead ID"].to_numpy()[pick],
                        "Activity Type": acts["Activity Type"].to_numpy()[pick],
                        "Timestamp": stamps,
                    }
                ),
            ],
            ignore_index=True,
        )
    t_gen = time.perf_counter() - t0
    for name, frame in (("leads", crm.leads), ("activities", acts)):
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), folder / "export" / f"{name}.csv")
    del crm, acts
    config = load_config(CONFIG)
    t0 = time.perf_counter()
    export = load_export(folder / "export" / "leads.csv", folder / "export" / "activities.csv", config)
    t_load = time.perf_counter() - t0
    write_parquet(export.leads, folder / "leads.parquet")
    write_parquet(export.activities, folder / "activities.parquet")
    features = build_features(export.leads, export.activities, config=config)
    features.to_parquet(folder / "features.parquet")
    meta = {
        "leads": len(export.leads),
        "activities": len(export.activities),
        "rejects": len(export.rejects),
        "generate_s": round(t_gen, 1),
        "load_export_s": round(t_load, 1),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return folder


def run_step(script: str, step: str, args: list[str]) -> dict:
    """Run one measured step in a fresh process; its last stdout line is its JSON result."""
    out = subprocess.run([sys.executable, script, "--step", step, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(script: str, step: str, args: list[str], runs: int) -> dict:
    """Median of each timed figure over ``runs`` processes, and the largest peak RSS among them."""
    results = [run_step(script, step, args) for _ in range(runs)]
    keys = [k for k, v in results[0].items() if isinstance(v, float) and k.endswith("_s")]
    med = {k: statistics.median(r[k] for r in results) for k in keys}
    med["runs"] = runs
    med["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
    med["all_total_s"] = [round(r["total_s"], 2) for r in results]
    med["extra"] = {k: v for k, v in results[-1].items() if k not in med and k != "peak_rss_mb"}
    return med


def emit(result: dict) -> None:
    """A step's result, with this process's peak RSS, as the last line of stdout."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result, default=float))


def goal_line(name: str, value: float, limit: float, unit: str = "x") -> str:
    verdict = "MET" if value <= limit else f"MISSED by {value / limit:.2f}x"
    return f"goal {name}: {value:.2f}{unit} (at most {limit:g}{unit}) -> {verdict}"


def data_options(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark on the generated export: its size and seed, and the processes per step."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=20_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    return ap


def score(model, features, leads, *, cutoffs: dict, config, reasons_limit: int):
    """``score_leads`` as the scoring flow calls it, for a model version named "bench"."""
    from serving.score import score_leads

    return score_leads(
        model,
        features,
        leads,
        cutoffs=cutoffs,
        model_version="bench",
        pii_columns=config.names_with_role("pii"),
        reasons_limit=reasons_limit,
    )
