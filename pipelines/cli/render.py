"""The console summaries of the `leadscore` commands: each flow's typed result (pipelines/results.py) on screen.

Progress and summaries go to stderr, so ``--json`` keeps stdout for the JSON document.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from pipelines.cli.common import console
from pipelines.results import (
    BacktestResult,
    BacktestWeek,
    DaskScoreResult,
    DriftSection,
    FeaturesResult,
    GenerateResult,
    InitConfigResult,
    Inputs,
    Kpis,
    ListResult,
    ProposeResult,
    ReportResult,
    ScoreResult,
    Segment,
    Tradeoff,
    TrainingFigures,
    TrainResult,
    WeeklyResult,
)
from serving.control import control_line, working_list_line


def pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * x:.1f}%"


def print_features(s: TrainResult | WeeklyResult) -> None:
    """How the feature table was obtained: reused from the cache, built, or built with the cache off."""
    f = s.features
    text = {
        "reused": "reused from the cache (same files, config and code as an earlier run)",
        "built": "built, and cached for a repeated run",
        "off": "built (cache off)",
    }.get(f.cache if f else None, "built")
    console.print(f"Features: {text}" + (f"; {f.note}" if f and f.note else ""), highlight=False)


def print_warnings(inputs: Inputs | None) -> None:
    """The loader's warnings, one line each."""
    for warning in inputs.warnings if inputs else []:
        console.print(f"[bold yellow]Warning:[/bold yellow] {warning}")


def print_rows_in(inp: Inputs) -> None:
    """The summary's rule, rows in and rejected, and warnings."""
    console.rule("[bold]leadscore summary")
    console.print(
        f"Rows in: {inp.leads_in:,} leads, {inp.activities_in:,} activities; rejected: "
        f"{inp.leads_rejected:,} leads, {inp.activities_rejected:,} activities"
    )
    if inp.related:
        console.print(
            "Related tables: "
            + ", ".join(f"{t} {r.rows_in:,} rows ({r.rejected:,} rejected)" for t, r in inp.related.items())
        )
    print_warnings(inp)


def print_training(s: TrainResult | WeeklyResult) -> None:
    """Rows in, the windows, the metrics table, the comparisons, notes, leak suspects and the gate."""
    inp = s.inputs
    print_rows_in(inp)
    if "leads_by_state" in inp:
        st = inp.leads_by_state
        console.print(
            f"As of {s.as_of}: {st.get('mature', 0):,} mature (labelled), {st.get('open', 0):,} open, "
            f"{st.get('already_sql', 0):,} already SQL"
            + (f", {st['after_as_of']:,} after the as-of moment (ignored)" if st.get("after_as_of") else "")
        )
    train, holdout = s.windows["train"], s.windows["holdout"]
    console.print(
        f"Train {train.rows:,} leads (SQL rate {pct(train.sql_rate)})"
        + (f" up to {train.last_mql[:10]}" if "last_mql" in train else "")
        + f"; holdout {holdout.rows:,} leads (SQL rate {pct(holdout.sql_rate)})"
        + (f" {holdout.first_mql[:10]} .. {holdout.last_mql[:10]}" if "first_mql" in holdout else "")
    )
    names = _print_metrics(s)
    for key, c in s.model_vs_baselines.items():
        colour = {"better": "green", "worse": "red"}.get(c.verdict, "yellow")
        console.print(
            f"Model vs {names[key]}: AUC {c.diff:+.3f} (95% interval {c.low:+.3f} to {c.high:+.3f}): "
            f"[{colour}]{c.verdict}[/{colour}]"
        )
    if s.candidates:
        tried = ", ".join(
            f"{c.name} {c.calibration_auc:.3f}/{c.holdout_auc:.3f}" + (" (chosen)" if c.chosen else "")
            for c in s.candidates
        )
        head = "Candidates, AUC on the comparing half of the calibration window (chooses) / holdout (reports)"
        console.print(f"[dim]{head}: {tried}[/dim]")
    print_segments(s.segments or [])
    p = s.metrics["persona_rule"]
    console.print(
        f"Persona rule passes {pct(p.pass_rate)} of MQLs and finds {pct(p.capture_passed)} of "
        f"SQLs (SQL rate {pct(p.sql_rate_passed)})."
    )
    for note in s.notes:
        console.print(f"[bold yellow]Note:[/bold yellow] {note}")
    console.print("Top leak suspects (none stopped the run; check they are known at the MQL moment):")
    for sus in s.leak_suspects:
        console.print(f"  - {sus.source}: {sus.evidence}", highlight=False)
    g = s.gate
    colour = "green" if g.promoted else "yellow"
    console.print(f"Registry: v{g.version} [{colour}]{g.reason}[/{colour}]")


