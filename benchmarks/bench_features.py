"""Feature build (features/build.py) against the same features as one DuckDB SQL query, over the same Parquet.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_features.py [--leads 1000000] [--activities 20000000] [--runs 3]

Needs DuckDB: `pip install -e '.[bench]'` (or `pip install duckdb`).

Both sides start from the canonical leads and activities tables in Parquet (written once, from a generated
export through load_export, into /tmp/leadscore-bench/) and end with a pandas frame of the same 43 features
indexed by lead_id: the 7 categoricals (5 passed through, seniority from the job title by the same ordered
regexes, email type by the same domain regex), days from creation to MQL, MQL month, per-type counts in each
window, all-type counts per window, distinct types in 90 days, days since the last activity, recency-weighted
engagement and the 7-vs-30-day velocity, each over activities up to the lead's MQL moment only.
Timed: reading the Parquet and building the features (pandas), or running the query to a frame (DuckDB).
Before timing, a check step compares the two outputs on every lead and column.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CONFIG, data_options, emit, ensure_data, goal_line, machine, measure  # noqa: E402

GOAL = 1.5


def duckdb_query(folder: Path, config) -> str:
    """The feature table of build_features as SQL, generated from the same dataset config."""
    from features.build import FREE_EMAIL_DOMAINS, feature_columns
    from features.seniority import SENIORITY_RULES

    spec = config.features
    cats, nums = feature_columns(config)
    q = "'"

    def lit(s: str) -> str:
        return q + s.replace(q, q + q) + q

    counts = []
    for t in spec.activity_types:
        for w in spec.windows:
            counts.append(f"count(*) FILTER (WHERE activity_type = {lit(t)} AND age <= {w}) AS {t}_{w}d")
    for w in spec.windows:
        counts.append(f"count(*) FILTER (WHERE age <= {w}) AS activities_{w}d")
    counts += [
        "count(DISTINCT activity_type) FILTER (WHERE age <= 90) AS distinct_types_90d",
        "min(age) AS days_since_last_activity",
        f"sum(exp(-age * ln(2) / {float(spec.recency_half_life_days)!r})) AS engagement_recency_weighted",
    ]
    seniority = " ".join(f"WHEN regexp_matches(title_norm, {lit(p)}) THEN {lit(level)}" for level, p in SENIORITY_RULES)
    base_cats = config.names_with_role("categorical")
    count_cols = [f"{t}_{w}d" for t in spec.activity_types for w in spec.windows]
    count_cols += [f"activities_{w}d" for w in spec.windows] + ["distinct_types_90d"]
    select = [f"l.{c}" for c in base_cats]
    select += [
        f"CASE {seniority} END AS seniority",
        "CASE WHEN position('@' IN email_norm) > 0 AND length(email_domain) > 0 THEN "
        f"CASE WHEN regexp_matches(email_domain, {lit(FREE_EMAIL_DOMAINS)}) THEN 'free' ELSE 'corporate' END "
        "END AS email_type",
        "(epoch_us(l.mql_at) - epoch_us(l.created_at)) / 1e6 / 86400.0 AS days_created_to_mql",
        "month(l.mql_at)::DOUBLE AS mql_month",
    ]
    select += [f"coalesce(a.{c}, 0)::DOUBLE AS {c}" for c in count_cols]
    select += [
        "a.days_since_last_activity",
        "coalesce(a.engagement_recency_weighted, 0)::DOUBLE AS engagement_recency_weighted",
        "CASE WHEN a.activities_30d > 0 THEN (a.activities_7d / 7.0) / (a.activities_30d / 30.0) END "
        "AS velocity_7d_vs_30d",
    ]
    assert len(select) == len(cats) + len(nums), "the query must cover every feature"
    title, email = spec.title_attribute, spec.email_attribute
    return f"""
