"""The `ecs-models` entry point: the parser, every command group registered, one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from ecs_models import __version__
from ecs_models.cli import (
    catalog,
    mirrors,
    models,
    performance,
    pull,
    remote,
    show,
    storage,
    store,
)
from ecs_models.cli.context import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    CommandGroup,
    Handler,
    Output,
    Parser,
    UsageError,
    error_text,
    global_options,
    models_root,
    registry_host,
)
from ecs_models.cli.text import one_line, positive_int
from ecs_models.errors import (
    EcsModelsError,
    OperationCancelledError,
    PullCancelledError,
)
from ecs_models.explain import recognised

# Every command group, in the order `--help` lists them; each module's register() adds its
# subparsers and sets `handler`. A group missing here is a bug, never skipped silently.
COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    pull,
    models,
    show,
    store,
    storage,
    catalog,
    performance,
    remote,
    mirrors,
)


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
    gui.set_defaults(handler=cmd_gui)
    for group in COMMAND_GROUPS:
        group.register(sub, common)
    # No command opens the window as `gui` does, with gui's own defaults.
    parser.set_defaults(frames=None)
    return parser


def cmd_gui(args: argparse.Namespace, output: Output) -> int:
    models_dir = models_root(args)
    host = registry_host(args)
    # Imported only here: the window needs pygame, which no other command may load.
    try:
        from ecs_models.app.window import run_window
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
        handler: Handler = getattr(args, "handler", cmd_gui)  # no command: the window
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
        if recognised(exc):  # a connection or data error that slipped past its command
            _report(output, f"error: {error_text(exc, args)}")
            return EXIT_FAILURE
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
