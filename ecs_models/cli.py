"""The `ecs-models` command line: pull, list, show, rm, verify, prune, and the window."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from ecs_models import __version__
from ecs_models.errors import (
    EcsModelsError,
    InvalidNameError,
    ModelNotFoundError,
    OperationCancelledError,
    PullCancelledError,
)
from ecs_models.formatting import human_eta
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.progress import ProgressEvent
from ecs_models.store import InstalledModel, ModelStore, VerifyReport, default_models_dir

if TYPE_CHECKING:
    from ecs_models.transfer import PullOptions

PROG = "ecs-models"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# Text layers larger than this are not printed by `show`: they are not meant for a terminal.
_SHOW_TEXT_LIMIT = 64 * 1024
_NON_TTY_INTERVAL_S = 1.0
_TTY_INTERVAL_S = 0.1


T = TypeVar("T")


class UsageError(EcsModelsError):
    """Bad command-line input found after argparse accepted it (exit status 2, as argparse)."""


# -- formatting ------------------------------------------------------------------------------


def ollama_bytes(n: float) -> str:
    """Sizes exactly as Ollama's format.HumanBytes prints them: 85 MB, 4.7 GB, 512 B.

    formatting.human_bytes prints "85.0 MB" between 10 and 100, which `ollama list` never does.
    """
    units = (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3))
    for unit, scale in units:
        if n >= scale:
            value = n / scale
            if value >= 10 or value == math.trunc(value):
                return f"{math.trunc(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{int(n)} B"


def human_duration(seconds: float) -> str:
    """Ollama's humanDuration: '5 seconds', 'About a minute', '3 hours', '2 days', '5 weeks'."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def human_time(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """The MODIFIED column of `ollama list`: '2 days ago', '3 minutes from now'."""
    reference = now if now is not None else dt.datetime.now(dt.UTC)
    delta = (reference - when).total_seconds()
    if delta < 0:
        return human_duration(-delta) + " from now"
    return human_duration(delta) + " ago"


_RATE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i)?)?b?(?:/s|ps)?\s*", re.IGNORECASE)
_RATE_SCALE = {"k": 1, "m": 2, "g": 3, "t": 4}


def parse_rate(text: str) -> float:
    """Bytes per second from '2000000', '500k', '10M', '1.5MB', '8MiB', '10MB/s'.

    Decimal units (k = 1000) as Ollama prints sizes; 'Ki', 'Mi'... are binary.
    """
    match = _RATE_RE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate; write bytes per second such as 2000000, 500k, 10M or 1.5MB"
        )
    number, unit, binary = match.groups()
    value = float(number)
    if unit:
        value *= (1024.0 if binary else 1000.0) ** _RATE_SCALE[unit.lower()]
    if not value > 0:
        raise argparse.ArgumentTypeError("the rate must be more than 0 bytes per second")
    return value


def bar(fraction: float, width: int, chars: tuple[str, str, str]) -> str:
    left, full, right = chars
    filled = math.floor(max(0.0, min(1.0, fraction)) * width)
    return left + full * filled + " " * (width - filled) + right


def _bar_chars(stream: IO[str]) -> tuple[str, str, str]:
    # Ollama's block characters, unless the terminal's encoding cannot show them.
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "▕█▏".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "[", "#", "]"
    return "▕", "█", "▏"


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- argument parsing ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one `error:` line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {_one_line(message)} (see '{self.prog} --help')\n")


