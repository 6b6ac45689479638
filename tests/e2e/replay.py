"""A 10-week replay of weekly lists with a control group, on a generated export: shared by the replay test
(tests/e2e/test_impact_replay.py) and the impact page's screenshot (docs/make_screenshot.py --impact).

One model is trained at an early as-of; ten weekly as-of moments then score their open leads with a control
group of 20% and a capacity, and publish each list to the archive as the weekly run does (in-process: the
library functions, not ten flows), with the weekly run's own control split (``serving.week_list.shape_week_list``:
the ``group`` column, ``list_assignment.parquet``, ``list.control`` in the summary).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.build import build_features
from features.config import load_config
from features.contract import load_export
from features.synthetic import generate
from models.train import TrainParams, labels_for, train_and_evaluate
from serving import impact
from serving.publish import publish
from serving.score import score_leads
from serving.week_list import shape_week_list

ROOT = Path(__file__).resolve().parents[2]

SHARE, CAPACITY, WEEKS, SALT = 0.2, 80, 10, "replay"


def write_export(folder: Path, *, n_leads: int = 4000, seed: int = 11) -> dict:
    """The generated export's files (leads, activities, truth), its loaded form and the first list's as-of:
    early enough for all ten weekly lists' horizons to have passed by the export's end."""
    crm = generate(n_leads, 8, seed)
    crm.leads.to_csv(folder / "leads.csv", index=False)
    crm.activities.to_csv(folder / "activities.csv", index=False)
    crm.truth.to_csv(folder / "truth.csv", index=False)
    config = load_config(ROOT / "data" / "configs" / "synthetic.toml")
    export = load_export(folder / "leads.csv", folder / "activities.csv", config)
    first = (crm.export_at - pd.Timedelta(days=7 * WEEKS + config.horizon_days + 3)).floor("min")
    return {"folder": folder, "crm": crm, "export": export, "config": config, "first": first}


def build_replay(folder: Path, *, n_leads: int = 4000, seed: int = 11) -> dict:
    """The export's files, its truth, the archive of ten weekly lists, and impact's report at the export's end."""
    made = write_export(folder, n_leads=n_leads, seed=seed)
    crm, config, export, first = made["crm"], made["config"], made["export"], made["first"]
    features = build_features(export.leads, export.activities, config=config)
    params = TrainParams(num_threads=1, search_budget_seconds=0)
    model = train_and_evaluate(features, labels_for(export.leads, config, first), config=config, params=params)
    lists = folder / "ws" / "lists"
    for week in range(WEEKS):
        at = first + pd.Timedelta(days=7 * week)
        labels = labels_for(export.leads, config, at)
        open_ids = pd.Index(labels.loc[labels["state"] == "open", "lead_id"])
        scored = score_leads(
            model.model, features.loc[open_ids], export.leads, cutoffs=model.tier_cutoffs, model_version="1",
            pii_columns=[], reasons_limit=0,
        )  # fmt: skip
        listed, facts, assignment = shape_week_list(
            scored, features.loc[open_ids], config.persona, capacity=CAPACITY, control_share=SHARE,
            control_salt=SALT, previous=None, leads=export.leads, activities=export.activities,
            cutoffs=model.tier_cutoffs, trend_points=5.0, minutes_per_lead=15.0, cost_per_hour=30.0,
        )  # fmt: skip
        summary = {"as_of": str(at), "list": facts}
        publish(lists, "latest", listed, export.rejects, summary, assignment=assignment)
    report = impact.impact_report(
        impact.read_archive(lists / "archive"), export.leads, export.activities, config=config, as_of=crm.export_at
    )
    return {"folder": folder, "crm": crm, "export": export, "config": config, "lists": lists, "report": report}
