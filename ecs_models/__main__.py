"""`python -m ecs_models`: the same command line as the `ecs-models` script."""

from __future__ import annotations

import sys

from ecs_models.cli import main

if __name__ == "__main__":
    sys.exit(main())
