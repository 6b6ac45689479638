"""The control group's assignment hash (`serving.control.uniform`) against BLAKE2b per id in a Python loop.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_control.py [--leads 1000000] [--runs 5]

Both give each lead id a number in [0, 1) from the id and the salt; the reference is the plain way to do it
(`hashlib.blake2b` of salt + id, one id at a time). The ids are Salesforce-like ("00Q" + 12 digits) in an
Arrow-backed column, as a loaded export holds them. Both run in this process, alternating, `--runs` times;
the medians and their ratio are printed. Building the ids is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

import pandas as pd

from serving.control import uniform


def blake2b_loop(ids: list[str], salt: str) -> list[float]:
    key = salt.encode("utf-8")
    return [
        int.from_bytes(hashlib.blake2b(key + i.encode("utf-8"), digest_size=8).digest(), "little") / 2**64 for i in ids
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ids = [f"00Q{i:012d}" for i in range(args.leads)]
    column = pd.Series(pd.array(ids, dtype="string[pyarrow]"))
    times: dict[str, list[float]] = {"uniform": [], "blake2b loop": []}
    for _ in range(args.runs):
        for name, step in (("uniform", lambda: uniform(column, "s")), ("blake2b loop", lambda: blake2b_loop(ids, "s"))):
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    median = {k: statistics.median(v) for k, v in times.items()}
    for name, t in median.items():
        print(f"{name:>13}: median {t:.3f} s over {args.runs} runs ({', '.join(f'{x:.3f}' for x in times[name])})")
    print(f"{args.leads:,} ids: uniform takes {median['uniform'] / median['blake2b loop']:.2f}x the loop's time")


if __name__ == "__main__":
    main()
