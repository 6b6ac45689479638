"""`python -m pipelines.cli`: the `leadscore` command line."""

import sys

from pipelines.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
