"""init-config: guesses from an export, PII flagged, suspects excluded with evidence, a config that loads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import load_config
from features.init_config import propose, sniff_delimiter


def export(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    won = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "Lead ID": [f"X{i:05d}" for i in range(n)],
            "Email": [f"p{i}@acme{i % 7}.es" for i in range(n)],
            "Full Name": [f"Persona {i}" for i in range(n)],
            "Do Not Email": rng.choice(["Yes", "No"], n),
            "Industry": rng.choice(["Retail", "Software", "Select"], n),
            "Visits": rng.poisson(3 + 2 * won).astype(str),
            "Job Title": [f"Analista {i}" for i in range(n)],
            "Stage After Call": np.where(won, "Closed won", "Closed lost"),  # written after the outcome
            "Converted": np.where(won, "1", "0"),
        },
        dtype="str",
    )


def test_roles_are_guessed_from_names_and_values():
    p = propose(export(), name="demo")
    roles = {a["source"]: a["role"] for a in p.config["leads"]["attributes"]}
    assert p.config["leads"]["lead_id"] == "Lead ID"
    assert p.config["outcome"] == {"kind": "flag", "column": "Converted", "positive": ["1"]}
    assert roles["Email"] == "pii" and roles["Full Name"] == "pii"
    assert roles["Do Not Email"] == "categorical"  # a yes/no consent flag, not an address
    assert roles["Industry"] == "categorical" and roles["Visits"] == "numeric"
    assert roles["Job Title"] == "text" and p.config["features"]["title_attribute"] == "job_title"
    assert p.config["time"] == "none"


def test_init_config_writes_a_config_that_loads_with_the_suspect_excluded(tmp_path):
    from pipelines.onboarding import init_config

    src = tmp_path / "crm.csv"
    export().to_csv(src, index=False, sep=";")
    out = tmp_path / "crm.toml"
    summary = init_config(src, None, out)
    config = load_config(out)
    roles = {a.source: a.role for a in config.leads.attributes}
    assert config.delimiter == ";" and roles["Stage After Call"] == "exclude"
    assert [s["column"] for s in summary["suspects"]] == ["Stage After Call"]
    audit = {a.column: a for a in config.field_audit}
    assert not audit["Stage After Call"].known_at_mql and "AUC alone 1.00" in audit["Stage After Call"].evidence
    assert audit["Industry"].known_at_mql and not audit["Industry"].confirmed


def test_delimiter_sniffing():
    assert sniff_delimiter('"a";"b";"c"\n') == ";" and sniff_delimiter("a,b\n") == "," and sniff_delimiter("x\n") == ","
