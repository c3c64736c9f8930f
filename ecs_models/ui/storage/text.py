"""The words the Storage view shows: report rows and totals, cleanup items, health, job notices."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ecs_models.formatting import human_bytes, human_rate
from ecs_models.names import parse_model_name
from ecs_models.storage.archive import ExportResult, ImportResult
from ecs_models.storage.disk import DiskLevel, DiskStatus
from ecs_models.storage.health import HealthReport, ModelHealth
from ecs_models.storage.repair import RepairResult
from ecs_models.storage.report import ModelStorage, StorageReport
from ecs_models.store.cleanup import CleanupItem, CleanupKind, CleanupPlan
from ecs_models.ui.core.health_badge import finding_text, health_badge

_KIND_WORDS = {
    CleanupKind.ORPHAN_BLOB: "orphaned blob",
    CleanupKind.STALE_PARTIAL: "stale partial",
    CleanupKind.EMPTY_DIR: "empty directory",
    CleanupKind.STALE_TEMP: "leftover temporary file",
    CleanupKind.UNREADABLE_MANIFEST: "unreadable manifest",
}
_KIND_PLURALS = {
    CleanupKind.ORPHAN_BLOB: "orphaned blobs",
    CleanupKind.STALE_PARTIAL: "stale partials",
    CleanupKind.EMPTY_DIR: "empty directories",
    CleanupKind.STALE_TEMP: "leftover temporary files",
    CleanupKind.UNREADABLE_MANIFEST: "unreadable manifests",
}


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def clock(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when))


def report_row(model: ModelStorage, health: ModelHealth | None, now: float) -> str:
    """`health`: the model's last check if it still holds (None: not verified). The badge
    comes right after the size, where a narrow window does not cut it off."""
    parts = [
        model.display,
        human_bytes(model.logical),
        health_badge(health, now),
        f"frees {human_bytes(model.freed_if_removed)}",
        f"shared {human_bytes(model.shared)}",
    ]
    if model.missing:
        parts.append(f"missing {human_bytes(model.missing)}")
    return "   ".join(parts)


def totals_lines(report: StorageReport) -> list[str]:
    """Three lines: sizes, reclaimable litter, and models nobody used lately."""
    count = len(report.models)
    first = (
        f"{plural(count, 'model')}: {human_bytes(report.logical_total)} logical, "
        f"{human_bytes(report.physical_total)} on disk, "
        f"dedup saves {human_bytes(report.dedup_savings)}"
    )
    second = (
        f"Reclaimable {human_bytes(report.reclaimable_bytes)} "
        f"(orphans {human_bytes(report.orphan_bytes)}, partials {human_bytes(report.partial_bytes)})"
    )
    if report.unreadable_manifests:
        second += f", {plural(report.unreadable_manifests, 'unreadable manifest')}"
    never = [m.display for m in report.never_used]
    unused = [m.display for m in report.unused]
    days = f"{report.unused_days:g}"
    third = (
        f"Never used: {_names(never)}; not used for {days} days: {_names(unused)}"
        if never or unused
        else f"Every model was used in the last {days} days"
    )
    return [first, second, third]


def _names(names: Sequence[str], most: int = 2) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _where(item: CleanupItem, root: Path) -> str:
    try:
        where = str(item.path.relative_to(root))
    except ValueError:
        where = str(item.path)
    if len(where) > 40:  # the row's size must still show in the list's width
        where = where[:22] + "…" + where[-14:]
    return where


def cleanup_what(items: Sequence[CleanupItem], root: Path) -> str:
    """What the Clean question deletes: one item by its path, several counted by kind."""
    if len(items) == 1:
        return f"the {_KIND_WORDS[items[0].kind]} {_where(items[0], root)}"
    counts = {kind: sum(1 for i in items if i.kind is kind) for kind in _KIND_WORDS}
    parts = [
        f"{count} {_KIND_WORDS[kind] if count == 1 else _KIND_PLURALS[kind]}"
        for kind, count in counts.items()
        if count
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def cleanup_row(item: CleanupItem, root: Path) -> str:
    where = _where(item, root)
    word = _KIND_WORDS[item.kind]
    if not item.removable:
        return f"{word}: {where} (reported, not deleted)"
    # What deleting it frees comes first: a narrow list cuts a row's end, not its start.
    return f"{human_bytes(item.bytes)}   {word}: {where}"


def cleanup_total(plan: CleanupPlan) -> str:
    removable = plan.removable
    if not plan.items:
        return "Nothing to clean up."
    text = (
        f"{plural(len(removable), 'item')} to delete, {human_bytes(plan.reclaimable_bytes)} total"
    )
    if plan.reported:
        text += f"; {plural(len(plan.reported), 'unreadable manifest')} reported"
    return text


def health_lines(health: ModelHealth | None, display: str | None) -> list[str]:
    """Two lines about the focused model's last check."""
    if display is None:
        return ["Select a model to see its last health check.", ""]
    if health is None:
        return [f"{display}: not verified yet.", ""]
    when = clock(health.checked_at)
    depth = health.checked()
    if health.ok:
        return [f"{display}: healthy, checked {when} ({depth}).", ""]
    first = health.findings[0]
    more = len(health.findings) - 1
    second = finding_text(first) + (f", and {plural(more, 'more problem')}" if more else "")
    fix = "Repair can fix it" if health.repairable else "Repair cannot fix it"
    return [f"{display}: failed, checked {when}; {fix}.", second[:1].upper() + second[1:] + "."]


