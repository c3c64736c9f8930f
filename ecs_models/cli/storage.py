"""Storage commands: du, health [--repair] [--smoke], cleanup, disk, export, import, create."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecs_models.cli.context import (
    Output,
    models_root,
    not_installed,
    open_store,
    parse_names,
    registry_client,
    registry_host,
    run_hint,
    run_interruptibly,
)
from ecs_models.cli.hints import fix_hints, manifest_name
from ecs_models.errors import EcsModelsError
from ecs_models.formatting import human_bytes
from ecs_models.storage.archive import describe_export, export_model, import_archive
from ecs_models.storage.create import create_from_gguf
from ecs_models.storage.disk import DiskLevel, disk_status
from ecs_models.storage.health import HealthProgress, HealthReport, ModelHealth, check_health
from ecs_models.storage.repair import repair
from ecs_models.storage.report import StorageReport, storage_report
from ecs_models.store.cleanup import DEFAULT_PARTIAL_MAX_AGE_S, CleanupKind, CleanupPlan, clean

_NAMES = {
    CleanupKind.ORPHAN_BLOB: "orphaned blob",
    CleanupKind.STALE_PARTIAL: "stale partial",
    CleanupKind.EMPTY_DIR: "empty directory",
    CleanupKind.STALE_TEMP: "stale temporary",
    CleanupKind.UNREADABLE_MANIFEST: "unreadable manifest",
}


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parents = list(parents)
    du = sub.add_parser("du", parents=parents, help="disk usage per model: unique, shared, totals")
    du.add_argument("--json", action="store_true", help="print JSON")
    du.add_argument(
        "--unused-days", type=float, default=30.0, metavar="N", help="'unused' means N days"
    )
    du.set_defaults(handler=cmd_du)

    health = sub.add_parser(
        "health",
        parents=parents,
        help="check manifests, blob sizes, sha256, GGUF structure and config; --repair fixes",
    )
    health.add_argument("names", metavar="NAME", nargs="*", help="models (default: all)")
    health.add_argument(
        "--repair", action="store_true", help="download again only the bad or missing blobs"
    )
    health.add_argument("--no-hash", action="store_true", help="skip sha256 (sizes and GGUF)")
    health.add_argument(
        "--smoke",
        action="store_true",
        help="also generate 4 tokens with llama.cpp from each healthy GGUF model",
    )
    health.add_argument("--json", action="store_true", help="print JSON")
    health.set_defaults(handler=cmd_health)

    cleanup = sub.add_parser(
        "cleanup",
        parents=parents,
        help="delete orphaned blobs, stale partials, empty manifest dirs; report bad manifests",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="only list what would go")
    cleanup.add_argument("--json", action="store_true", help="print JSON")
    cleanup.add_argument(
        "--partial-age",
        type=float,
        default=DEFAULT_PARTIAL_MAX_AGE_S,
        metavar="SECONDS",
        help="partials untouched this long are stale (default: 3600)",
    )
    cleanup.set_defaults(handler=cmd_cleanup)

    disk = sub.add_parser("disk", parents=parents, help="free and used space of the models disk")
    disk.add_argument("--json", action="store_true", help="print JSON")
    disk.set_defaults(handler=cmd_disk)

    export = sub.add_parser("export", parents=parents, help="write a model to one archive file")
    export.add_argument("name", metavar="NAME")
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.add_argument(
        "--compress", choices=["zstd"], default=None, help="zstd, kept only if it saves >= 5 %%"
    )
    export.add_argument("--json", action="store_true", help="print JSON")
    export.set_defaults(handler=cmd_export)

    imp = sub.add_parser("import", parents=parents, help="install a model from an archive file")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--name", default=None, help="install under this name instead")
    imp.add_argument("--json", action="store_true", help="print JSON")
    imp.set_defaults(handler=cmd_import)

    create = sub.add_parser("create", parents=parents, help="make a model from a local GGUF")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--from-gguf", required=True, metavar="PATH", dest="from_gguf")
    create.add_argument("--template", metavar="FILE", help="prompt template file")
    create.add_argument("--system", metavar="TEXT", help="system prompt")
    create.add_argument("--params", metavar="JSON", help="parameters, e.g. '{\"num_ctx\": 8192}'")
    create.add_argument(
        "--link", action="store_true", help="hard-link the file into the store instead of copying"
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=cmd_create)




class _Meter:
    """A one-line progress display on stderr when it is a terminal."""

    def __init__(self, label: str, progress: HealthProgress) -> None:
        self.label = label
        self.progress = progress
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Meter:
        if sys.stderr.isatty():
            self.thread = threading.Thread(target=self._draw, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _draw(self) -> None:
        while not self.stop.wait(0.25):
            done, total, rate = self.progress.snapshot()
            percent = 100 * done / total if total else 100.0
            sys.stderr.write(
                f"\r{self.label} {percent:5.1f}%  {human_bytes(done)}/{human_bytes(total)}  "
                f"{human_bytes(rate)}/s\x1b[K"
            )
            sys.stderr.flush()


# -- du --------------------------------------------------------------------------------------


def cmd_du(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    report = (
        StorageReport(unused_days=args.unused_days)
        if store is None
        else storage_report(store, unused_days=args.unused_days)
    )
    if args.json:
        output.json(report.to_json())
        return 0
    rows = [("NAME", "ID", "SIZE", "UNIQUE", "SHARED", "LAST USED")]
    for m in report.models:
        used = (
            "never"
            if m.last_used is None
            else time.strftime("%Y-%m-%d", time.localtime(m.last_used))
        )
        rows.append(
            (
                m.display,
                m.id,
                human_bytes(m.logical),
                human_bytes(m.unique),
                human_bytes(m.shared),
                used,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        output.print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    output.print()
    output.print(f"models:          {len(report.models)}")
    output.print(f"logical size:    {human_bytes(report.logical_total)} (sum of model sizes)")
    output.print(f"on disk:         {human_bytes(report.physical_total)} (needed blobs, each once)")
    output.print(f"dedup savings:   {human_bytes(report.dedup_savings)}")
    output.print(f"orphaned blobs:  {human_bytes(report.orphan_bytes)}")
    output.print(f"partials:        {human_bytes(report.partial_bytes)}")
    output.print(f"reclaimable:     {human_bytes(report.reclaimable_bytes)} ({run_hint(args, 'cleanup')})")
    if report.never_used:
        output.print(f"never used:      {', '.join(m.display for m in report.never_used)}")
    if report.unused:
        days = f"{report.unused_days:g}"
        output.print(f"unused {days} days: {', '.join(m.display for m in report.unused)}")
    return 0


# -- health ----------------------------------------------------------------------------------


def _health_lines(results: list[ModelHealth]) -> list[str]:
    if not results:
        return ["no models installed"]
    width = max(len(r.display) for r in results)
    lines = []
    for result in results:
        if result.ok:
            smoked = "  (smoke generation passed)" if result.smoke == "passed" else ""
            lines.append(f"ok      {result.display.ljust(width)}{smoked}")
            continue
        for finding in result.findings:
            where = f"blob {finding.digest[7:19]} ({finding.layer}): " if finding.digest else ""
            lines.append(
                f"FAILED  {result.display.ljust(width)}  {where}{finding.kind.value}: {finding.detail}"
            )
    return lines


def cmd_health(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    host = registry_host(args)
    names = list(args.names) or None
    if store is None:
        if names:
            raise not_installed(parse_names(args, names)[0])
        output.json({"health": HealthReport().to_json()}) if args.json else output.print(
            "no models installed"
        )
        return 0
    cancel = threading.Event()
    progress = HealthProgress()
    with _Meter("checking", progress):
        report: HealthReport = run_interruptibly(
            lambda: check_health(
                store,
                names,
                hash_content=not args.no_hash,
                progress=progress,
                cancel=cancel,
                default_host=host,
                smoke=args.smoke,
                smoke_quiet=True,
            ),
            cancel,
        )
    document: dict[str, Any] = {"health": report.to_json()}
    ok = report.ok
    if args.repair and not report.ok:
        client = registry_client(args)
        try:
            result = run_interruptibly(
                lambda: repair(store, report=report, registry=client, cancel=cancel), cancel
            )
        finally:
            client.close()
        document["repair"] = result.to_json()
        ok = result.ok
    if args.json:
        output.json(document)
    else:
        for line in _health_lines(report.models):
            output.print(line)
        if report.smoke_skipped is not None:
            output.print(f"smoke generation skipped: {report.smoke_skipped}")
        if "repair" in document:
            repaired = document["repair"]
            for model, digests in repaired["fetched"].items():
                output.print(f"repaired {model}: downloaded {len(digests)} blob(s) again")
            for model, why in repaired["unrepairable"].items():
                output.print(f"cannot repair {model}: {why}")
    if not ok:
        bad = sorted(m.display for m in report.models if not m.ok)
        hint = "" if args.repair else _health_hint(args, report)
        output.note(f"error: {len(bad)} model(s) unhealthy ({', '.join(bad)}){hint}.")
        return 1
    return 0


def _health_hint(args: argparse.Namespace, report: HealthReport) -> str:
    """The commands that fix what the check found: a repair for damaged blobs, a pull for
    an unreadable manifest; nothing for bad bytes the registry itself serves."""
    damaged = sorted(m.display for m in report.models if m.digest is not None and m.repairable)
    unreadable = [manifest_name(m.name) for m in report.models if m.digest is None]
    return fix_hints(args, damaged=damaged, unreadable=sorted(n for n in unreadable if n))


# -- cleanup and disk ------------------------------------------------------------------------


def cmd_cleanup(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    plan = (
        CleanupPlan(dry_run=args.dry_run)
        if store is None
        else clean(store, dry_run=args.dry_run, partial_max_age_s=args.partial_age)
    )
    if args.json:
        output.json(plan.to_json())
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for item in plan.items:
        label = _NAMES[item.kind]
        if item.removable:
            output.print(f"{verb} {label} {item.path} ({human_bytes(item.bytes)})")
        else:
            output.print(f"left alone: {label} {item.path}: {item.detail}")
    count = len(plan.removable)
    freed = "would free" if args.dry_run else "freed"
    output.print(
        f"{freed} {human_bytes(plan.reclaimable_bytes)} ({plan.reclaimable_bytes} bytes, {count} item(s))"
    )
    return 0


def cmd_disk(args: argparse.Namespace, output: Output) -> int:
    status = disk_status(models_root(args))
    if args.json:
        output.json(status.to_json())
    else:
        output.print(
            f"{status.path}: {human_bytes(status.free)} free of {human_bytes(status.total)} "
            f"({status.used_fraction:.0%} used) - {status.level.value}"
        )
    return 0 if status.level is not DiskLevel.CRITICAL else 1


# -- export, import, create ------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(parse_names(args, [args.name])[0])
    cancel = threading.Event()
    result = run_interruptibly(
        lambda: export_model(
            store,
            args.name,
            args.output,
            compress=args.compress,
            cancel=cancel,
            default_host=registry_host(args),
        ),
        cancel,
    )
    if args.json:
        output.json(result.to_json())
    else:
        output.print(describe_export(result))
    return 0


def cmd_import(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=True)
    cancel = threading.Event()
    result = run_interruptibly(
        lambda: import_archive(
            store, args.file, name=args.name, cancel=cancel, default_host=registry_host(args)
        ),
        cancel,
    )
    if args.json:
        output.json(result.to_json())
    else:
        output.print(
            f"imported {result.model.display} ({result.model.id}): "
            f"{len(result.blobs_written)} blob(s) written, {len(result.blobs_reused)} reused"
        )
    return 0


def cmd_create(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=True)
    template = None
    if args.template is not None:
        try:
            template = Path(args.template).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EcsModelsError(f"Cannot read the template file {args.template}: {exc}.") from exc
    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            raise EcsModelsError(f"--params is not valid JSON: {exc}.") from exc
        if not isinstance(params, dict):
            raise EcsModelsError("--params must be a JSON object such as '{\"num_ctx\": 8192}'.")
    cancel = threading.Event()
    model = run_interruptibly(
        lambda: create_from_gguf(
            store,
            args.name,
            args.from_gguf,
            template=template,
            system=args.system,
            params=params,
            link=args.link,
            cancel=cancel,
            default_host=registry_host(args),
        ),
        cancel,
    )
    if args.json:
        output.json(model.to_api_dict())
    else:
        how = "linked" if args.link else "copied"
        output.print(f"created {model.display} ({model.id}) from {args.from_gguf} ({how})")
    return 0
