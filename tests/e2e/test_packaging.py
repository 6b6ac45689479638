"""A wheel, installed outside the checkout, runs the weekly job with its packaged config and sample.

The wheel goes into a fresh venv that borrows the test venv's dependencies through a plain path line in a
.pth file: a path line does not run that folder's own .pth files, so the checkout's editable finder is not
loaded and every leadscore module comes from the wheel (asserted, not assumed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `license = "Apache-2.0"` (PEP 639) needs setuptools 77; the build runs offline on the venv's own setuptools
MIN_SETUPTOOLS = 77
# what a build neither needs nor may see
JUNK = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "workspace",
    "mlruns",
    "mlartifacts",
    "tests",
)


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv (its bin/ folder) holding leadscore installed from a freshly built wheel."""
    if int(version("setuptools").split(".")[0]) < MIN_SETUPTOOLS:
        pytest.skip(f"setuptools {version('setuptools')} < {MIN_SETUPTOOLS}: `make test` reinstalls the test extras")
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools builds in the source folder, and a stale build/ there would add its files
    source = shutil.copytree(ROOT, tmp / "source", ignore=shutil.ignore_patterns(*JUNK))
    build = _run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", "dist"], cwd=source
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (source / "dist").glob("leadscore-*.whl")
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", venv]).returncode == 0
    python = venv / "bin" / "python"
    install = _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel], env=_env())
    assert install.returncode == 0, install.stderr
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    (Path(site) / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv / "bin"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # PYTHONPATH would put the checkout first
    # the packaging is under test, not the model: the search and the compiled predictor only cost time here
    env.update(LEADSCORE_TRAIN__SEARCH_BUDGET_SECONDS="0", LEADSCORE_COMPILE_PREDICTOR="off")
    env.pop("LEADSCORE_WORKSPACE", None)
    return env


def test_wheel_runs_weekly_outside_the_checkout(installed, tmp_path, prefect_api_url):
    where = _run(
        [
            installed / "python",
            "-c",
            "import features, models, pipelines, serving\n"
            "from pipelines.defaults import DEFAULT_CONFIG, sample_path\n"
            "for m in (features, models, pipelines, serving): print(m.__file__)\n"
            "print(DEFAULT_CONFIG); print(sample_path('leads.csv.gz')); print(sample_path('activities.csv.gz'))",
        ],
        cwd=tmp_path,
        env=_env(),
    )
    assert where.returncode == 0, where.stderr
    *modules, config, leads, activities = where.stdout.split()
    venv = installed.parent
    for path in (*modules, config, leads, activities):
        assert Path(path).is_relative_to(venv), f"{path} does not come from the installed wheel"
    assert Path(config).name == "synthetic.toml"

    # no --config: the packaged default; run from a folder that holds nothing of the checkout
    run = _run(
        [installed / "leadscore", "weekly", "--leads", leads, "--activities", activities, "--workspace", "ws"],
        cwd=tmp_path,
        env={**_env(), "PREFECT_API_URL": prefect_api_url},  # the session's server: no temporary one to start
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    listed = (tmp_path / "ws" / "lists" / "latest.csv").read_text(encoding="utf-8").splitlines()
    assert len(listed) > 1, "the list holds no lead"
    assert (tmp_path / "ws" / "lists" / "latest_review.html").stat().st_size > 0
