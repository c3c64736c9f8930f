"""`pull`: Ollama-style progress lines or the NDJSON stream of /api/pull."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ecs_models.cli.context import (
    EXIT_OK,
    NON_TTY_INTERVAL_S,
    TTY_INTERVAL_S,
    Output,
    error_text,
    open_store,
    parse_names,
    registry_host,
    run_interruptibly,
)
from ecs_models.cli.store import freed
from ecs_models.cli.text import bar, bar_chars, is_tty, parse_rate, parse_streams
from ecs_models.errors import (
    EcsModelsError,
    PullCancelledError,
    with_fix,
)
from ecs_models.formatting import human_eta, ollama_bytes
from ecs_models.transfer.progress import ProgressEvent
from ecs_models.transfer.streamcount import DEFAULT_STREAMS, MAX_STREAMS

if TYPE_CHECKING:
    from ecs_models.transfer.pull import PullOptions


class PullPrinter:
    """Ollama-style progress lines from the engine's events, on a terminal or a log.

    On a TTY each layer's line is redrawn in place with \\r; elsewhere (a log, a pipe) a layer
    prints at most one line a second while it downloads, and its final state once.
    """

    def __init__(self, output: Output, *, tty: bool) -> None:
        self.output = output
        self.stream = output.err
        self.tty = tty
        self.chars = bar_chars(self.stream)
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
                not done and last is not None and now - last < TTY_INTERVAL_S
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
            if not done and last is not None and now - last < NON_TTY_INTERVAL_S:
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
        source = f"  from {event.source}" if event.source else ""
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
            width = max(10, min(50, columns - len(head) - 38 - len(source)))
        else:
            width = 25
        return f"{head} {bar(fraction, width, self.chars)} {tail}{source}"

    def end_line(self) -> None:
        with self.output.lock:
            if self._open_line:
                self.stream.write("\n")
                self.stream.flush()
                self._open_line = False
            self._current = None


class JsonPullStream:
    """Ollama's /api/pull NDJSON stream on stdout: one object a line, flushed as it happens."""

    def __init__(self, output: Output) -> None:
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


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    pull = sub.add_parser("pull", parents=list(parents), help="download a model from a registry")
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
    pull.add_argument(
        "--no-mirror",
        action="store_true",
        help="ask only the model's own registry, not its mirrors (see `mirrors`)",
    )
    pull.set_defaults(handler=cmd_pull)


def cmd_pull(args: argparse.Namespace, output: Output) -> int:
    stream = JsonPullStream(output) if args.json else None
    printer = None if args.json else PullPrinter(output, tty=is_tty(output.err))
    try:
        return _pull(args, output, stream, printer)
    except (EcsModelsError, OSError, KeyboardInterrupt) as exc:
        if printer is not None:
            printer.end_line()
        if stream is not None and not stream.error_written:
            stream.write({"error": error_text(exc, args)})
        raise


def _pull(
    args: argparse.Namespace,
    output: Output,
    stream: JsonPullStream | None,
    printer: PullPrinter | None,
) -> int:
    # Checked before the store is opened: a bad name or host creates nothing anywhere.
    (name,) = parse_names(args, [args.name])
    store = open_store(args, create=True)
    assert store is not None
    # Imported here: the registry client pulls in httpx, which only pull needs.
    from ecs_models.registry.client import RegistryClient
    from ecs_models.store.history import record_install
    from ecs_models.transfer.progress import PullProgress
    from ecs_models.transfer.pull import pull_model

    listener: Callable[[ProgressEvent], None] | None = stream if stream is not None else printer
    progress = PullProgress(name.display, listener=listener)
    cancel = threading.Event()
    options = _pull_options(args, registry_host(args))
    with RegistryClient(insecure=args.insecure) as client:
        try:
            model = run_interruptibly(
                lambda: pull_model(
                    name, store, registry=client, progress=progress, cancel=cancel, options=options
                ),
                cancel,
            )
        except (PullCancelledError, KeyboardInterrupt) as exc:
            # Whichever wait noticed the cancel, the user reads the same sentence.
            cancelled = PullCancelledError(f"The pull of {name.display} was cancelled.")
            raise with_fix(
                cancelled, "pull", name.display, purpose="to resume where it stopped"
            ) from exc
    record_install(store, model)  # history for `history` and `update`
    if printer is not None:
        printer.end_line()
        if freed_bytes := progress.snapshot().freed_bytes:
            output.print(freed(freed_bytes, dry_run=False, what="the old version's unused layers"))
        output.print("success")
    return EXIT_OK


def _pull_options(args: argparse.Namespace, host: str) -> PullOptions:
    from ecs_models.transfer.pull import PullOptions

    options = PullOptions(insecure=args.insecure, max_rate=args.max_rate, default_host=host)
    if args.streams is not None:
        options.streams = args.streams
    if args.no_mirror:
        from ecs_models.registry.mirrors import MirrorTable

        options.mirrors = MirrorTable()
    return options
