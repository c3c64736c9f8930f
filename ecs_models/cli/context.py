"""What every command shares: global options, output, the store, names and Ctrl-C."""

from __future__ import annotations

import argparse
import json
import shlex
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn, Protocol, TypeVar, overload

from ecs_models.cli.text import one_line
from ecs_models.errors import (
    EcsModelsError,
    InvalidNameError,
    ModelNotFoundError,
)
from ecs_models.explain import explain
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.store.model_store import ModelStore, default_models_dir

if TYPE_CHECKING:
    from ecs_models.registry.client import RegistryClient

PROG = "ecs-models"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
NON_TTY_INTERVAL_S = 1.0
TTY_INTERVAL_S = 0.1

T = TypeVar("T")


Handler = Callable[[argparse.Namespace, "Output"], int]


class CommandGroup(Protocol):
    """A module of commands: register() adds its subparsers, each with `handler` set."""

    def register(self, sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None: ...


class UsageError(EcsModelsError):
    """Bad command-line input found after argparse accepted it (exit status 2, as argparse)."""


# -- parsing and output ----------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one `error:` line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {one_line(message)} (see '{self.prog} --help')\n")


def global_options(*, with_defaults: bool) -> Parser:
    """The options every command takes, before or after the command.

    After the command they are parsed by the subparser, whose defaults would overwrite what was
    given before it: there they default to SUPPRESS so only options actually given land.
    """

    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    parser = Parser(add_help=False)
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--models",
        metavar="DIR",
        default=default(None),
        help="models directory (default: $OLLAMA_MODELS, else ~/.ollama/models)",
    )
    group.add_argument(
        "--registry",
        metavar="HOST",
        default=default(DEFAULT_HOST),
        help=f"registry host that short names resolve to (default: {DEFAULT_HOST})",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        default=default(False),
        help="allow plain http and unverified TLS to a non-loopback registry",
    )
    return parser


class Output:
    """stdout and stderr, written under one lock: pull workers report from many threads."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out = out
        self.err = err
        self.lock = threading.RLock()

    def print(self, text: str = "") -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def note(self, text: str) -> None:
        with self.lock:
            self.err.write(text + "\n")
            self.err.flush()

    def json(self, document: Any) -> None:
        """One JSON document on stdout, indented for people and parseable for scripts."""
        self.print(json.dumps(document, indent=2, default=str))


def models_root(args: argparse.Namespace) -> Path:
    root = Path(args.models).expanduser() if args.models else default_models_dir()
    if root.exists() and not root.is_dir():
        raise EcsModelsError(f"The models directory {root} is not a directory.")
    return root


@overload
def open_store(args: argparse.Namespace, *, create: Literal[True]) -> ModelStore: ...


@overload
def open_store(args: argparse.Namespace, *, create: Literal[False]) -> ModelStore | None: ...


def open_store(args: argparse.Namespace, *, create: bool) -> ModelStore | None:
    """The store, or None when reading a directory that holds no store yet.

    Read-only commands never create a models directory (or its blobs/ and manifests/) just
    by looking at it.
    """
    root = models_root(args)
    if not create and not ((root / "manifests").is_dir() or (root / "blobs").is_dir()):
        return None
    try:
        return ModelStore(root)
    except OSError as exc:
        raise EcsModelsError(
            f"Cannot open the models directory {root}: {exc.strerror or exc}."
        ) from exc


def registry_client(args: argparse.Namespace) -> RegistryClient:
    """A registry client honouring --insecure; httpx loads only for commands that talk."""
    from ecs_models.registry.client import RegistryClient

    return RegistryClient(insecure=bool(getattr(args, "insecure", False)))


def registry_host(args: argparse.Namespace) -> str:
    """--registry as a bare host[:port]; a URL's scheme and trailing slash are accepted."""
    text = str(args.registry).strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme.lower() not in ("http", "https"):
            raise UsageError(
                f"--registry {text!r} has scheme {scheme!r}; use a host such as "
                "registry.ollama.ai or 127.0.0.1:5000."
            )
        text = rest
    text = text.rstrip("/")
    if "/" in text or not text:
        raise UsageError(
            f"--registry {args.registry!r} is not a host; use one such as registry.ollama.ai "
            "or 127.0.0.1:5000."
        )
    if sep and scheme.lower() == "http" and not args.insecure:
        from ecs_models.registry.client import is_loopback_host

        if not is_loopback_host(text):
            raise UsageError(
                f"--registry {args.registry!r} asks for plain http; add --insecure to allow it."
            )
    try:
        parse_model_name("model", default_host=text)
    except InvalidNameError as exc:
        raise UsageError(f"--registry {args.registry!r} is not a valid host: {exc}") from exc
    return text


def parse_names(args: argparse.Namespace, names: Sequence[str]) -> list[ModelName]:
    """Every name checked before anything is touched: one bad name changes nothing."""
    host = registry_host(args)
    return [parse_model_name(name, default_host=host) for name in names]


def not_installed(name: ModelName) -> EcsModelsError:
    return ModelNotFoundError(f"Model {name.display} is not installed.")


def run_interruptibly(work: Callable[[], T], cancel: threading.Event) -> T:
    """Run `work` on a thread so Ctrl-C reaches the main thread and becomes a clean cancel."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    finished = threading.Event()

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the main thread, which reports it
            failure.append(exc)
        finally:
            finished.set()

    # A daemon thread: a second Ctrl-C must be able to end the process without waiting for it.
    threading.Thread(target=target, name="ecs-models-cli-work", daemon=True).start()
    # Waiting on an Event, not Thread.join: on Python 3.11 a Ctrl-C landing inside join() can
    # mark a still-running thread as stopped, and its late output would follow our last line.
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.set()
        # The engine checks the event between chunks, so it winds down within moments; a
        # second Ctrl-C stops waiting (the partial state saved so far stays resumable).
        try:
            while not finished.wait(0.1):
                pass
        except KeyboardInterrupt:
            pass
        if not finished.is_set():
            raise
    if failure:
        raise failure[0]
    return outcome[0]


# -- errors and the commands that fix them ------------------------------------------------


def error_text(exc: BaseException, args: argparse.Namespace | None = None) -> str:
    """The error's one sentence, ending with the exact command that fixes it, if any."""
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted."
    if not isinstance(exc, EcsModelsError):
        # The one translation of low-level errors, shared with the window.
        return one_line(explain(exc))
    text = one_line(str(exc)) or exc.__class__.__name__
    fix = exc.fix if isinstance(exc, EcsModelsError) else None
    if fix is None:
        return text
    return f"{text.rstrip('.')}; {run_hint(args, *fix.words)} {fix.purpose}."


def fix_command(args: argparse.Namespace | None, *words: str) -> str:
    """The exact command line for `words`, quoted for a shell, with the options that chose the
    models directory (and allowed plain http) in this run: what a hint tells the user to run.

    --registry is never repeated: hints name models as `list` shows them, which resolve
    without it.
    """
    argv = [PROG]
    if args is not None:
        if getattr(args, "models", None):
            argv += ["--models", str(args.models)]
        if getattr(args, "insecure", False):
            argv.append("--insecure")
    return shlex.join([*argv, *words])


def run_hint(args: argparse.Namespace | None, *words: str) -> str:
    """'run `ecs-models verify --repair llama3:8b`': a hint's verb and command."""
    return f"run `{fix_command(args, *words)}`"
