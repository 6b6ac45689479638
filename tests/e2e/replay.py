"""A 10-week replay of weekly lists with a control group, on a generated export: shared by the replay test
(tests/e2e/test_impact_replay.py) and the impact page's screenshot (docs/make_screenshot.py --impact).

One model is trained at an early as-of; ten weekly as-of moments then score their open leads with a control
group of 20% and a capacity, and publish each list to the archive as the weekly run does (in-process: the
library functions, not ten flows). The control assignment (``assign_control``) writes what COMMON15's
contract describes (the ``group`` column, ``list_assignment.parquet``, ``list.control`` in the summary); at the
merge it is swapped for the control part's own function.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import build_features
from features.config import load_config
from features.contract import load_export
from features.synthetic import generate
from models.baselines import persona_score
from models.train import TrainParams, labels_for, train_and_evaluate
from serving import impact
from serving.planning import mark_capacity
from serving.publish import publish
from serving.score import score_leads

ROOT = Path(__file__).resolve().parents[2]

SHARE, CAPACITY, WEEKS, SALT = 0.2, 80, 10, "replay"


def assign_control(
    scored: pd.DataFrame, persona: np.ndarray, *, share: float, capacity: int, salt: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The list with its control group, and its assignment file, as the contract describes them.

    Each lead is in the control group when a salted hash of its id falls below ``share`` (stable across
    weeks). The capacity is split between the groups in proportion to their sizes: the model's group works
    its best-scored leads, the control group its best by the persona rule. Control rows lose score and tier.
    """
    u = np.array([int(hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:12], 16) / 16**12 for i in scored["lead_id"]])
    control = u < share
    cap_control = round(capacity * control.sum() / len(scored))
    model_rows, control_rows = np.flatnonzero(~control), np.flatnonzero(control)
    by_persona = control_rows[np.argsort(-persona[control_rows], kind="stable")]
    worked = np.zeros(len(scored), bool)
    worked[model_rows[: capacity - cap_control]] = True  # the list is in rank order
    worked[by_persona[:cap_control]] = True
    persona_rank = np.full(len(scored), np.nan)
    persona_rank[by_persona] = np.arange(1, len(by_persona) + 1)
    listed, _ = mark_capacity(scored, capacity)
    listed["this_week"] = np.where(worked, "yes", "no")
    listed["group"] = np.where(control, "control", "model")
    listed.loc[control, "score"] = np.nan
    listed.loc[control, "tier"] = ""
    assignment = pd.DataFrame(
        {
            "lead_id": scored["lead_id"].astype(str).to_numpy(),
            "group": listed["group"].to_numpy(),
            "p_model": scored["score"].to_numpy(dtype=float) / 100,
            "worked": worked,
            "persona_rank": pd.array(persona_rank, dtype="Int64"),
        }
    )
    return listed, assignment


def build_replay(folder: Path, *, n_leads: int = 4000, seed: int = 11) -> dict:
    """The export's files, its truth, the archive of ten weekly lists, and impact's report at the export's end."""
    crm = generate(n_leads, 8, seed)
    crm.leads.to_csv(folder / "leads.csv", index=False)
    crm.activities.to_csv(folder / "activities.csv", index=False)
    crm.truth.to_csv(folder / "truth.csv", index=False)
    config = load_config(ROOT / "data" / "configs" / "synthetic.toml")
    export = load_export(folder / "leads.csv", folder / "activities.csv", config)
    features = build_features(export.leads, export.activities, config=config)
    first = crm.export_at - pd.Timedelta(days=7 * WEEKS + config.horizon_days + 3)
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
        persona = persona_score(features.loc[scored["lead_id"]], config.persona)
        listed, assignment = assign_control(scored, persona, share=SHARE, capacity=CAPACITY, salt=SALT)
        control = {"share": SHARE, "leads": int((listed["group"] == "control").sum()), "salt": SALT}
        out = publish(lists, "latest", listed, export.rejects, {"as_of": str(at), "list": {"control": control}})
        assignment.to_parquet(f"{out['archive']}/list_assignment.parquet")
    report = impact.impact_report(
        impact.read_archive(lists / "archive"), export.leads, export.activities, config=config, as_of=crm.export_at
    )
    return {"folder": folder, "crm": crm, "export": export, "config": config, "lists": lists, "report": report}