WITH leads AS (
    SELECT *,
        lower(strip_accents(coalesce({title}, ''))) AS title_norm,
        lower(trim(coalesce({email}, ''))) AS email_norm,
        regexp_extract(lower(trim(coalesce({email}, ''))), '([^@]*)$', 1) AS email_domain
    FROM read_parquet('{folder / "leads.parquet"}', file_row_number = true)
),
seen AS (
    SELECT act.lead_id, act.activity_type,
        (epoch_us(l.mql_at) - epoch_us(act.occurred_at)) / 1e6 / 86400.0 AS age
    FROM read_parquet('{folder / "activities.parquet"}') act
    JOIN leads l ON l.lead_id = act.lead_id
    WHERE act.occurred_at <= l.mql_at
),
per_lead AS (
    SELECT lead_id, {", ".join(counts)}
    FROM seen GROUP BY lead_id
)
SELECT l.lead_id, {", ".join(select)}
FROM leads l LEFT JOIN per_lead a ON a.lead_id = l.lead_id
ORDER BY l.file_row_number
"""


def step(name: str, folder: Path) -> None:
    import duckdb
    import pandas as pd

    from features.build import build_features
    from features.config import load_config

    config = load_config(CONFIG)
    t0 = time.perf_counter()
    if name == "pandas":
        leads = pd.read_parquet(folder / "leads.parquet")
        acts = pd.read_parquet(folder / "activities.parquet")
        t_read = time.perf_counter() - t0
        out = build_features(leads, acts, config=config)
        emit({"total_s": time.perf_counter() - t0, "read_s": t_read, "rows": len(out), "columns": out.shape[1]})
    elif name == "duckdb":
        con = duckdb.connect()
        out = con.sql(duckdb_query(folder, config)).df().set_index("lead_id")
        emit({"total_s": time.perf_counter() - t0, "rows": len(out), "columns": out.shape[1], "threads": threads(con)})
    elif name == "check":
        leads, acts = pd.read_parquet(folder / "leads.parquet"), pd.read_parquet(folder / "activities.parquet")
        mine = build_features(leads, acts, config=config)
        theirs = duckdb.connect().sql(duckdb_query(folder, config)).df().set_index("lead_id")
        emit(compare(mine, theirs))


def threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def compare(mine, theirs) -> dict:
    """Same leads in the same order, same columns, equal values (floats to 1e-9 relative)."""
    import numpy as np

    problems = []
    if list(mine.index) != list(theirs.index):
        problems.append("lead order or ids differ")
    if list(mine.columns) != list(theirs.columns):
        problems.append(f"columns differ: {sorted(set(mine.columns) ^ set(theirs.columns))}")
    for c in mine.columns.intersection(theirs.columns):
        a, b = mine[c].to_numpy(), theirs[c].to_numpy()
        if mine[c].dtype.kind == "f":
            b = b.astype(float)
            bad = ~np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
        else:
            a = np.array([None if pd_isna(x) else str(x) for x in a], dtype=object)
            b = np.array([None if pd_isna(x) else str(x) for x in b], dtype=object)
            bad = a != b
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{c}: {int(bad.sum())} values differ, e.g. {a[i]!r} vs {b[i]!r}")
    return {"total_s": 0.0, "leads_compared": len(mine), "columns_compared": mine.shape[1], "problems": problems}


def pd_isna(x) -> bool:
    import pandas as pd

    return x is None or bool(pd.isna(x))


def main() -> None:
    ap = data_options(__doc__)
    ap.add_argument("--step", choices=["pandas", "duckdb", "check"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("DuckDB is needed for this benchmark: pip install -e '.[bench]' (or pip install duckdb)")
    folder = ensure_data(a.leads, a.activities, a.seed)
    if a.step:
        step(a.step, folder)
        return
    import json

    meta = json.loads((folder / "meta.json").read_text())
    args = ["--leads", str(a.leads), "--activities", str(a.activities), "--seed", str(a.seed)]
    print(f"machine: {machine()}")
    print(f"data: {meta['leads']:,} leads, {meta['activities']:,} activities (canonical Parquet in {folder})")
    check = measure(__file__, "check", args, 1)["extra"]
    print(
        f"check: {check['leads_compared']:,} leads x {check['columns_compared']} features compared: "
        + ("identical" if not check["problems"] else "; ".join(check["problems"]))
    )
    pandas_ = measure(__file__, "pandas", args, a.runs)
    duck = measure(__file__, "duckdb", args, a.runs)
    print(f"runs: {a.runs} each, median (all runs' totals in brackets); peak RSS of the step's process")
    print(
        f"  leadscore build_features  {pandas_['total_s']:7.2f} s {pandas_['all_total_s']} "
        f"(Parquet read {pandas_['read_s']:.2f} s)  peak RSS {pandas_['peak_rss_mb']:,.0f} MB"
    )
    print(
        f"  DuckDB SQL ({duck['extra']['threads']} threads)    {duck['total_s']:7.2f} s {duck['all_total_s']}  "
        f"peak RSS {duck['peak_rss_mb']:,.0f} MB"
    )
    print(goal_line("feature build vs DuckDB", pandas_["total_s"] / duck["total_s"], GOAL))


if __name__ == "__main__":
    main()
