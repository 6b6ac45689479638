"""Installed as the package ``leadscore_data`` (see setup.py): the dataset configs and the sample export."""
