"""Optional: the leak alarm and init-config on the two real exports in ../shared/datasets (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.build import build_features
from features.config import load_config, parse_config
from features.contract import load_export
from models.leaks import LeakSuspected
from models.train import TrainParams, labels_for, train_and_evaluate

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"
XED = SHARED / "x_education_leads" / "Leads.csv"
BANK = SHARED / "uci_bank_marketing" / "bank-additional-full.csv"
needs = pytest.mark.skipif(not (XED.is_file() and BANK.is_file()), reason=f"public datasets not found in {SHARED}")


@needs
@pytest.mark.parametrize(("path", "suspects"), [(XED, {"Tags", "Lead Quality"}), (BANK, {"duration"})])
def test_init_config_finds_the_known_leaks_on_its_own(tmp_path, path, suspects):
    from pipelines.onboarding import init_config

    summary = init_config(path, None, tmp_path / "c.toml")
    top3 = [s["column"] for s in summary["suspects"]][:3]
    assert suspects <= set(top3)
    config = load_config(tmp_path / "c.toml")  # the written config loads as it is
    assert {a.source for a in config.leads.attributes if a.role == "exclude"} >= suspects


@needs
def test_x_education_with_tags_left_in_stops_naming_tags():
    config = load_config(ROOT / "data" / "configs" / "x_education.toml")
    data = config.model_dump(by_alias=True)
    for attr in data["leads"]["attributes"]:
        if attr["source"] == "Tags":
            attr["role"] = "categorical"
    leaky = parse_config(data)
    export = load_export(XED, None, leaky)
    features = build_features(export.leads, None, config=leaky)
    with pytest.raises(LeakSuspected, match=r"model reaches AUC 0\.9\d.*Most likely responsible: 'Tags'"):
        train_and_evaluate(features, labels_for(export.leads, leaky, None), config=leaky, params=TrainParams())