def verify_notice(report: HealthReport) -> tuple[str, bool]:
    """(sentence, is_error) for a finished verification."""
    rate = human_rate(report.bytes_hashed / report.seconds) if report.seconds > 0 else ""
    damaged = [m for m in report.models if not m.ok]
    if not damaged:
        speed = f" at {rate}" if rate else ""
        return (
            f"Verified {plural(len(report.models), 'model')}{speed}: every blob matches its digest.",
            False,
        )
    first = damaged[0]
    more = f" and {plural(len(damaged) - 1, 'other model')}" if len(damaged) > 1 else ""
    fix = "; press Repair" if first.repairable else ""  # the notice is one line: keep it short
    return (
        f"{first.display}{more} failed verification: {finding_text(first.findings[0])}{fix}.",
        True,
    )


def repair_notice(result: RepairResult) -> tuple[str, bool]:
    fetched = sum(len(d) for d in result.fetched.values())
    if result.unrepairable:
        name, why = next(iter(result.unrepairable.items()))
        short = parse_model_name(name).display
        return f"Could not repair {short}: {why.rstrip('.')}.", True
    if not fetched:
        return "Nothing needed repairing.", False
    after = result.after
    one = len(result.fetched) == 1
    if after is None or after.ok:
        state = "it now passes verification" if one else "they now pass verification"
    else:
        state = "it still fails verification" if one else "some still fail verification"
    names = ", ".join(parse_model_name(n).display for n in sorted(result.fetched))
    return f"Repaired {names}: downloaded {plural(fetched, 'blob')} again and {state}.", not (
        after is None or after.ok
    )


def export_notice(result: ExportResult) -> str:
    how = "uncompressed"
    if result.compressed and result.saving is not None:
        how = f"zstd, {result.saving:.1%} smaller"
    elif result.note:
        how = result.note.split(":")[0] + ", so uncompressed"
    return f"Exported {result.model} to {result.path} ({human_bytes(result.written_bytes)}, {how})."


def import_notice(result: ImportResult) -> str:
    model = result.model
    return (
        f"Imported {model.display} (ID {model.id}) with {plural(len(result.blobs_written), 'blob')}"
        f" written and {len(result.blobs_reused)} reused."
    )


def clean_notice(plan: CleanupPlan) -> str:
    deleted = plan.removable
    if not deleted:
        return "Nothing was deleted: the store had no litter."
    return (
        f"Deleted {plural(len(deleted), 'item')} and freed {human_bytes(plan.reclaimable_bytes)}."
    )


def disk_lines(status: DiskStatus | None) -> list[str]:
    if status is None:
        return ["Measuring the models filesystem…", ""]
    word = {DiskLevel.OK: "Disk", DiskLevel.WARN: "Disk low", DiskLevel.CRITICAL: "Disk critical"}
    limits = status.limits
    return [
        f"{word[status.level]}: {human_bytes(status.free)} free of {human_bytes(status.total)}",
        f"warn below {human_bytes(limits.warn_free)}, "
        f"installs stop below {human_bytes(limits.critical_free)}",
    ]


def default_export_path(name: str) -> str:
    """~/<model>.tar, with the tag when it is not latest."""
    parsed = parse_model_name(name)
    stem = parsed.model if parsed.tag == "latest" else f"{parsed.model}-{parsed.tag}"
    return f"~/{stem}.tar"
