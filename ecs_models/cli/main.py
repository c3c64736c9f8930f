"""The `ecs-models` entry point: the parser, the command table and one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from ecs_models import __version__
from ecs_models.cli.context import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Output,
    Parser,
    UsageError,
    error_text,
    global_options,
    models_root,
    registry_host,
)
from ecs_models.cli.models import cmd_list
from ecs_models.cli.pull import cmd_pull
from ecs_models.cli.show import add_show_parser, cmd_show
from ecs_models.cli.store import cmd_prune, cmd_rm, cmd_verify
from ecs_models.cli.text import one_line, parse_rate, parse_streams, positive_int
from ecs_models.commands import command_modules
from ecs_models.errors import (
    EcsModelsError,
    OperationCancelledError,
    PullCancelledError,
)
from ecs_models.streamcount import DEFAULT_STREAMS, MAX_STREAMS


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="A local AI model manager whose models directory is byte-for-byte Ollama's. "
        "With no command it opens the window.",
        parents=[global_options(with_defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = [global_options(with_defaults=False)]

    gui = sub.add_parser("gui", parents=common, help="open the window (the default)")
    gui.add_argument(
        "--frames",
        metavar="N",
        type=positive_int,
        default=None,
        help="draw N frames, then close the window and exit (a check that the window works; "
        "headless with SDL_VIDEODRIVER=dummy)",
    )

    pull = sub.add_parser("pull", parents=common, help="download a model from a registry")
    pull.add_argument("name", metavar="NAME", help="model name, such as llama3.2 or qwen3:8b")
    pull.add_argument("--json", action="store_true", help="NDJSON progress as Ollama's /api/pull")
    pull.add_argument(
        "--max-rate",
        metavar="BYTES_PER_S",
        type=parse_rate,
        default=None,
        help="bandwidth limit in bytes per second: 2000000, 500k, 10M, 1.5MB, 8MiB",
    )
    pull.add_argument(
        "--streams",
        metavar="N",
        type=parse_streams,
        default=None,
        help=f"most connections at once (1-{MAX_STREAMS}, default {DEFAULT_STREAMS}); "
        "fewer run while more would not be faster",
    )

    listing = sub.add_parser("list", aliases=["ls"], parents=common, help="list installed models")
    listing.add_argument("--json", action="store_true", help='{"models": [...]} as /api/tags')

    add_show_parser(sub, common)

    rm = sub.add_parser("rm", parents=common, help="remove models and blobs nothing else uses")
    rm.add_argument("names", metavar="NAME", nargs="+")
    rm.add_argument("--dry-run", action="store_true", help="only say what would be removed")

    verify = sub.add_parser(
        "verify", parents=common, help="check presence, size and sha256 of every blob"
    )
    verify.add_argument("names", metavar="NAME", nargs="*", help="models (default: all)")
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.add_argument(
        "--repair",
        action="store_true",
        help="check as `health` does and download again only the bad or missing blobs "
        "(the same as `health --repair`)",
    )
    # What `health` would take: `verify --repair` runs health's own code with these.
    verify.set_defaults(no_hash=False, smoke=False)

    prune = sub.add_parser(
        "prune", parents=common, help="delete orphaned blobs and stale partial downloads"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would be removed")

    for module in command_modules():
        module.register(sub, common)
    # No command opens the window as `gui` does, with gui's own defaults.
    parser.set_defaults(frames=None)
    return parser


# -- shared helpers --------------------------------------------------------------------------


def cmd_gui(args: argparse.Namespace, output: Output) -> int:
    models_dir = models_root(args)
    host = registry_host(args)
    # Imported only here: the window needs pygame, which no other command may load.
    try:
        from ecs_models.app import run_window
    except ImportError as exc:
        raise EcsModelsError(
            f"The window cannot open: {exc}; the other commands work without it (see --help)."
        ) from exc
    frames: int | None = args.frames
    painted = 0

    def count_paint(_plugin: object) -> bool:
        nonlocal painted
        painted += 1
        return frames is not None and painted >= frames

    status = run_window(
        models_dir=str(models_dir), registry=host, insecure=args.insecure, on_frame=count_paint
    )
    if frames is not None:
        # Fewer than asked means the window was closed first (a QUIT event), not a failure.
        output.print(f"drew {painted} frames, then closed the window")
    return int(status)


# -- entry point -----------------------------------------------------------------------------

_COMMANDS: dict[str, Callable[[argparse.Namespace, Output], int]] = {
    "gui": cmd_gui,
    "pull": cmd_pull,
    "list": cmd_list,
    "ls": cmd_list,
    "show": cmd_show,
    "rm": cmd_rm,
    "verify": cmd_verify,
    "prune": cmd_prune,
}


def _exit_status(exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt | OperationCancelledError | PullCancelledError):
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 failure, 2 usage, 130 interrupted)."""
    for stream in (sys.stdout, sys.stderr):
        # A model name or licence text the terminal cannot encode must not crash the output.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    output = Output(sys.stdout, sys.stderr)
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        run = getattr(args, "run", None)
        if run is not None:  # a command from ecs_models.commands
            return int(run(args))
        handler = _COMMANDS[args.command or "gui"]
        return handler(args, output)
    except BrokenPipeError:
        # The reader went away (`ecs-models list | head -1`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except (EcsModelsError, OSError, KeyboardInterrupt) as exc:
        _report(output, f"error: {error_text(exc, args)}")
        return _exit_status(exc)
    except Exception as exc:
        if os.environ.get("ECS_MODELS_DEBUG"):
            raise
        _report(
            output,
            f"error: internal error ({exc.__class__.__name__}: {one_line(str(exc))}); "
            "set ECS_MODELS_DEBUG=1 for a traceback.",
        )
        return EXIT_FAILURE


def _report(output: Output, line: str) -> None:
    # If stderr is gone too, the exit status is all that is left to say it.
    with contextlib.suppress(OSError):
        output.note(line)


if __name__ == "__main__":
    sys.exit(main())
