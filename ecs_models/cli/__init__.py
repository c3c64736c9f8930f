"""The `ecs-models` command line: one package, one handler convention, one rule for errors.

- `main.py` builds the parser and registers every command group listed in COMMAND_GROUPS;
  each group module has `register(sub, parents)`, which adds its subparsers and sets
  `handler`, a function `(args, output) -> int` that writes through `output` (never print).
- `context.py` holds what every command shares: global options, Output, the store, names,
  Ctrl-C (`run_interruptibly`), hints; `text.py` the terminal's words and bars.
- Read-only commands (list, show, verify, du, disk, health, stats, fit, export, history,
  outdated, tags, and every --dry-run) open the store with `open_store(args, create=False)`
  and never create a models directory just by looking at it.
- Errors are raised as EcsModelsError (or OSError) and printed once by main as one line,
  `error: <sentence>` on stderr. Exit status: 0 success; 2 the command line is malformed
  (an unknown command or option, a missing argument, a value of the wrong form, or a global
  option such as --registry that names no usable host); 1 the command ran and failed (a
  model name that is not a name or not installed, a bad model, an unreachable registry);
  130 interrupted by Ctrl-C.
"""

from ecs_models.cli.main import main

__all__ = ["main"]
