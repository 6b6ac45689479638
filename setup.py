"""Which packages a build holds; everything else about the project is in pyproject.toml.

pyproject.toml alone cannot both discover the code packages and ship ``data/`` (the dataset configs and the
sample export) under an importable name. Here ``data/`` becomes the package ``leadscore_data``, so an install
(`pip install .`, a wheel) finds its default config without the checkout: pipelines/defaults.py reads it.
"""

from setuptools import find_namespace_packages, setup

setup(
    # the data folders are listed as packages too: setuptools warns about data in an unlisted sub-folder
    packages=[
        *find_namespace_packages(include=["pipelines*", "features*", "models*", "serving*"]),
        "leadscore_data",
        "leadscore_data.configs",
        "leadscore_data.sample",
    ],
    package_dir={"leadscore_data": "data"},
)