def _global_options(*, with_defaults: bool) -> _Parser:
    """The options every command takes, before or after the command.

    After the command they are parsed by the subparser, whose defaults would overwrite what was
    given before it: there they default to SUPPRESS so only options actually given land.
    """

    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    parser = _Parser(add_help=False)
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="A local AI model manager whose models directory is byte-for-byte Ollama's. "
        "With no command it opens the window.",
        parents=[_global_options(with_defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = [_global_options(with_defaults=False)]

    sub.add_parser("gui", parents=common, help="open the window (the default)")

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

    listing = sub.add_parser("list", aliases=["ls"], parents=common, help="list installed models")
    listing.add_argument("--json", action="store_true", help='{"models": [...]} as /api/tags')

    show = sub.add_parser("show", parents=common, help="show one installed model")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print JSON")

    rm = sub.add_parser("rm", parents=common, help="remove models and blobs nothing else uses")
    rm.add_argument("names", metavar="NAME", nargs="+")
    rm.add_argument("--dry-run", action="store_true", help="only say what would be removed")

    verify = sub.add_parser(
        "verify", parents=common, help="check presence, size and sha256 of every blob"
    )
    verify.add_argument("names", metavar="NAME", nargs="*", help="models (default: all)")
    verify.add_argument("--json", action="store_true", help="print a JSON report")

    prune = sub.add_parser(
        "prune", parents=common, help="delete orphaned blobs and stale partial downloads"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    return parser


# -- shared helpers --------------------------------------------------------------------------


class _Output:
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


def models_root(args: argparse.Namespace) -> Path:
    root = Path(args.models).expanduser() if args.models else default_models_dir()
    if root.exists() and not root.is_dir():
        raise EcsModelsError(f"The models directory {root} is not a directory.")
    return root


def open_store(args: argparse.Namespace, *, create: bool) -> ModelStore | None:
    """The store, or None when reading a directory that holds no store yet.

    Read-only commands never create a models directory (or its blobs/ and manifests/) just
    by looking at it.
    """
    root = models_root(args)
    if not create and not ((root / "manifests").is_dir() or (root / "blobs").is_dir()):
        return None
    return ModelStore(root)


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
        from ecs_models.registry import is_loopback_host

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


def _not_installed(name: ModelName) -> EcsModelsError:
    return ModelNotFoundError(f"Model {name.display} is not installed.")


def _run_interruptibly(work: Callable[[], T], cancel: threading.Event) -> T:
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


# -- pull ----------------------------------------------------------------------------------


class PullPrinter:
    """Ollama-style progress lines from the engine's events, on a terminal or a log.

    On a TTY each layer's line is redrawn in place with \\r; elsewhere (a log, a pipe) a layer
    prints at most one line a second while it downloads, and its final state once.
    """

    def __init__(self, output: _Output, *, tty: bool) -> None:
        self.output = output
        self.stream = output.err
        self.tty = tty
        self.chars = _bar_chars(self.stream)
        self._open_line = False
        self._current: str | None = None
        self._last_print: dict[str, float] = {}
        self._finished: set[str] = set()

    def __call__(self, event: ProgressEvent) -> None:
        with self.output.lock:
            if event.error is not None or event.status == "success":
                # The caller prints errors and the final "success" itself.
                self.end_line()
                return
            if event.digest is None:
                self.end_line()
                self.stream.write(event.status + "\n")
                self.stream.flush()
                return
            self._layer(event)

    def _layer(self, event: ProgressEvent) -> None:
        digest = event.digest
        assert digest is not None
        total = event.total or 0
        completed = event.completed or 0
        done = completed >= total
        now = time.monotonic()
        last = self._last_print.get(digest)
        if self.tty:
            if self._current != digest:
                self.end_line()
            elif digest in self._finished or (
                not done and last is not None and now - last < _TTY_INTERVAL_S
            ):
                return
            self.stream.write("\r" + self.layer_line(event) + "\x1b[K")
            self._open_line = True
            self._current = digest
            if done:
                self._finished.add(digest)
        else:
            if digest in self._finished:
                return
            if last is None and not done:
                # A log gets a layer's line once it is done, or after each second it is not.
                self._last_print[digest] = now
                return
            if not done and last is not None and now - last < _NON_TTY_INTERVAL_S:
                return
            self.stream.write(self.layer_line(event) + "\n")
            if done:
                self._finished.add(digest)
        self._last_print[digest] = now
        self.stream.flush()

    def layer_line(self, event: ProgressEvent) -> str:
        """'pulling 6a0746a1ec1a:  42% ▕████    ▏ 1.2 GB/2.9 GB  85 MB/s  0:12'."""
        total = event.total or 0
        completed = min(event.completed or 0, total)
        fraction = completed / total if total else 1.0
        head = f"pulling {event.status.removeprefix('pulling ')}: {math.floor(fraction * 100):3d}%"
        if completed >= total:
            tail = ollama_bytes(total)
        else:
            rate = event.bytes_per_second or 0.0
            eta = (total - completed) / rate if rate > 0 else None
            tail = (
                f"{ollama_bytes(completed)}/{ollama_bytes(total)}  "
                f"{ollama_bytes(rate)}/s  {human_eta(eta)}"
            )
        if self.tty:
            columns = shutil.get_terminal_size((80, 24)).columns
            # Room kept for the longest tail ("999 MB/999 GB  999 MB/s  99:59:59").
            width = max(10, min(50, columns - len(head) - 38))
        else:
            width = 25
        return f"{head} {bar(fraction, width, self.chars)} {tail}"

    def end_line(self) -> None:
        with self.output.lock:
            if self._open_line:
                self.stream.write("\n")
                self.stream.flush()
                self._open_line = False
            self._current = None


class JsonPullStream:
    """Ollama's /api/pull NDJSON stream on stdout: one object a line, flushed as it happens."""

    def __init__(self, output: _Output) -> None:
        self.output = output
        self.error_written = False

    def __call__(self, event: ProgressEvent) -> None:
        self.write(event.to_json_dict())

    def write(self, obj: dict[str, Any]) -> None:
        with self.output.lock:
            if self.error_written:
                return  # the stream ends at its error object
            if "error" in obj:
                self.error_written = True
            self.output.print(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


def cmd_pull(args: argparse.Namespace, output: _Output) -> int:
    stream = JsonPullStream(output) if args.json else None
    printer = None if args.json else PullPrinter(output, tty=_is_tty(output.err))
    try:
        return _pull(args, output, stream, printer)
    except (EcsModelsError, OSError, KeyboardInterrupt) as exc:
        if printer is not None:
            printer.end_line()
        if stream is not None and not stream.error_written:
            stream.write({"error": _error_text(exc)})
        raise


def _pull(
    args: argparse.Namespace,
    output: _Output,
    stream: JsonPullStream | None,
    printer: PullPrinter | None,
) -> int:
    # Checked before the store is opened: a bad name or host creates nothing anywhere.
    (name,) = parse_names(args, [args.name])
    store = open_store(args, create=True)
    assert store is not None
    # Imported here: the registry client pulls in httpx, which only pull needs.
    from ecs_models.progress import PullProgress
    from ecs_models.registry import RegistryClient
    from ecs_models.transfer import pull_model

    listener: Callable[[ProgressEvent], None] | None = stream if stream is not None else printer
    progress = PullProgress(name.display, listener=listener)
    cancel = threading.Event()
    options = _pull_options(args, registry_host(args))
    with RegistryClient(insecure=args.insecure) as client:
        try:
            _run_interruptibly(
                lambda: pull_model(
                    name, store, registry=client, progress=progress, cancel=cancel, options=options
                ),
                cancel,
            )
        except (PullCancelledError, KeyboardInterrupt) as exc:
            # Whichever wait noticed the cancel, the user reads the same sentence.
            raise PullCancelledError(
                f"The pull of {name.display} was cancelled; pull it again to resume."
            ) from exc
    if printer is not None:
        printer.end_line()
        output.print("success")
    return EXIT_OK


def _pull_options(args: argparse.Namespace, host: str) -> PullOptions:
    from ecs_models.transfer import PullOptions

    return PullOptions(insecure=args.insecure, max_rate=args.max_rate, default_host=host)


# -- list and show -------------------------------------------------------------------------


def table(rows: Sequence[Sequence[str]], *, gap: int = 4) -> list[str]:
    """Left-aligned columns separated by `gap` spaces, as `ollama list` prints them."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (" " * gap).join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def cmd_list(args: argparse.Namespace, output: _Output) -> int:
    store = open_store(args, create=False)
    models = store.list_models() if store is not None else []
    if args.json:
        doc = {"models": [model.to_api_dict() for model in models]}
        output.print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    now = dt.datetime.now(dt.UTC)
    rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
    rows += [[m.display, m.id, ollama_bytes(m.size), human_time(m.modified, now)] for m in models]
    for line in table(rows):
        output.print(line)
    if store is not None:
        for path, problem in store.unreadable_manifests():
            output.note(f"warning: skipped unreadable manifest {path}: {_one_line(problem)}")
    return EXIT_OK


def _resolve(args: argparse.Namespace, raw_name: str) -> tuple[ModelStore, InstalledModel]:
    (name,) = parse_names(args, [raw_name])
    store = open_store(args, create=False)
    if store is None:
        raise _not_installed(name)
    return store, store.resolve(name, default_host=registry_host(args))


def _small_text(store: ModelStore, digest: str, size: int) -> str | None:
    if size > _SHOW_TEXT_LIMIT:
        return None
    try:
        return store.blob_path(digest).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def show_document(store: ModelStore, model: InstalledModel) -> dict[str, Any]:
    """What `show --json` prints: the /api/tags entry plus id, layers, config and texts."""
    doc = model.to_api_dict()
    doc["id"] = model.id
    doc["manifest_digest"] = model.digest
    doc["layers"] = [
        {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
        for layer in model.manifest.layers
    ]
    config = model.manifest.config
    doc["config_blob"] = {
        "mediaType": config.media_type,
        "digest": config.digest,
        "size": config.size,
    }
    doc["config"] = store.read_config(model)
    for kind in ("template", "system", "params", "license"):
        texts = [
            text
            for layer in model.manifest.layers
            if layer.kind == kind and (text := _small_text(store, layer.digest, layer.size))
        ]
        if not texts:
            continue
        if kind == "params":
            try:
                doc["parameters"] = json.loads(texts[0])
            except ValueError:
                doc["parameters"] = texts[0]
        elif kind == "license":
            doc["license"] = texts
        else:
            doc[kind] = texts[0]
    return doc


def cmd_show(args: argparse.Namespace, output: _Output) -> int:
    store, model = _resolve(args, args.name)
    doc = show_document(store, model)
    if args.json:
        output.print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    details = model.details
    facts = [
        ("name", model.display),
        ("ID", model.id),
        ("digest", model.digest),
        ("size", f"{ollama_bytes(model.size)} ({model.size} bytes)"),
        (
            "modified",
            f"{human_time(model.modified)} ({model.modified.astimezone():%Y-%m-%d %H:%M})",
        ),
        ("format", details.format or ""),
        ("family", details.family or ""),
        ("families", ", ".join(details.families)),
        ("parameters", details.parameter_size or ""),
        ("quantization", details.quantization_level or ""),
    ]
    lines = ["  Model"]
    lines += ["    " + row for row in table([[k, v] for k, v in facts if v])]
    lines += ["", "  Layers"]
    blobs = [*model.manifest.layers, model.manifest.config]
    rows = [
        [
            "config" if blob is model.manifest.config else blob.kind,
            ollama_bytes(blob.size),
            blob.digest,
            blob.media_type,
        ]
        for blob in blobs
    ]
    lines += ["    " + row for row in table(rows, gap=2)]
    params = doc.get("parameters")
    if isinstance(params, dict) and params:
        rows = []
        for key, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                rows.append([key, json.dumps(item, ensure_ascii=False)])
        lines += ["", "  Parameters"] + ["    " + row for row in table(rows)]
    for title, key in (("Template", "template"), ("System", "system")):
        if isinstance(doc.get(key), str):
            lines += ["", f"  {title}"] + ["    " + x for x in doc[key].splitlines()]
    for text in doc.get("license", []):
        lines += ["", "  License"] + ["    " + x for x in text.splitlines()]
    config = doc["config"]
    if config:
        rows = [
            [key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)]
            for key, value in config.items()
        ]
        lines += ["", "  Config"] + ["    " + row for row in table(rows)]
    for line in lines:
        output.print(line.rstrip())
    return EXIT_OK


# -- rm and prune ----------------------------------------------------------------------------


def _freed(amount: int, *, dry_run: bool, what: str) -> str:
    verb = "would free" if dry_run else "freed"
    return f"{verb} {ollama_bytes(amount)} ({amount} bytes, {what})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cmd_rm(args: argparse.Namespace, output: _Output) -> int:
    names = parse_names(args, args.names)
    store = open_store(args, create=False)
    if store is None:
        raise _not_installed(names[0])
    # Every name is resolved before anything is deleted: one unknown name removes nothing.
    plan = store.remove(names, dry_run=args.dry_run, default_host=registry_host(args))
    verb = "would delete" if args.dry_run else "deleted"
    for model in plan.models:
        output.print(f"{verb} '{model.display}'")
    output.print(
        _freed(plan.bytes_freed, dry_run=args.dry_run, what=_plural(len(plan.blobs), "blob"))
    )
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, output: _Output) -> int:
    store = open_store(args, create=False)
    if store is None:
        output.print(_freed(0, dry_run=args.dry_run, what="nothing to prune"))
        return EXIT_OK
    plan = store.prune(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for blob in plan.orphan_blobs:
        output.print(f"{verb} orphaned blob {blob.path.name} ({ollama_bytes(blob.size)})")
    for path in plan.stale_partials:
        output.print(f"{verb} stale partial {path.name}")
    count = len(plan.orphan_blobs) + len(plan.stale_partials)
    what = _plural(count, "file") if count else "nothing to prune"
    output.print(_freed(plan.bytes_freed, dry_run=args.dry_run, what=what))
    return EXIT_OK


# -- verify --------------------------------------------------------------------------------


class _VerifyMeter:
    """Bytes hashed so far, counted from the store's hashing threads, drawn on a TTY."""

    def __init__(self, output: _Output, total: int) -> None:
        self.output = output
        self.total = total
        self.count = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._drawer: threading.Thread | None = None

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.count += nbytes

    def start_drawing(self) -> None:
        self._drawer = threading.Thread(target=self._draw, name="ecs-models-verify", daemon=True)
        self._drawer.start()

    def stop_drawing(self) -> None:
        self._stop.set()
        if self._drawer is not None:
            self._drawer.join()
            with self.output.lock:
                self.output.err.write("\r\x1b[K")
                self.output.err.flush()

    def _draw(self) -> None:
        chars = _bar_chars(self.output.err)
        while not self._stop.wait(_TTY_INTERVAL_S):
            done = self.count
            rate = done / max(time.monotonic() - self._started, 1e-6)
            fraction = done / self.total if self.total else 1.0
            with self.output.lock:
                self.output.err.write(
                    f"\rverifying {math.floor(fraction * 100):3d}% {bar(fraction, 25, chars)} "
                    f"{ollama_bytes(done)}/{ollama_bytes(self.total)}  {ollama_bytes(rate)}/s\x1b[K"
                )
                self.output.err.flush()


def _verify_models(
    store: ModelStore, models: list[InstalledModel], output: _Output, *, draw: bool
) -> list[VerifyReport]:
    """Hash every blob of the models once, with a progress line when asked; Ctrl-C cancels."""
    total = sum({b.digest: b.size for m in models for b in m.manifest.blobs}.values())
    meter = _VerifyMeter(output, total)
    cancel = threading.Event()
    wanted = [m.name for m in models]
    if draw:
        meter.start_drawing()
    try:
        return _run_interruptibly(
            lambda: store.verify(wanted, on_bytes=meter.add, cancel=cancel), cancel
        )
    except KeyboardInterrupt:
        raise OperationCancelledError("Verification was cancelled.") from None
    finally:
        meter.stop_drawing()


def _verify_document(
    reports: list[VerifyReport], unreadable: list[tuple[Path, str]]
) -> dict[str, Any]:
    return {
        "ok": all(r.ok for r in reports) and not unreadable,
        "models": [
            {
                "name": r.model.display,
                "digest": r.model.digest.removeprefix("sha256:"),
                "ok": r.ok,
                "bytes_checked": r.bytes_checked,
                "problems": [
                    {"digest": p.digest, "kind": p.kind, "detail": p.detail} for p in r.problems
                ],
            }
            for r in reports
        ],
        "unreadable_manifests": [{"path": str(path), "error": why} for path, why in unreadable],
    }


def _verify_lines(reports: list[VerifyReport], unreadable: list[tuple[Path, str]]) -> list[str]:
    if not reports and not unreadable:
        return ["no models installed"]
    lines = []
    width = max((len(r.model.display) for r in reports), default=0)
    for report in reports:
        model = report.model
        if report.ok:
            count = _plural(len({b.digest for b in model.manifest.blobs}), "blob")
            lines.append(
                f"ok      {model.display.ljust(width)}  {count}, {ollama_bytes(model.size)}"
            )
            continue
        kinds = {b.digest: b.kind for b in model.manifest.layers}
        kinds[model.manifest.config.digest] = "config"
        lines += [
            f"FAILED  {model.display.ljust(width)}  blob {problem.digest} "
            f"({kinds.get(problem.digest, 'blob')}): {problem.kind}: {problem.detail}"
            for problem in report.problems
        ]
    lines += [f"FAILED  manifest {path}: {_one_line(why)}" for path, why in unreadable]
    return lines


def cmd_verify(args: argparse.Namespace, output: _Output) -> int:
    names = parse_names(args, args.names)
    store = open_store(args, create=False)
    reports: list[VerifyReport] = []
    unreadable: list[tuple[Path, str]] = []
    if store is None and names:
        raise _not_installed(names[0])
    if store is not None:
        host = registry_host(args)
        if names:
            models = [store.resolve(n, default_host=host) for n in names]
        else:
            models = store.list_models()
            unreadable = store.unreadable_manifests()
        if models:
            draw = _is_tty(output.err) and not args.json
            reports = _verify_models(store, models, output, draw=draw)
    if args.json:
        output.print(
            json.dumps(_verify_document(reports, unreadable), indent=2, ensure_ascii=False)
        )
    else:
        for line in _verify_lines(reports, unreadable):
            output.print(line)
    damaged = sorted({r.model.display for r in reports if not r.ok})
    if not damaged and not unreadable:
        return EXIT_OK
    problems = []
    if damaged:
        problems.append(
            f"{_plural(len(damaged), 'model')} failed verification ({', '.join(damaged)}); "
            "pull again to repair"
        )
    if unreadable:
        problems.append(f"{_plural(len(unreadable), 'manifest')} could not be read")
    output.note("error: " + "; ".join(problems) + ".")
    return EXIT_FAILURE


# -- window ----------------------------------------------------------------------------------


def cmd_gui(args: argparse.Namespace, output: _Output) -> int:
    models_dir = models_root(args)
    host = registry_host(args)
    # Imported only here: the window needs pygame, which no other command may load.
    try:
        from ecs_models.app import run_window
    except ImportError as exc:
        raise EcsModelsError(
            f"The window cannot open: {exc}; the other commands work without it (see --help)."
        ) from exc
    return int(run_window(models_dir=str(models_dir), registry=host, insecure=args.insecure))


# -- entry point -----------------------------------------------------------------------------

_COMMANDS: dict[str, Callable[[argparse.Namespace, _Output], int]] = {
    "gui": cmd_gui,
    "pull": cmd_pull,
    "list": cmd_list,
    "ls": cmd_list,
    "show": cmd_show,
    "rm": cmd_rm,
    "verify": cmd_verify,
    "prune": cmd_prune,
}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted."
    if isinstance(exc, OSError) and not isinstance(exc, EcsModelsError):
        what = exc.strerror or str(exc) or exc.__class__.__name__
        return f"{what}: {exc.filename}" if exc.filename else what
    return _one_line(str(exc)) or exc.__class__.__name__


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
    output = _Output(sys.stdout, sys.stderr)
    try:
        args = build_parser().parse_args(argv)
        handler = _COMMANDS[args.command or "gui"]
        return handler(args, output)
    except BrokenPipeError:
        # The reader went away (`ecs-models list | head -1`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except (EcsModelsError, OSError, KeyboardInterrupt) as exc:
        _report(output, f"error: {_error_text(exc)}")
        return _exit_status(exc)
    except Exception as exc:
        if os.environ.get("ECS_MODELS_DEBUG"):
            raise
        _report(
            output,
            f"error: internal error ({exc.__class__.__name__}: {_one_line(str(exc))}); "
            "set ECS_MODELS_DEBUG=1 for a traceback.",
        )
        return EXIT_FAILURE


def _report(output: _Output, line: str) -> None:
    # If stderr is gone too, the exit status is all that is left to say it.
    with contextlib.suppress(OSError):
        output.note(line)


if __name__ == "__main__":
    sys.exit(main())