def _print_metrics(s: TrainingFigures) -> dict[str, str]:
    """The metrics table on the holdout; returns the rows' display names."""
    table = Table(
        title="On the newest window, never trained on (AUC: 95% bootstrap interval)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("", "AUC", "95% int.", "PR-AUC", "top20%", "lift10", "ECE", "Brier"):
        table.add_column(col, justify="right" if col else "left", no_wrap=True)
    kind = s.model_choice.kind if s.model_choice else "lightgbm"
    names = {
        "model": {"lightgbm": "LightGBM", "logistic": "shipped logistic", "blend": "blend"}[kind]
        + (" (segmented)" if "global_model" in s.metrics else ""),
        "global_model": "LightGBM global",
        "logistic_regression": "logistic regr.",
        "persona_rule": "persona rule",
    }
    for key, label in names.items():
        if key not in s.metrics:
            continue
        m = s.metrics[key]
        table.add_row(
            label,
            f"{m.roc_auc:.3f}",
            f"{m.roc_auc_ci_low:.2f}-{m.roc_auc_ci_high:.2f}",
            f"{m.pr_auc:.3f}",
            pct(m.capture_top20),
            f"{m.lift_top10:.2f}x",
            f"{m.ece:.3f}" if "ece" in m else "-",
            f"{m.brier:.3f}" if "brier" in m else "-",
        )
    console.print(table)
    console.print(
        "[dim]top20%: share of all SQLs in the best-scored 20% of MQLs; lift10: SQL rate of the top 10% over the "
        f"average; ECE: calibration error; Brier of always predicting the base rate: "
        f"{s.metrics['model'].brier_base_rate:.3f}[/dim]"
    )
    return names


def print_segments(records: list[Segment]) -> None:
    """The segments table, when the model is segmented."""
    if not records:
        return
    table = Table(title="Segments (holdout AUC)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("segment", "train leads", "scored by", "AUC", "AUC global", "why"):
        table.add_column(col, justify="left" if col in ("segment", "scored by", "why") else "right")
    for r in records:
        auc, glob = r.holdout_auc, r.holdout_auc_global
        table.add_row(
            r.segment,
            f"{r.train_rows:,}",
            "its own model" if r.model == "own" else "global model",
            "-" if auc is None else f"{auc:.3f}",
            "-" if glob is None else f"{glob:.3f}",
            r.why,
        )
    console.print(table)


def print_list(s: ListResult) -> None:
    """The list written (or why none was), the working list, the trend and the seed KPIs."""
    lst, files = s.list, s.files
    if not files:
        console.print(f"[bold yellow]List:[/bold yellow] {lst.note or 'nothing written'}")
        if isinstance(s, WeeklyResult) and "review_pages" in s:
            page = s.review_pages.get(f"review_{lst.lang}") or s.review_pages.review_en
            console.print(f"Review page: [bold]{page}[/bold]")
        return
    tiers = ", ".join(f"{t}: {n:,}" for t, n in lst.tiers.items())
    console.print(f"List: {lst.rows:,} leads scored ({tiers}) -> [bold]{files.csv}[/bold]")
    console.print(f"      also {files.parquet}; rejects: {files.rejects}")
    if "review_en" in files:
        es = lst.lang == "es"  # the page in the list's language first
        first, other = (files.review_es, files.review_en) if es else (files.review_en, files.review_es)
        console.print(f"Review page: [bold]{first}[/bold] ({'English' if es else 'Spanish'}: {other})")
    if "capacity" in lst:
        console.print(working_list_line(lst.capacity, lst.control), highlight=False)
    if lst.control is not None and lst.control.share > 0:
        console.print(control_line(lst.control), highlight=False)
    if "trend" in lst:
        tr = lst.trend
        console.print(
            f"Against the previous list: {tr.improving:,} improving, {tr.steady:,} steady, "
            f"{tr.declining:,} declining, {tr.new:,} new; {tr.tier_moved:,} changed tier."
        )
    if "kpis" in lst:
        print_kpis(lst.kpis)


def print_kpis(k: Kpis) -> None:
    """The week's seed KPIs and the prospects' response rate by tier."""
    cost = f"{k.cost_per_sql:.2f}" if k.cost_per_sql is not None else "- (no SQL expected)"
    console.print(
        f"Seed KPIs: {k.expected_sqls:.1f} SQLs expected among the {k.open_leads:,} leads on the list, "
        f"{k.expected_sqls_at_or_above_c:.1f} of them in the {k.leads_at_or_above_c:,} scoring >= "
        f"{k.cutoff_c:g} (tiers A-C); SDR cost per SQL there: {cost} "
        f"({k.minutes_per_lead:g} min per lead, {k.cost_per_hour:g} an hour); "
        f"{k.sdr_hours_recovered:.1f} SDR hours recovered vs working every listed lead.",
        highlight=False,
    )
    if k.response_by_tier:
        rates = ", ".join(f"{t}: {pct(v.rate)} of {v.leads:,}" for t, v in sorted(k.response_by_tier.items()))
        console.print(f"Prospect response rate by tier (replies since the MQL moment): {rates}")
    else:
        console.print("Prospect response rate by tier: not available (no reply/response activity in the export)")


def print_drift(s: ListResult) -> None:
    """The drift verdict: one line when all is well, a framed block on a watch or an alert."""
    d = s.drift
    if not d:
        return
    where = s.files.drift if s.files else None
    if d.mlflow is not None and d.mlflow.warning:  # the list was written; only the MLflow series misses a point
        console.print(f"[yellow]Warning:[/yellow] {escape(d.mlflow.warning)}", highlight=False)
    if d.level not in ("ok", "watch", "alert"):
        console.print(f"[dim]Drift: {escape(d.message)}[/dim]", highlight=False)
        return
    if d.level == "ok":
        console.print(
            f"Drift: [green]ok[/green], score PSI {d.score_psi:.3f} and the top features below "
            f"{d.thresholds.watch:g}" + (f" (table: {where})" if where else ""),
            highlight=False,
        )
        return
    console.print(_drift_panel(d, where), highlight=False)


def _drift_panel(d: DriftSection, where: str | None) -> Panel:
    colour = "red" if d.level == "alert" else "yellow"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    show_missing = any(r.missing_then or r.missing_now for r in d.worst)
    columns = ("feature", "PSI", "level", "unseen", *(("missing",) if show_missing else ()), "largest shift")
    for col in columns:
        table.add_column(col, justify="right" if col in ("PSI", "unseen") else "left", no_wrap=col != "largest shift")
    named = d.named or {}  # folded activity types, in the export's words
    for r in d.worst:
        name = named.get(r.feature, r.feature)
        cells = [
            f"[bold]{escape(name)}*[/bold]" if r.top else escape(name),
            f"{r.psi:.2f}",
            f"[{colour if r.level == d.level else 'default'}]{r.level}[/]",
            "-" if r.unseen_now is None else f"{r.unseen_now:.0%}",
        ]
        if show_missing:
            cells.append("-" if r.missing_then is None else f"{r.missing_then:.0%} -> {r.missing_now:.0%}")
        table.add_row(*cells, escape(r.largest_shift))
    top = ", ".join(f"{named.get(f, f)} {p:.2f}" for f, p in d.top_features.items())
    lines = [
        f"[bold]{escape(d.message)}[/bold]",
        f"Score PSI {d.score_psi:.3f} ({d.score_level}); top features (*): {escape(top)}; "
        f"watch at {d.thresholds.watch:g}, alert at {d.thresholds.alert:g}.",
        f"Compared with {d.reference}.",
    ]
    others = [r for r in d.worst if not r.top and r.level == "alert"]
    if d.other_alerts and d.level == "alert":
        names = ", ".join(f"{named.get(r.feature, r.feature)} {r.psi:.2f}" for r in others[:5])
        more = len(d.other_alerts) - len(others[:5])
        lines.append(escape(f"Also drifted (not top features): {names}" + (f" and {more} more" if more else "")))
    if where:
        lines.append(f"Every feature: {where}")
    if d.mlflow is not None and "monitor_run_id" in d.mlflow:
        m = d.mlflow
        lines.append(f"MLflow: run drift-monitor ({m.monitor_run_id[:8]}), check {m.step + 1} of its series")
    if d.level == "alert":
        lines.append("Check the export and the features above before trusting this list's scores.")
    title = "[bold]DRIFT ALERT[/bold]" if d.level == "alert" else "[bold]Drift watch[/bold]"
    return Panel(Group(*lines, table), title=title, title_align="left", border_style=f"bold {colour}")


def print_mlflow(s: TrainResult | WeeklyResult) -> None:
    """The run in MLflow, and how to open its UI."""
    from models.tracking import is_tracking_server

    uri = s.mlflow.tracking_uri
    where = (
        f"Open the UI at [bold]{uri}[/bold]"  # a tracking server serves its own UI
        if is_tracking_server(uri)
        else f"Open the UI with: [bold]{Path(sys.executable).parent / 'mlflow'} ui --backend-store-uri {uri}[/bold]"
    )
    console.print(f"MLflow: experiment '{s.mlflow.experiment}', run {s.mlflow.run_id[:8]}. {where}")


def print_generate(s: GenerateResult, out: Path) -> None:
    """`generate`: what was written, and the Bayes AUC of the open leads."""
    if s.partitions is not None:
        console.print(
            f"Wrote {s.leads:,} leads and {s.activities:,} activities in {s.partitions:,} partitions "
            f"to {out}/leads and {out}/activities (true probabilities in {out}/truth)."
        )
        return
    console.print(
        f"Wrote {s.leads:,} leads and {s.activities:,} activities to {out} "
        f"(export moment {s.export_at}, SQL rate {pct(s.sql_rate)})."
    )
    console.print(
        f"{s.open_leads:,} open leads; Bayes AUC on them (true probability): [bold]{s.bayes_auc_open:.4f}[/bold]"
    )


def print_weekly(s: WeeklyResult) -> None:
    """`weekly`: the training summary (or why the persona rule ranked the list), the list, drift, MLflow."""
    if s.status == "persona_rule":
        console.rule("[bold]leadscore summary")
        print_warnings(s.inputs)
        console.print(f"[bold yellow]No model this week:[/bold yellow] {s.training}", highlight=False)
        console.print("The list below is ranked by the persona rule: score = % of its conditions met.")
    else:
        print_training(s)
    print_list(s)
    print_features(s)
    print_drift(s)
    if s.status != "persona_rule":
        print_mlflow(s)
    console.print(f"Done in {s.elapsed_s:.0f} s.")


def print_train(s: TrainResult) -> None:
    """`train`: the training summary, the feature cache and the MLflow run."""
    print_training(s)
    print_features(s)
    print_mlflow(s)


def print_score(s: ScoreResult) -> None:
    """`score`: the model that scored, the list and drift."""
    print_warnings(s.inputs)
    console.print(f"Scored with {s.model} (v{s.model_version}), tier cut-offs {s.tier_cutoffs}")
    print_list(s)
    print_drift(s)


def print_dask_score(s: DaskScoreResult) -> None:
    """`score --dask`: the partitioned list and the cluster's figures."""
    print_rows_in(s.inputs)
    console.print(f"Scored with {s.model} (v{s.model_version}), tier cut-offs {s.tier_cutoffs}")
    tiers = ", ".join(f"{t}: {n:,}" for t, n in s.list.tiers.items())
    d = s.dask
    console.print(
        f"List: {s.list.rows:,} leads scored ({tiers}) in {d.partitions:,} partitions -> "
        f"[bold]{s.files.list}[/bold]; rejects: {s.files.rejects}"
    )
    peak = max(d.peak_rss_mb_by_worker.values(), default=0)
    console.print(
        f"Dask ({d.address}, {d.workers} workers): {s.elapsed_s} s, {s.leads_per_s:,} leads/s; "
        f"peak memory of a worker {peak:,.0f} MB"
    )


def print_features_written(s: FeaturesResult) -> None:
    """`features`: the table (or request body) written and its rejects."""
    print_warnings(s.inputs)
    console.print(
        f"{s.columns} features for {s.inputs.leads_in - s.inputs.leads_rejected:,} "
        f"leads -> {s.features} (rejects: {s.rejects})"
    )


def _n(x: float | None) -> str:
    """SQL counts: whole numbers as such, the persona rule's shared ties with one decimal."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"


def _auc(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_backtest(s: BacktestResult) -> None:
    """`backtest`: one row per replayed week, the total row, and what they say."""
    from models.backtest import STATUS_TEXT

    t, cap = s.total, s.capacity.leads
    console.rule("[bold]leadscore back-test")
    print_warnings(s.inputs)
    console.print(
        f"{t.weeks} weeks replayed as if `leadscore weekly` had run each Monday (export ends {s.export_end}); "
        f"capacity {cap:,} leads a week"
        + ("" if s.capacity.source == "given" else f" ({s.capacity.source}; set --capacity)"),
        highlight=False,
    )
    table = Table(
        title="Each Monday's model on the next week's MQLs, against what happened",
        collapse_padding=True,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    flagged = any(w.status != "model" for w in s.weeks)
    heads = ["Week of", "MQLs", "SQLs", "AUC\nmodel", "AUC\npersona"]
    heads += [f"top {cap:,}\nmodel", f"top {cap:,}\npersona", f"top {cap:,}\nrandom", "SQLs\nexpected"]
    for col in heads + ([""] if flagged else []):
        table.add_column(col, justify="left" if col in ("Week of", "") else "right", no_wrap=True)

    def row(label: str, w: BacktestWeek, model_sqls, expected, status: list[str], median: bool = False) -> None:
        table.add_row(
            label,
            f"{w.mqls:,}",
            f"{w.sqls:,}",
            _auc(w.median_model_auc if median else w.model_auc),
            _auc(w.median_persona_auc if median else w.persona_auc),
            _n(model_sqls),
            _n(w.persona_sqls_in_capacity),
            _n(round(w.random_sqls_in_capacity, 1)),
            "-" if expected is None else f"{expected:,.1f}",
            *status,
        )

    for w in s.weeks:
        status = [STATUS_TEXT[w.status]] if flagged else []
        row(w.week_of, w, w.model_sqls_in_capacity, w.model_expected_sqls, status)
    mw = t.model_weeks
    table.add_section()
    row("total", t, mw.model_sqls_in_capacity, mw.expected_sqls, [""] if flagged else [], median=True)
    console.print(table)
    _print_backtest_notes(s)


def _print_backtest_notes(s: BacktestResult) -> None:
    t, cap, mw = s.total, s.capacity.leads, s.total.model_weeks
    from models.backtest import STATUS_TEXT

    console.print(
        f"[dim]AUC: chance a week's SQL is ranked above its non-SQL (0.5 = a coin toss); total row: the median "
        f"week. top {cap:,}: SQLs among the {cap:,} best-ranked MQLs of the week (persona rule: leads tied on "
        "its score share out at random); random: what as many leads picked at random would hold. SQLs "
        "expected: the sum of the model's calibrated scores over the week's MQLs, to set against SQLs.[/dim]"
    )
    if t.weeks_with_model:
        gain = mw.gain_over_persona
        console.print(
            f"In the {t.weeks_with_model} week(s) with a model, its top {cap:,} held "
            f"{_n(mw.model_sqls_in_capacity)} SQLs against the persona rule's {_n(mw.persona_sqls_in_capacity)}"
            + ("" if gain is None else f" ({gain:+.0%})")
            + f"; the model found more in {mw.model_ahead} week(s), fewer in {mw.persona_ahead}, as many in "
            f"{mw.level}. It expected {mw.expected_sqls:,.1f} SQLs among those weeks' MQLs; "
            f"{mw.actual_sqls:,} happened.",
            highlight=False,
        )
    console.print(
        f"The persona rule's own list (leads meeting all its conditions) held {t.persona_passed:,} leads, "
        f"{t.persona_passed_sqls:,} of them SQLs, over the {t.weeks} weeks.",
        highlight=False,
    )
    for w in s.weeks:
        if w.status in ("persona_rule", "leak_alarm"):
            console.print(
                f"[bold yellow]Week of {w.week_of}:[/bold yellow] {STATUS_TEXT[w.status]}: {w.note.split(';')[0]}",
                highlight=False,
            )
    if s.not_mature:
        console.print(
            f"Not replayed: the {len(s.not_mature)} most recent week(s) (of {', '.join(s.not_mature)}): "
            f"{s.not_mature_note}."
        )
    if t.weeks < s.weeks_asked:
        console.print(f"Only {t.weeks} of the {s.weeks_asked} weeks asked for lie within the export.")
    console.print(f"Table: [bold]{s.files.csv}[/bold] (summary: {s.files.json_file}). Done in {s.elapsed_s:.0f} s.")


def print_tradeoffs(cutoffs: dict[str, float], refs: dict[str, Tradeoff]) -> None:
    """What each rule (tier A, A-B, A-C, the persona rule, every MQL) means a week for the SDR team."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("SDRs work", "cut-off", "leads/wk", "SQLs/wk", "SQL rate", "SQLs found", "SDR h/wk", "cost/SQL"):
        table.add_column(col, justify="left" if col == "SDRs work" else "right", no_wrap=True)
    names = {"A": "tier A", "B": "tiers A-B", "C": "tiers A-C", "persona_rule": "persona rule", "all": "every MQL"}

    def f(x, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for rule, r in refs.items():
        table.add_row(
            names[rule],
            f(cutoffs.get(rule), "g") if rule in "ABC" else "",
            f(r.leads_per_week, ",.0f"),
            f(r.sqls_per_week, ",.1f"),
            "-" if r.sql_rate_passed is None else pct(r.sql_rate_passed),
            "-" if r.share_captured is None else pct(r.share_captured),
            f(r.sdr_hours_per_week, ",.1f"),
            f(r.cost_per_sql, ",.2f"),
        )
    console.print(table)


def print_report(s: ReportResult) -> None:
    """`report`: the model's validation window, its figures at the current cut-offs, the page written."""
    w = s.window
    src = {"measured": "measured", "setting": "from the settings", "window": "no dates: per window"}
    console.print(
        f"Review of {s.model} (v{s.model_version}) on {w.leads:,} validation leads ({w.sqls:,} SQLs), "
        f"AUC {s.auc:.3f}, {s.weekly_mql_volume:,.0f} MQLs a week ({src[s.weekly_mql_volume_source]})."
    )
    print_tradeoffs(s.tier_cutoffs, s.at_current_cutoffs)
    console.print(f"Wrote [bold]{s.page}[/bold]")


def print_propose(s: ProposeResult, model: str | None) -> None:
    """`thresholds propose`: the proposed and the current cut-offs, their figures, the command to apply."""
    p = s.proposed
    console.print(
        f"For {s.capacity:g} leads a week at {s.weekly_mql_volume:,.0f} MQLs a week "
        f"({s.weekly_mql_volume_source}), on {s.window.leads:,} validation leads of {s.model}:"
    )
    console.print(f"Proposed: A >= {p['A']:g}, B >= {p['B']:g}, C >= {p['C']:g} (rule: {s.rule})")
    print_tradeoffs(p, s.at_proposed)
    c = s.current
    console.print(f"Current: A >= {c['A']:g}, B >= {c['B']:g}, C >= {c['C']:g}")
    print_tradeoffs(c, s.at_current)
    console.print(
        f"To apply: leadscore thresholds set A={p['A']:g} B={p['B']:g} C={p['C']:g} --by NAME --note "
        f'"capacity {s.capacity:g}/week"' + (f" --model {model}" if model else "")
    )


def print_serve_event(e: dict, cron: str, timezone: str) -> None:
    """One event of `serve`: the next run, a run's summary, or a run's error."""
    if e["event"] == "waiting":
        due = datetime.fromisoformat(e["next_run"])
        console.print(
            f"Next run: [bold]{due:%a %Y-%m-%d %H:%M:%S %Z}[/bold] (cron '{cron}', {timezone}). Ctrl-C stops.",
            highlight=False,
        )
        return
    if e["status"] == "error":
        console.print(
            f"[bold red]Run of {e['scheduled_for']} failed:[/bold red] {e['error']}", markup=True, highlight=False
        )
        return
    s = e["summary"] if isinstance(e["summary"], WeeklyResult) else WeeklyResult.model_validate(e["summary"])
    what = (
        f"{s.list.rows:,} leads listed -> {s.files.csv}"
        if s.files
        else (s.list.note if s.list and s.list.note is not None else "no list written")
    )
    model = (
        f"registry v{s.gate.version}: {s.gate.reason}"
        if "gate" in s
        else f"no model this week, persona rule ({(s.training or '').split(':')[0]})"
    )
    console.print(
        f"[green]Run of {e['scheduled_for']} done[/green] in {e['elapsed_s']:.0f} s: {what}; {model}; "
        f"features {s.features.cache if s.features and s.features.cache else 'built'}",
        highlight=False,
    )
    if e.get("drift"):
        print_drift(s)


def print_init_config(s: InitConfigResult) -> None:
    """`init-config`: the roles guessed, personal data, leak suspects, what to check, the config written."""
    console.print(
        f"Read {s.rows:,} rows, {s.columns} columns. Roles: "
        + ", ".join(f"{n} {r}" for r, n in sorted(s.roles.items()))
    )
    console.print(f"Outcome: {s.outcome}; time: {s.time}")
    for line in s.related:
        console.print(f"Related: {line}", highlight=False)
    if s.pii:
        console.print(f"Personal data (pii: on the list, never a feature, never logged): {', '.join(s.pii)}")
    for sus in s.suspects:
        console.print(
            f"[bold yellow]Suspected leak, set to exclude:[/bold yellow] {sus.column}: {sus.evidence}", highlight=False
        )
    for why in s.to_check:
        console.print(f"[yellow]Check:[/yellow] {why}")
    console.print(
        f"Wrote [bold]{s.config}[/bold]. Review every role, the persona rule (a placeholder) "
        "and the field audit, then run `leadscore train`."
    )
