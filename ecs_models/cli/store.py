"""`rm`, `cp`, `prune` and `verify`: the store's changing and checking commands."""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecs_models.cli.context import (
    EXIT_FAILURE,
    EXIT_OK,
    TTY_INTERVAL_S,
    Output,
    not_installed,
    open_store,
    parse_names,
    registry_host,
    run_interruptibly,
)
from ecs_models.cli.hints import fix_hints, manifest_name
from ecs_models.cli.text import bar, bar_chars, is_tty, one_line
from ecs_models.errors import (
    OperationCancelledError,
)
from ecs_models.formatting import ollama_bytes
from ecs_models.storage.health import record_verify
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.store.verify import VerifyReport


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    rm = sub.add_parser("rm", parents=list(parents), help="remove models and blobs nothing else uses")
    rm.add_argument("names", metavar="NAME", nargs="+")
    rm.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    rm.set_defaults(handler=cmd_rm)

    cp = sub.add_parser(
        "cp", parents=list(parents), help="copy a model to another name (shares its blobs)"
    )
    cp.add_argument("source", metavar="SOURCE")
    cp.add_argument("destination", metavar="DESTINATION")
    cp.set_defaults(handler=cmd_cp)

    verify = sub.add_parser(
        "verify", parents=list(parents), help="check presence, size and sha256 of every blob"
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
    verify.set_defaults(handler=cmd_verify, no_hash=False, smoke=False)

    prune = sub.add_parser(
        "prune", parents=list(parents), help="delete orphaned blobs and stale partial downloads"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    prune.set_defaults(handler=cmd_prune)


def freed(amount: int, *, dry_run: bool, what: str) -> str:
    verb = "would free" if dry_run else "freed"
    return f"{verb} {ollama_bytes(amount)} ({amount} bytes, {what})"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def cmd_rm(args: argparse.Namespace, output: Output) -> int:
    names = parse_names(args, args.names)
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(names[0])
    # Every name is resolved before anything is deleted: one unknown name removes nothing.
    plan = store.remove(names, dry_run=args.dry_run, default_host=registry_host(args))
    verb = "would delete" if args.dry_run else "deleted"
    for model in plan.models:
        output.print(f"{verb} '{model.display}'")
    output.print(
        freed(plan.bytes_freed, dry_run=args.dry_run, what=plural(len(plan.blobs), "blob"))
    )
    return EXIT_OK


def cmd_cp(args: argparse.Namespace, output: Output) -> int:
    source, destination = parse_names(args, [args.source, args.destination])
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(source)
    model, copy = store.copy(source, destination)
    output.print(f"copied '{model.display}' to '{copy.display}'")  # as `ollama cp` says it
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    if store is None:
        output.print(freed(0, dry_run=args.dry_run, what="nothing to prune"))
        return EXIT_OK
    plan = store.prune(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for blob in plan.orphan_blobs:
        output.print(f"{verb} orphaned blob {blob.path.name} ({ollama_bytes(blob.size)})")
    for path in plan.stale_partials:
        output.print(f"{verb} stale partial {path.name}")
    count = len(plan.orphan_blobs) + len(plan.stale_partials)
    what = plural(count, "file") if count else "nothing to prune"
    output.print(freed(plan.bytes_freed, dry_run=args.dry_run, what=what))
    return EXIT_OK


# -- verify --------------------------------------------------------------------------------


class _VerifyMeter:
    """Bytes hashed so far, counted from the store's hashing threads, drawn on a TTY."""

    def __init__(self, output: Output, total: int) -> None:
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
        chars = bar_chars(self.output.err)
        while not self._stop.wait(TTY_INTERVAL_S):
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
    store: ModelStore, models: list[InstalledModel], output: Output, *, draw: bool
) -> list[VerifyReport]:
    """Hash every blob of the models once, with a progress line when asked; Ctrl-C cancels."""
    total = sum({b.digest: b.size for m in models for b in m.manifest.blobs}.values())
    meter = _VerifyMeter(output, total)
    cancel = threading.Event()
    wanted = [m.name for m in models]
    if draw:
        meter.start_drawing()
    try:
        return run_interruptibly(
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
            count = plural(len({b.digest for b in model.manifest.blobs}), "blob")
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
    lines += [f"FAILED  manifest {path}: {one_line(why)}" for path, why in unreadable]
    return lines


def cmd_verify(args: argparse.Namespace, output: Output) -> int:
    names = parse_names(args, args.names)
    if args.repair:
        # One repair: `health --repair`'s code, whichever word the user reached for.
        from ecs_models.cli.storage import cmd_health

        return cmd_health(args, output)
    store = open_store(args, create=False)
    reports: list[VerifyReport] = []
    unreadable: list[tuple[Path, str]] = []
    if store is None and names:
        raise not_installed(names[0])
    if store is not None:
        host = registry_host(args)
        if names:
            models = [store.resolve(n, default_host=host) for n in names]
        else:
            models = store.list_models()
            unreadable = store.unreadable_manifests()
        if models:
            draw = is_tty(output.err) and not args.json
            reports = _verify_models(store, models, output, draw=draw)
            # Kept as each model's last health check: the window's badges show it.
            record_verify(store, reports)
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
            f"{plural(len(damaged), 'model')} failed verification ({', '.join(damaged)})"
        )
    if unreadable:
        problems.append(f"{plural(len(unreadable), 'manifest')} could not be read")
    assert store is not None  # reports and unreadable manifests come from a store
    names_unreadable = [
        manifest_name(path.relative_to(store.manifests_dir).parts) for path, _why in unreadable
    ]
    hint = fix_hints(
        args, damaged=damaged, unreadable=sorted(n for n in names_unreadable if n is not None)
    )
    output.note("error: " + "; ".join(problems) + hint + ".")
    return EXIT_FAILURE
