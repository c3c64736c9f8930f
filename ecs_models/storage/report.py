"""`du` for the models directory: per-model unique and shared bytes, dedup savings, reclaimable."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

from ecs_models.store.cleanup import DEFAULT_PARTIAL_MAX_AGE_S, CleanupKind, plan_cleanup
from ecs_models.store.model_store import ModelStore
from ecs_models.store.scan import scan_store
from ecs_models.store.usage import load_usage

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class ModelStorage:
    """One model's share of the disk. Sizes are the manifest's, so they match `ollama list`."""

    name: str  # host/namespace/model:tag
    display: str
    id: str
    logical: int  # every blob it needs, as `ollama list` counts it
    unique: int  # blobs no other model needs: what removing it frees
    shared: int  # blobs other models need too
    linked: int  # unique blobs hard-linked from outside the store: removing frees none of it
    missing: int  # blobs it needs that are not on disk (or have the wrong size)
    modified: float  # manifest mtime, UNIX time
    last_used: float | None  # recorded by this app; None = never
    digest: str = ""  # the manifest's: a saved health result holds only for this digest

    @property
    def freed_if_removed(self) -> int:
        return self.unique - self.linked

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "display": self.display,
            "id": self.id,
            "logical": self.logical,
            "unique": self.unique,
            "shared": self.shared,
            "linked": self.linked,
            "missing": self.missing,
            "freed_if_removed": self.freed_if_removed,
            "modified": self.modified,
            "last_used": self.last_used,
        }


@dataclass(slots=True)
class StorageReport:
    models: list[ModelStorage] = field(default_factory=list)
    logical_total: int = 0  # sum of model sizes: what the models would take without sharing
    referenced_total: int = 0  # each needed blob once, by manifest size
    physical_total: int = 0  # needed blobs on disk, each inode once
    orphan_bytes: int = 0
    partial_bytes: int = 0  # every partial download, allocated bytes
    reclaimable_bytes: int = 0  # what `cleanup` would free now
    unreadable_manifests: int = 0
    unused_days: float = 30.0
    generated_at: float = 0.0
    seconds: float = 0.0

    @property
    def dedup_savings(self) -> int:
        """Bytes not stored twice because models share blobs."""
        return self.logical_total - self.referenced_total

    @property
    def never_used(self) -> list[ModelStorage]:
        return [m for m in self.models if m.last_used is None]

    @property
    def unused(self) -> list[ModelStorage]:
        """Used before, but not in the last `unused_days` days."""
        cutoff = self.generated_at - self.unused_days * DAY_S
        return [m for m in self.models if m.last_used is not None and m.last_used < cutoff]

    def to_json(self) -> dict[str, object]:
        return {
            "models": [m.to_json() for m in self.models],
            "totals": {
                "logical": self.logical_total,
                "referenced": self.referenced_total,
                "physical": self.physical_total,
                "dedup_savings": self.dedup_savings,
                "orphans": self.orphan_bytes,
                "partials": self.partial_bytes,
                "reclaimable": self.reclaimable_bytes,
                "unreadable_manifests": self.unreadable_manifests,
            },
            "unused_days": self.unused_days,
            "never_used": [m.name for m in self.never_used],
            "unused": [m.name for m in self.unused],
            "generated_at": self.generated_at,
        }


@dataclass(frozen=True, slots=True)
class _BlobStat:
    size: int
    inode: int
    links: int


def _stat_blobs(store: ModelStore) -> tuple[dict[str, _BlobStat], int]:
    """sha256:<hex> -> stat of every complete blob, and the allocated bytes of all partials."""
    blobs: dict[str, _BlobStat] = {}
    partial_bytes = 0
    with os.scandir(store.blobs_dir) as entries:
        for entry in entries:
            name = entry.name
            if not name.startswith("sha256-"):
                continue
            with contextlib.suppress(OSError):
                if len(name) == 71:
                    stat = entry.stat(follow_symlinks=False)
                    blobs["sha256:" + name[7:]] = _BlobStat(
                        stat.st_size, stat.st_ino, stat.st_nlink
                    )
                elif "-partial" in name:
                    stat = entry.stat(follow_symlinks=False)
                    partial_bytes += min(stat.st_size, stat.st_blocks * 512)
    return blobs, partial_bytes


def storage_report(
    store: ModelStore,
    *,
    unused_days: float = 30.0,
    partial_max_age_s: float = DEFAULT_PARTIAL_MAX_AGE_S,
    now: float | None = None,
) -> StorageReport:
    """Stat-only: reads manifests (and config blobs, cached) but hashes nothing."""
    started = time.perf_counter()
    moment = time.time() if now is None else now
    scan = scan_store(store)
    blobs, partial_bytes = _stat_blobs(store)
    usage = load_usage(store)

    users: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for model in scan.models:
        for layer in {layer.digest: layer for layer in model.manifest.blobs}.values():
            users[layer.digest] = users.get(layer.digest, 0) + 1
            sizes[layer.digest] = layer.size

    report = StorageReport(unused_days=unused_days, generated_at=moment)
    for model in scan.models:
        unique = shared = linked = missing = 0
        for digest in {layer.digest for layer in model.manifest.blobs}:
            size = sizes[digest]
            on_disk = blobs.get(digest)
            if on_disk is None or on_disk.size != size:
                missing += size
            if users[digest] == 1:
                unique += size
                if on_disk is not None and on_disk.links > 1:
                    linked += size
            else:
                shared += size
        key = str(model.name)
        report.models.append(
            ModelStorage(
                name=key,
                display=model.display,
                id=model.id,
                logical=model.size,
                unique=unique,
                shared=shared,
                linked=linked,
                missing=missing,
                modified=model.modified.timestamp(),
                last_used=usage.get(key),
                digest=model.digest,
            )
        )
        report.logical_total += model.size

    report.referenced_total = sum(sizes.values())
    inodes: set[int] = set()
    for digest in scan.referenced:
        on_disk = blobs.get(digest)
        if on_disk is not None and on_disk.inode not in inodes:
            inodes.add(on_disk.inode)
            report.physical_total += on_disk.size
    report.orphan_bytes = sum(s.size for d, s in blobs.items() if d not in scan.referenced)
    report.partial_bytes = partial_bytes
    plan = plan_cleanup(store, partial_max_age_s=partial_max_age_s, now=moment, scan=scan)
    report.reclaimable_bytes = plan.reclaimable_bytes
    report.unreadable_manifests = len(plan.of_kind(CleanupKind.UNREADABLE_MANIFEST))
    report.seconds = time.perf_counter() - started
    return report
