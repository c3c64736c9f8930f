"""Remote commands: push to and mirror between OCI registries; several Ollama hosts."""

from __future__ import annotations

import argparse
import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ecs_models.cli.context import (
    Output,
    not_installed,
    open_store,
    parse_names,
    registry_client,
    registry_host,
    run_interruptibly,
)
from ecs_models.cli.pull import JsonPullStream, PullPrinter
from ecs_models.cli.text import is_tty
from ecs_models.errors import EcsModelsError, with_fix
from ecs_models.formatting import human_bytes, ollama_bytes
from ecs_models.transfer.progress import ProgressEvent, PullProgress


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parents = list(parents)
    push = sub.add_parser(
        "push",
        parents=parents,
        help="upload an installed model to any OCI registry (HEAD, mount, resumable chunks)",
    )
    push.add_argument("name", metavar="NAME", help="installed model")
    push.add_argument(
        "dest",
        metavar="DEST",
        nargs="?",
        help="host/namespace/model[:tag], or host/ to keep the name (default: NAME's registry)",
    )
    push.add_argument("--json", action="store_true", help="NDJSON progress, then a JSON result")
    push.set_defaults(handler=cmd_push)

    mirror = sub.add_parser(
        "mirror",
        parents=parents,
        help="copy models to another registry byte for byte (from the store when installed)",
    )
    mirror.add_argument(
        "names",
        metavar="SRC... DEST",
        nargs="+",
        help="models then the destination (a full name for one model, else host/ or host/ns/)",
    )
    mirror.add_argument(
        "--all",
        action="store_true",
        help="each SRC is a prefix (host, host/namespace, ...): every installed model under it",
    )
    mirror.add_argument("--json", action="store_true", help="NDJSON progress, then JSON results")
    mirror.set_defaults(handler=cmd_mirror)

    hosts = sub.add_parser(
        "hosts", parents=parents, help="Ollama hosts side by side: models, loaded, free memory"
    )
    hosts.add_argument("--json", action="store_true", help="print JSON")
    hosts.set_defaults(handler=cmd_hosts, hosts_action=None)
    actions = hosts.add_subparsers(dest="hosts_action", metavar="ACTION")
    add = actions.add_parser("add", parents=parents, help="add a host to the list")
    add.add_argument("url", metavar="URL")
    remove = actions.add_parser("rm", parents=parents, help="remove a host from the list")
    remove.add_argument("url", metavar="URL")
    pull = actions.add_parser("pull", parents=parents, help="pull a model on one host")
    pull.add_argument("url", metavar="URL")
    pull.add_argument("model", metavar="NAME")
    pull.add_argument("--json", action="store_true", help="NDJSON progress as /api/pull")
    delete = actions.add_parser("delete", parents=parents, help="delete a model on one host")
    delete.add_argument("url", metavar="URL")
    delete.add_argument("model", metavar="NAME")


class _PushPrinter(PullPrinter):
    """PullPrinter's lines with the verb of the operation ("pushing abc…: 42% ▕██ ▏ …")."""

    def layer_line(self, event: ProgressEvent) -> str:
        verb, _, rest = event.status.partition(" ")
        line = super().layer_line(dataclasses.replace(event, status=rest))
        return verb + line.removeprefix("pulling")


def _listener(args: argparse.Namespace, output: Output) -> Callable[[ProgressEvent], None]:
    if args.json:
        return JsonPullStream(output)
    return _PushPrinter(output, tty=is_tty(output.err))


def _end(listener: Callable[[ProgressEvent], None]) -> None:
    if isinstance(listener, PullPrinter):
        listener.end_line()


def cmd_push(args: argparse.Namespace, output: Output) -> int:
    from ecs_models.transfer.push import (  # httpx loads only when talking
        PushCancelledError,
        PushOptions,
        push_model,
    )

    options = PushOptions(insecure=bool(args.insecure), default_host=registry_host(args))
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(parse_names(args, [args.name])[0])
    listener = _listener(args, output)
    cancel = threading.Event()
    with registry_client(args) as client:
        try:
            result = run_interruptibly(
                lambda: push_model(
                    args.name,
                    store,
                    args.dest,
                    registry=client,
                    progress=PullProgress(args.name, listener),
                    cancel=cancel,
                    options=options,
                ),
                cancel,
            )
        except PushCancelledError as exc:
            again = ["push", args.name, *([args.dest] if args.dest else [])]
            raise with_fix(exc, *again, purpose="to resume where it stopped") from None
        finally:
            _end(listener)
    if args.json:
        output.json(result.to_json())
    else:
        output.print(
            f"pushed {result.name.display} ({result.digest[7:19]}): {len(result.uploaded)} blob(s) "
            f"uploaded, {len(result.mounted)} mounted, {len(result.present)} already there; "
            f"{human_bytes(result.bytes_sent)} sent"
        )
    return 0


def cmd_mirror(args: argparse.Namespace, output: Output) -> int:
    from ecs_models.transfer.mirror import mirror_models, plan_mirror
    from ecs_models.transfer.push import PushOptions

    if len(args.names) < 2:
        raise EcsModelsError("mirror needs a source and a destination: mirror SRC... DEST.")
    *sources, dest = args.names
    registry_host(args)  # a bad --registry is a usage error before anything is created
    store = open_store(args, create=True)
    jobs = plan_mirror(
        sources, dest, store, all_installed=args.all, default_host=registry_host(args)
    )
    listener = _listener(args, output)
    cancel = threading.Event()
    options = PushOptions(insecure=bool(args.insecure), default_host=registry_host(args))
    with registry_client(args) as client:
        try:
            results = run_interruptibly(
                lambda: mirror_models(
                    jobs,
                    store,
                    registry=client,
                    progress_for=lambda job: PullProgress(job.dest.display, listener),
                    cancel=cancel,
                    options=options,
                ),
                cancel,
            )
        finally:
            _end(listener)
    if args.json:
        output.json([r.to_json() for r in results])
        return 0
    for job, result in zip(jobs, results, strict=True):
        output.print(
            f"{job.source.display} -> {result.name.display} ({result.digest[7:19]}): "
            f"{len(result.uploaded)} uploaded, {len(result.mounted)} mounted, "
            f"{len(result.present)} already there; {human_bytes(result.bytes_sent)} sent"
        )
    return 0


def cmd_hosts(args: argparse.Namespace, output: Output) -> int:
    from ecs_models.runtime.hosts import HostList, OllamaHost, normalize_host_url, survey_hosts

    hosts = HostList()
    action = args.hosts_action
    if action == "add":
        hosts.add(args.url)
        output.print(f"added {normalize_host_url(args.url)} to {hosts.path}")
        return 0
    if action == "rm":
        hosts.remove(args.url)
        output.print(f"removed {normalize_host_url(args.url)} from {hosts.path}")
        return 0
    if action in ("pull", "delete"):
        with OllamaHost(normalize_host_url(args.url)) as host:
            if action == "delete":
                host.delete(args.model)
                output.print(f"deleted {args.model} on {host.base_url}")
                return 0
            json_mode = bool(getattr(args, "json", False))
            listener: Callable[[ProgressEvent], None] = (
                JsonPullStream(output) if json_mode else PullPrinter(output, tty=is_tty(output.err))
            )
            cancel = threading.Event()
            try:
                run_interruptibly(
                    lambda: host.pull(args.model, PullProgress(args.model, listener), cancel),
                    cancel,
                )
            finally:
                _end(listener)
            if not json_mode:
                output.print("success")
            return 0
    statuses = survey_hosts(hosts.load())
    if args.json:
        output.json({"hosts": [s.to_dict() for s in statuses]})
        return 0
    rows: list[tuple[str, ...]] = [
        ("HOST", "STATE", "VERSION", "MODELS", "LOADED", "FREE RAM", "FREE VRAM")
    ]
    for s in statuses:
        rows.append(
            (
                s.url,
                "up" if s.reachable else "down",
                s.version or "-",
                str(len(s.installed)) if s.reachable else "-",
                ", ".join(m.name for m in s.loaded) or "-",
                ollama_bytes(s.free_ram) if s.free_ram is not None else "?",
                ollama_bytes(s.free_vram) if s.free_vram is not None else "?",
            )
        )
    _table(output, rows)
    models = sorted({m.name for s in statuses for m in s.installed})
    if models:
        output.print()
        matrix: list[tuple[str, ...]] = [("MODEL", *(s.url for s in statuses))]
        for name in models:
            cells = []
            for s in statuses:
                loaded = any(m.name == name for m in s.loaded)
                installed = any(m.name == name for m in s.installed)
                cells.append("loaded" if loaded else "yes" if installed else "-")
            matrix.append((name, *cells))
        _table(output, matrix)
    for s in statuses:
        if s.error:
            output.note(f"{s.url}: {s.error}")
    return 0


def _table(output: Output, rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        output.print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
