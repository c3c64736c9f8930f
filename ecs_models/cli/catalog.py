"""Catalog and update commands: search, tags, recommend, outdated, update, pin, unpin, history."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ecs_models.catalog import (
    CATEGORIES,
    SIZE_BUCKETS,
    Catalog,
    CatalogEntry,
    CatalogResult,
    RegistrySource,
    SearchIndex,
    TagInfo,
    fit_for,
    recommend,
)
from ecs_models.catalog.updates import UpdateChecker, UpdateOutcome, UpdateStatus, update_models
from ecs_models.cli.context import (
    Output,
    open_store,
    registry_host,
    run_hint,
    run_interruptibly,
)
from ecs_models.cli.text import is_tty
from ecs_models.errors import (
    EcsModelsError,
    ModelNotFoundError,
    OperationCancelledError,
    with_fix,
)
from ecs_models.formatting import human_time, ollama_bytes
from ecs_models.gguf.memory import MachineMemory, measure_machine
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.history import history, pin_model, unpin_model
from ecs_models.store.model_store import InstalledModel, ModelStore

# Checks must not sit through the pull engine's long back-off when a registry is unreachable.
_CHECK_RETRIES = 1
_CHECK_TIMEOUT_S = 15.0


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parents = list(parents)
    search = sub.add_parser(
        "search",
        parents=parents,
        help="find models by name, description or capability (typos welcome)",
        description="Search ollama.com's library (cached; the shipped snapshot offline) or, "
        "with --registry HOST, that registry's catalog.",
    )
    search.add_argument("query", metavar="QUERY", nargs="?", default="")
    search.add_argument("--category", "-c", choices=CATEGORIES, help="only this category")
    search.add_argument("--size", choices=SIZE_BUCKETS, help="only models with a build this size")
    search.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results")
    search.add_argument("--refresh", action="store_true", help="ask ollama.com now")
    search.add_argument("--offline", action="store_true", help="use only cached data")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=cmd_search)

    tags = sub.add_parser("tags", parents=parents, help="a model's tags with their sizes")
    tags.add_argument("name", metavar="NAME")
    tags.add_argument("--offline", action="store_true", help="use only cached data")
    tags.add_argument("--json", action="store_true", help="print JSON")
    tags.set_defaults(handler=cmd_tags)

    rec = sub.add_parser(
        "recommend", parents=parents, help="popular models that fit this machine's memory now"
    )
    rec.add_argument("--category", "-c", choices=CATEGORIES, help="only this category")
    rec.add_argument("--limit", type=int, default=10, metavar="N")
    rec.add_argument("--offline", action="store_true", help="use only cached data")
    rec.add_argument("--json", action="store_true", help="print JSON")
    rec.set_defaults(handler=cmd_recommend)

    outdated = sub.add_parser(
        "outdated", parents=parents, help="installed models whose registry has a newer version"
    )
    outdated.add_argument("--json", action="store_true", help="print JSON")
    outdated.set_defaults(handler=cmd_outdated)

    update = sub.add_parser("update", parents=parents, help="update models (pinned ones stay)")
    update.add_argument("names", metavar="NAME", nargs="*")
    update.add_argument("--all", action="store_true", help="every installed model")
    update.add_argument("--json", action="store_true", help="print JSON")
    update.set_defaults(handler=cmd_update)

    pin = sub.add_parser("pin", parents=parents, help="keep a model at its version")
    pin.add_argument("name", metavar="NAME")
    pin.set_defaults(handler=cmd_pin)

    unpin = sub.add_parser("unpin", parents=parents, help="let updates change a model again")
    unpin.add_argument("name", metavar="NAME")
    unpin.set_defaults(handler=cmd_unpin)

    hist = sub.add_parser("history", parents=parents, help="versions of a model and when")
    hist.add_argument("name", metavar="NAME")
    hist.add_argument("--json", action="store_true", help="print JSON")
    hist.set_defaults(handler=cmd_history)


# -- helpers ---------------------------------------------------------------------------------


def _table(output: Output, rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        output.print("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _client(args: argparse.Namespace, *, retries: int = 5) -> RegistryClient:
    return RegistryClient(
        insecure=bool(getattr(args, "insecure", False)),
        retries=retries,
        timeout=_CHECK_TIMEOUT_S if retries == _CHECK_RETRIES else 30.0,
    )


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog(offline=bool(getattr(args, "offline", False)))


def _origin_line(result: CatalogResult) -> str:
    if result.origin == "live":
        return f"from {result.source}, just now"
    if result.origin == "cache":
        return f"from {result.source} (cached, {result.age_text()})"
    date = result.extra.get("snapshot_date") or f"{result.fetched_at:%Y-%m-%d}"
    return f"from the snapshot of {date} ({result.age_text()})"


def _result_json(result: CatalogResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "origin": result.origin,
        "fetched_at": result.fetched_at.isoformat(),
        "age_seconds": round(result.age_seconds()),
        "notice": result.notice,
    }


def _size_text(tag: TagInfo | None) -> str:
    if tag is None or tag.size is None:
        return "cloud" if tag is not None and tag.cloud else "-"
    return ollama_bytes(tag.size)


def _fit_text(tag: TagInfo | None, memory: MachineMemory) -> str:
    if tag is None or tag.size is None:
        return "-"
    return str(fit_for(tag.size, memory).verdict)


def _pulls(entry: CatalogEntry) -> str:
    if entry.pulls is None:
        return "-"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if entry.pulls >= scale:
            return f"{entry.pulls / scale:.1f}".removesuffix(".0") + unit
    return str(entry.pulls)


def _registry_search_host(args: argparse.Namespace) -> str | None:
    host = registry_host(args)
    return None if host.lower() == DEFAULT_HOST else host


# -- search, tags, recommend ---------------------------------------------------------------------


def cmd_search(args: argparse.Namespace, output: Output) -> int:
    if args.limit < 1:
        raise EcsModelsError("--limit must be at least 1.")
    host = _registry_search_host(args)
    catalog = _catalog(args)
    try:
        if host is not None:
            with _client(args) as client:
                result = catalog.registry_models(host, client, refresh=args.refresh)
        else:
            result = catalog.library(refresh=args.refresh)
    finally:
        catalog.close()
    hits = SearchIndex(result.entries).search(
        args.query, category=args.category, size=args.size, limit=args.limit
    )
    memory = measure_machine()
    if args.json:
        doc = _result_json(result)
        doc["query"] = args.query
        doc["results"] = [
            {
                **hit.entry.to_json(),
                "categories": sorted(hit.categories),
                "score": round(hit.score, 3),
                "default_tag": (tag.name if (tag := hit.entry.default_tag) else None),
                "fit": _fit_text(hit.entry.default_tag, memory),
            }
            for hit in hits
        ]
        output.json(doc)
        return 0
    if result.notice:
        output.note(f"note: {result.notice}")
    if not hits:
        output.print(
            f"no models match {args.query!r} ({len(result.entries)} searched, {_origin_line(result)})"
        )
        return 0
    rows = [["NAME", "SIZE", "FIT", "CAPABILITIES", "PULLS", "DESCRIPTION"]]
    for hit in hits:
        entry = hit.entry
        tag = entry.default_tag
        description = entry.description
        if len(description) > 60:
            description = description[:57].rstrip() + "..."
        rows.append(
            [
                entry.name,
                _size_text(tag),
                _fit_text(tag, memory),
                ",".join(entry.capabilities) or "-",
                _pulls(entry),
                description,
            ]
        )
    _table(output, rows)
    output.note(f"{len(hits)} of {len(result.entries)} models, {_origin_line(result)}")
    return 0


def _tags_name(args: argparse.Namespace) -> ModelName:
    return parse_model_name(args.name, default_host=registry_host(args))


def cmd_tags(args: argparse.Namespace, output: Output) -> int:
    name = _tags_name(args)
    memory = measure_machine()
    if name.host.lower() != DEFAULT_HOST:
        return _registry_tags(args, output, name, memory)
    catalog = _catalog(args)
    try:
        model = name.model if name.namespace == "library" else f"{name.namespace}/{name.model}"
        result = catalog.model_tags(model)
    finally:
        catalog.close()
    entry = result.entries[0]
    if args.json:
        doc = _result_json(result)
        doc["model"] = entry.to_json()
        for tag_doc, tag in zip(doc["model"]["tags"], entry.tags, strict=True):
            tag_doc["fit"] = _fit_text(tag, memory)
        output.json(doc)
        return 0
    if result.notice:
        output.note(f"note: {result.notice}")
    rows = [["TAG", "SIZE", "FIT", "DIGEST", "CONTEXT", "INPUT"]]
    for tag in entry.tags:
        size = _size_text(tag) + ("" if tag.size_exact or tag.size is None else " (approx.)")
        rows.append(
            [
                f"{entry.name}:{tag.name}",
                size,
                _fit_text(tag, memory),
                tag.digest_prefix or "-",
                tag.context or "-",
                ",".join(tag.inputs) or "-",
            ]
        )
    _table(output, rows)
    output.note(f"{len(entry.tags)} tags, {_origin_line(result)}")
    return 0


def _registry_tags(
    args: argparse.Namespace, output: Output, name: ModelName, memory: MachineMemory
) -> int:
    root_store = open_store(args, create=False)
    with _client(args) as client:
        sizes = RegistrySource(client, name.host).download_sizes(str(name), root_store)
    if args.json:
        output.json(
            {
                "source": name.host,
                "origin": "live",
                "model": f"{name.host}/{name.repository}",
                "tags": [
                    {
                        "name": tag,
                        "digest": size.manifest_digest if size else None,
                        "size": size.total if size else None,
                        "present": size.present if size else None,
                        "to_download": size.to_download if size else None,
                        "fit": str(fit_for(size.total, memory).verdict) if size else None,
                    }
                    for tag, size in sizes
                ],
            }
        )
        return 0
    rows = [["TAG", "SIZE", "ALREADY HERE", "TO DOWNLOAD", "FIT", "DIGEST"]]
    for tag, size in sizes:
        if size is None:
            rows.append([f"{name.host}/{name.repository}:{tag}", "?", "-", "-", "-", "unreadable"])
            continue
        rows.append(
            [
                f"{name.host}/{name.repository}:{tag}",
                ollama_bytes(size.total),
                ollama_bytes(size.present),
                ollama_bytes(size.to_download),
                str(fit_for(size.total, memory).verdict),
                size.manifest_digest.removeprefix("sha256:")[:12],
            ]
        )
    _table(output, rows)
    return 0


def cmd_recommend(args: argparse.Namespace, output: Output) -> int:
    catalog = _catalog(args)
    try:
        result = catalog.library()
    finally:
        catalog.close()
    memory = measure_machine()
    picks = recommend(result.entries, memory, limit=args.limit, category=args.category)
    if args.json:
        doc = _result_json(result)
        doc["ram_available"] = memory.ram_available
        doc["ram_total"] = memory.ram_total
        doc["recommendations"] = [
            {
                "name": pick.reference,
                "size": pick.tag.size,
                "needed": pick.fit.needed,
                "fit": str(pick.fit.verdict),
                "reason": pick.reason,
            }
            for pick in picks
        ]
        output.json(doc)
        return 0
    if result.notice:
        output.note(f"note: {result.notice}")
    for pick in picks:
        output.print(pick.reason)
    if not picks:
        output.print("nothing in the catalog fits the memory free now")
    return 0


# -- updates ---------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> ModelStore | None:
    return open_store(args, create=False)


def _status_json(status: UpdateStatus) -> dict[str, Any]:
    return {
        "name": status.model.display,
        "state": status.state,
        "local_digest": status.model.digest,
        "remote_digest": status.remote_digest,
        "change_bytes": status.change_bytes,
        "total_bytes": status.change.total if status.change else None,
        "pinned": status.pinned,
        "error": status.error,
    }


def cmd_outdated(args: argparse.Namespace, output: Output) -> int:
    store = _store(args)
    statuses: list[UpdateStatus] = []
    if store is not None:
        with _client(args, retries=_CHECK_RETRIES) as client:
            statuses = UpdateChecker().check(store, client)
    if args.json:
        output.json({"models": [_status_json(s) for s in statuses]})
        return 0
    if not statuses:
        output.print("no models installed")
        return 0
    rows = [["NAME", "ID", "STATE", "DOWNLOAD", "PINNED"]]
    for status in statuses:
        change = status.change_bytes
        rows.append(
            [
                status.model.display,
                status.model.id,
                status.state,
                ollama_bytes(change) if change is not None else "-",
                "pinned" if status.pinned else "",
            ]
        )
    _table(output, rows)
    for status in statuses:
        if status.error:
            output.note(f"warning: {status.model.display}: {status.error}")
    return 0


def _outcome_json(outcome: UpdateOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "result": outcome.result,
        "old_digest": outcome.old_digest,
        "new_digest": outcome.new_digest,
        "downloaded": outcome.downloaded,
        "freed": outcome.freed,
        "error": outcome.error,
    }


def _outcome_line(args: argparse.Namespace, outcome: UpdateOutcome) -> str:
    if outcome.result == "updated":
        new = (outcome.new_digest or "").removeprefix("sha256:")[:12]
        return (
            f"updated {outcome.name} to {new} ({ollama_bytes(outcome.downloaded)} downloaded, "
            f"{ollama_bytes(outcome.freed)} of the old version freed)"
        )
    if outcome.result == "pinned":
        unpin = run_hint(args, "unpin", outcome.name)
        return f"skipped {outcome.name}: pinned (an update is available; {unpin} to allow it)"
    if outcome.result == "current":
        return f"{outcome.name} is up to date"
    return f"{outcome.result} {outcome.name}" + (f": {outcome.error}" if outcome.error else "")


def cmd_update(args: argparse.Namespace, output: Output) -> int:
    if bool(args.names) == bool(args.all):
        raise EcsModelsError("Name the models to update, or pass --all (not both).")
    host = registry_host(args)
    names = [parse_model_name(n, default_host=host) for n in args.names]
    store = _store(args)
    if store is None:
        if names:
            raise ModelNotFoundError(f"Model {names[0].display} is not installed.")
        outcomes: list[UpdateOutcome] = []
    else:
        outcomes = _update(args, output, store, names or None, host)
    if args.json:
        output.json({"updates": [_outcome_json(o) for o in outcomes]})
    elif not outcomes:
        output.print("no models installed")
    failed = [o for o in outcomes if o.result in ("failed", "cancelled")]
    if any(o.result == "cancelled" for o in outcomes):
        words = [n.display for n in names] if names else ["--all"]
        raise with_fix(
            OperationCancelledError("The update was cancelled."),
            "update",
            *words,
            purpose="to resume where it stopped",
        )
    return 1 if failed else 0


def _update(
    args: argparse.Namespace,
    output: Output,
    store: ModelStore,
    names: list[ModelName] | None,
    host: str,
) -> list[UpdateOutcome]:
    from ecs_models.cli.pull import PullPrinter
    from ecs_models.transfer.progress import PullProgress
    from ecs_models.transfer.pull import PullOptions

    printer = None if args.json else PullPrinter(output, tty=is_tty(sys.stderr))

    def progress_for(model: InstalledModel) -> PullProgress:
        return PullProgress(model.display, listener=printer)

    def report(outcome: UpdateOutcome) -> None:
        if printer is not None:
            printer.end_line()
            output.print(_outcome_line(args, outcome))

    cancel = threading.Event()
    options = PullOptions(insecure=bool(args.insecure), default_host=host)
    with _client(args) as client:
        return run_interruptibly(
            lambda: update_models(
                store,
                client,
                names,
                default_host=host,
                options=options,
                progress_for=progress_for,
                on_outcome=report,
                cancel=cancel,
            ),
            cancel,
        )


def _installed(args: argparse.Namespace) -> tuple[ModelStore, InstalledModel]:
    host = registry_host(args)
    name = parse_model_name(args.name, default_host=host)
    store = _store(args)
    if store is None:
        raise ModelNotFoundError(f"Model {name.display} is not installed.")
    return store, store.resolve(name, default_host=host)


def cmd_pin(args: argparse.Namespace, output: Output) -> int:
    store, model = _installed(args)
    record = pin_model(store, model)
    output.print(f"pinned {model.display} at {record.digest.removeprefix('sha256:')[:12]}")
    return 0


def cmd_unpin(args: argparse.Namespace, output: Output) -> int:
    host = registry_host(args)
    name = parse_model_name(args.name, default_host=host)
    store = _store(args)
    if store is None or not unpin_model(store, name):
        output.print(f"{name.display} was not pinned")
        return 0
    output.print(f"unpinned {name.display}")
    return 0


def cmd_history(args: argparse.Namespace, output: Output) -> int:
    host = registry_host(args)
    name = parse_model_name(args.name, default_host=host)
    store = _store(args)
    records = history(store, name) if store is not None else []
    if args.json:
        output.json(
            {
                "name": name.display,
                "versions": [r.to_json() for r in records],
            }
        )
        return 0
    if not records:
        raise ModelNotFoundError(f"There is no history for {name.display}.")
    now = dt.datetime.now(dt.UTC)
    rows = [["DIGEST", "SIZE", "WHEN", "ACTION"]]
    for record in reversed(records):
        rows.append(
            [
                record.digest.removeprefix("sha256:")[:12],
                ollama_bytes(record.size),
                f"{record.installed_at.astimezone():%Y-%m-%d %H:%M} ({human_time(record.installed_at, now)})",
                record.action,
            ]
        )
    _table(output, rows)
    return 0
