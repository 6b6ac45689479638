"""Render the threshold review page for a quick model on generated data, and screenshot it.

    .venv/bin/python docs/make_screenshot.py [--lang en] [--out docs/review-page.png] [--html FILE]
    .venv/bin/python docs/make_screenshot.py --page workspace/lists/latest_review.html --out docs/weekly-review-page.png
    .venv/bin/python docs/make_screenshot.py --impact --out docs/impact-page.png   # `leadscore impact` on the replay

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium
(the project's `test` extra). Trains on 20,000 generated MQLs (a few seconds), so the figures are those
of the synthetic sample, not of a real CRM.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")

# one definition of where Chromium lives and how it starts, shared with the page's browser test
from tests.serving.test_report import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS  # noqa: E402


def build_page(lang: str, n_leads: int = 20_000, seed: int = 3) -> str:
    """Generate a CRM export, train, and render the page for its validation window."""
    from features.build import build_features
    from features.config import load_config
    from features.contract import canonical_activities, canonical_leads
    from features.synthetic import generate
    from models.train import TrainParams, default_as_of, label_leads, train_and_evaluate
    from serving.review import render_report, review_window, weekly_volume

    config = load_config(ROOT / "data" / "configs" / "synthetic.toml")
    crm = generate(n_leads, 12, seed)
    leads, _ = canonical_leads(crm.leads, config)
    acts, _ = canonical_activities(crm.activities, config, leads["lead_id"])
    features = build_features(leads, acts, config=config)
    labels = label_leads(leads, horizon_days=config.horizon_days, as_of=default_as_of(leads, acts))
    result = train_and_evaluate(features, labels, config=config, params=TrainParams())
    window = review_window(result, config.persona, mql_at=labels.set_index("lead_id")["mql_at"])
    return render_report(
        window,
        weekly_mql_volume=weekly_volume(window["mql_at"]),
        tier_cutoffs=result.tier_cutoffs,
        metrics=result.metrics,
        comparisons=result.comparisons,
        importance=result.importance,
        features=result.holdout_features,
        persona_description=config.persona.description,
        model_label="synthetic sample, quick model",
        notes=result.notes,
        lang=lang,
        generated_at=datetime.now(UTC),
    )


def build_impact_page(lang: str, folder: Path) -> str:
    """The impact page of the 10-week replay with a control group (tests/e2e/replay.py), as of the export's end."""
    from serving.review.impact_section import render_impact
    from tests.e2e.replay import build_replay

    return render_impact(build_replay(folder)["report"], lang=lang, generated_at=datetime.now(UTC))


def screenshot(page: Path, out: Path, width: int = 1280) -> None:
    """Full-page PNG of ``page`` in headless Chromium at a desktop width."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.get(page.resolve().as_uri())
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, height + 20)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en", choices=["en", "es"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "review-page.png")
    parser.add_argument("--html", type=Path, help="also keep the page here")
    parser.add_argument("--page", type=Path, help="screenshot this existing page (e.g. a weekly run's) instead")
    parser.add_argument("--impact", action="store_true", help="the impact page of the 10-week replay instead")
    args = parser.parse_args()
    if args.page:
        screenshot(args.page, args.out)
        print(f"wrote {args.out}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = build_impact_page(args.lang, Path(tmp)) if args.impact else build_page(args.lang)
        path = args.html or Path(tmp) / "review.html"
        path.write_text(page, encoding="utf-8")
        screenshot(path, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
