"""Command-line commands beyond the core ones, one module per area, each with `register()`.

Contract: a module here defines `register(sub, parents)` which adds its subparsers with
`sub.add_parser(NAME, parents=parents, help=...)` and sets `parser.set_defaults(run=FUNCTION)`,
where `FUNCTION(args: argparse.Namespace) -> int` prints to stdout and returns the exit status.
Errors a user can meet are raised as EcsModelsError subclasses: the CLI prints them as one
`error:` line. Global options (--models, --registry, --insecure) are on `args`; read them with
the helpers in `ecs_models.cli.common`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Modules listed here but not written yet are skipped, so areas can land one at a time.
COMMAND_MODULES = (
    "ecs_models.cli.storage",
    "ecs_models.cli.performance",
    "ecs_models.cli.catalog",
    "ecs_models.cli.remote",
)


def command_modules() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules
