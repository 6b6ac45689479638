"""The files leadscore ships beside its code: the dataset configs and the small sample export.

In the repository they live in ``data/`` (``data/configs/*.toml``, ``data/sample/*.csv.gz``). An install
(`pip install .`, a wheel) carries the same folder as the package ``leadscore_data`` (setup.py maps it),
since a wheel holds packages only. Code run from a checkout reads that checkout's ``data/``, so a second
worktree on PYTHONPATH never picks up the files of the checkout its venv was installed from.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

DATA_PACKAGE = "leadscore_data"
DEFAULT_DATASET = "synthetic"
_CHECKOUT = Path(__file__).resolve().parents[1]
# as_file hands out a real path; for a zipped install that is a temporary copy, kept until the process ends
_copies = ExitStack()
atexit.register(_copies.close)


def data_path(*parts: str) -> Path:
    """A shipped file as a real filesystem path, e.g. ``data_path("configs", "synthetic.toml")``."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "data").is_dir():
        return _CHECKOUT.joinpath("data", *parts)
    return _copies.enter_context(as_file(files(DATA_PACKAGE).joinpath(*parts)))


def config_path(name: str = DEFAULT_DATASET) -> Path:
    """A bundled dataset config (``synthetic``, ``x_education``, ``uci_bank``)."""
    return data_path("configs", f"{name}.toml")


def default_config_path() -> Path:
    """The config a command uses without --config: the bundled synthetic dataset's."""
    return config_path(DEFAULT_DATASET)


# the config a command uses without --config, found from wherever the command is run
DEFAULT_CONFIG = default_config_path()


def sample_path(name: str) -> Path:
    """A file of the bundled sample export: ``leads.csv.gz``, ``activities.csv.gz`` or ``truth.csv.gz``."""
    return data_path("sample", name)
