"""The `ecs-models` command line."""

from ecs_models.cli.main import main

__all__ = ["main"]
