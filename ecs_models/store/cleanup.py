"""Store cleanup: orphaned blobs, stale partials, empty manifest dirs, unreadable manifests.

The one litter planner: `cleanup` deletes every removable kind, `prune` (ModelStore.prune)
the same plan limited to PRUNE_KINDS. Plan first, then delete what the plan lists.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecs_models.errors import OperationCancelledError
from ecs_models.manifest import BLOB_FILE_RE, PARTIAL_FILE_RE
from ecs_models.store.scan import StoreScan, scan_store

if TYPE_CHECKING:
    from ecs_models.store.model_store import ModelStore

DEFAULT_PARTIAL_MAX_AGE_S = 3600.0
# Our own leftovers in the state dir: temporary files and import staging directories.
_STATE_TEMP_RE = re.compile(r".*\.tmp|import-.*")


class CleanupKind(enum.Enum):
    ORPHAN_BLOB = "orphan_blob"
    STALE_PARTIAL = "stale_partial"
    EMPTY_DIR = "empty_dir"
    STALE_TEMP = "stale_temp"
    UNREADABLE_MANIFEST = "unreadable_manifest"  # reported only: it may be a user's to fix


ALL_KINDS = frozenset(CleanupKind)
# What `prune` deletes: blobs no manifest needs and downloads nobody finishes.
PRUNE_KINDS = frozenset({CleanupKind.ORPHAN_BLOB, CleanupKind.STALE_PARTIAL})


@dataclass(frozen=True, slots=True)
class CleanupItem:
    """One thing cleanup would delete (or only reports), with the bytes deleting it frees."""

    kind: CleanupKind
    path: Path
    bytes: int
    detail: str
    removable: bool = True
    digest: str | None = None
    extra_paths: tuple[Path, ...] = ()  # deleted with `path`: a partial's `-partial-N` files

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "path": str(self.path),
            "bytes": self.bytes,
            "removable": self.removable,
            "digest": self.digest,
            "detail": self.detail,
        }


@dataclass(slots=True)
class CleanupPlan:
    items: list[CleanupItem] = field(default_factory=list)
    dry_run: bool = True

    @property
    def removable(self) -> list[CleanupItem]:
        return [i for i in self.items if i.removable]

    @property
    def reported(self) -> list[CleanupItem]:
        return [i for i in self.items if not i.removable]

    @property
    def reclaimable_bytes(self) -> int:
        return sum(i.bytes for i in self.items if i.removable)

    def bytes_of(self, kind: CleanupKind) -> int:
        return sum(i.bytes for i in self.items if i.kind is kind)

    def of_kind(self, kind: CleanupKind) -> list[CleanupItem]:
        return [i for i in self.items if i.kind is kind]

    def to_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "reclaimable_bytes": self.reclaimable_bytes,
            "items": [i.to_json() for i in self.items],
        }


def _allocated(stat: os.stat_result) -> int:
    # Partials are sparse until filled: what deleting frees is the allocated size.
    return min(stat.st_size, stat.st_blocks * 512) if stat.st_blocks else 0


def being_downloaded(store: ModelStore, digest: str) -> bool:
    """True while a pull (here or in another process) holds the blob's download lock."""
    probe = store.blob_lock(digest)
    if probe.try_acquire():
        probe.release()
        return False
    return True


def plan_cleanup(
    store: ModelStore,
    *,
    partial_max_age_s: float = DEFAULT_PARTIAL_MAX_AGE_S,
    now: float | None = None,
    scan: StoreScan | None = None,
    kinds: Collection[CleanupKind] = ALL_KINDS,
) -> CleanupPlan:
    """List what cleanup would do, touching nothing. Reads manifests and stats blobs only.

    `scan` may be passed by a caller that has just scanned the manifests, to save reading
    them again; `kinds` limits the plan (prune passes PRUNE_KINDS).
    """
    moment = time.time() if now is None else now
    plan = CleanupPlan()
    scan = scan_store(store) if scan is None else scan
    for bad in scan.unreadable:
        plan.items.append(
            CleanupItem(CleanupKind.UNREADABLE_MANIFEST, bad.path, 0, bad.reason, removable=False)
        )
    refs = scan.referenced
    keep = refs | store.pinned_digests()
    _plan_blobs(store, plan, keep, refs, moment, partial_max_age_s)
    _plan_empty_dirs(store, plan)
    _plan_state_temps(store, plan, moment, partial_max_age_s)
    plan.items = [item for item in plan.items if item.kind in kinds]
    return plan


def _plan_blobs(
    store: ModelStore,
    plan: CleanupPlan,
    keep: set[str],
    refs: set[str],
    now: float,
    max_age: float,
) -> None:
    partials: dict[str, list[tuple[Path, os.stat_result]]] = {}
    with os.scandir(store.blobs_dir) as entries:
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            blob = BLOB_FILE_RE.fullmatch(entry.name)
            if blob is not None:
                digest = "sha256:" + blob.group(1)
                if digest not in keep:
                    size = entry.stat(follow_symlinks=False).st_size
                    plan.items.append(
                        CleanupItem(
                            CleanupKind.ORPHAN_BLOB,
                            Path(entry.path),
                            size,
                            "no manifest references it",
                            digest=digest,
                        )
                    )
                continue
            partial = PARTIAL_FILE_RE.fullmatch(entry.name)
            if partial is not None:  # anything else in blobs/ is not ours to judge
                with contextlib.suppress(FileNotFoundError):
                    stat = entry.stat(follow_symlinks=False)
                    partials.setdefault("sha256:" + partial.group(1), []).append(
                        (Path(entry.path), stat)
                    )
    for digest, files in sorted(partials.items()):
        newest = max(stat.st_mtime for _, stat in files)
        if now - newest < max_age or digest in keep - refs:
            continue  # young, or pinned by an operation in flight
        if digest in refs and not store.blob_path(digest).exists():
            continue  # a referenced blob is missing: this partial is what a repair resumes
        if being_downloaded(store, digest):
            continue
        files.sort(key=lambda f: f[0].name)
        main = store.partial_path(digest)
        total = sum(_allocated(stat) if path == main else stat.st_size for path, stat in files)
        age_h = (now - newest) / 3600
        plan.items.append(
            CleanupItem(
                CleanupKind.STALE_PARTIAL,
                files[0][0],
                total,
                f"an unfinished download untouched for {age_h:.1f} h",
                digest=digest,
                extra_paths=tuple(path for path, _ in files[1:]),
            )
        )


def _plan_empty_dirs(store: ModelStore, plan: CleanupPlan) -> None:
    """Topmost directories under manifests/ that hold no file at any depth."""
    empty: set[str] = set()
    for directory, subdirs, files in os.walk(store.manifests_dir, topdown=False):
        if directory == str(store.manifests_dir):
            continue
        if not files and all(os.path.join(directory, d) in empty for d in subdirs):
            empty.add(directory)
    for directory in sorted(empty):
        if os.path.dirname(directory) not in empty:
            plan.items.append(
                CleanupItem(
                    CleanupKind.EMPTY_DIR, Path(directory), 0, "an empty manifest directory"
                )
            )


def _plan_state_temps(store: ModelStore, plan: CleanupPlan, now: float, max_age: float) -> None:
    with contextlib.suppress(OSError), os.scandir(store.state_dir) as entries:
        for entry in entries:
            if not _STATE_TEMP_RE.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                stat = entry.stat(follow_symlinks=False)
                if now - stat.st_mtime < max_age:
                    continue
                size = _tree_size(Path(entry.path)) if entry.is_dir() else stat.st_size
                plan.items.append(
                    CleanupItem(
                        CleanupKind.STALE_TEMP,
                        Path(entry.path),
                        size,
                        "a temporary file an interrupted operation left",
                    )
                )


def _tree_size(path: Path) -> int:
    total = 0
    for directory, _subdirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


def clean(
    store: ModelStore,
    *,
    dry_run: bool = False,
    partial_max_age_s: float = DEFAULT_PARTIAL_MAX_AGE_S,
    on_item: Callable[[CleanupItem], None] | None = None,
    cancel: threading.Event | None = None,
    only: Collection[Path] | None = None,
    kinds: Collection[CleanupKind] = ALL_KINDS,
) -> CleanupPlan:
    """Delete what `plan_cleanup` lists as removable; unreadable manifests are only reported.

    `only` limits the deletion to the items at those paths (the ones a person picked from a
    dry run); an item that is no longer litter when planned again is left alone all the same.

    Planned and carried out under the store lock, so no manifest appears meanwhile; pins are
    read again just before deleting, for installs that started while the plan was made.
    Returns the plan with `dry_run` False once applied; `on_item` hears each deletion.
    """
    if dry_run:
        return plan_cleanup(store, partial_max_age_s=partial_max_age_s, kinds=kinds)
    with store.lock():
        plan = plan_cleanup(store, partial_max_age_s=partial_max_age_s, kinds=kinds)
        pinned = store.pinned_digests()
        done: list[CleanupItem] = []
        for item in plan.items:
            if cancel is not None and cancel.is_set():
                plan.items = done + [i for i in plan.items if not i.removable]
                raise OperationCancelledError("Cleanup was cancelled; some items remain.")
            if item.removable and only is not None and item.path not in only:
                continue  # not picked: neither deleted nor reported as deleted
            if item.removable and not (item.digest is not None and item.digest in pinned):
                _delete(store, item)
                if on_item is not None:
                    on_item(item)
                done.append(item)
            elif not item.removable:
                done.append(item)
        plan.items = done
    plan.dry_run = False
    return plan


def _delete(store: ModelStore, item: CleanupItem) -> None:
    if item.kind is CleanupKind.EMPTY_DIR:
        # rmdir bottom-up only: if a file appeared meanwhile it stays, and so do its parents.
        for directory, _subdirs, _files in os.walk(item.path, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        return
    if item.kind is CleanupKind.STALE_TEMP and item.path.is_dir():
        shutil.rmtree(item.path, ignore_errors=True)
        return
    for path in (item.path, *item.extra_paths):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def plan_discard(
    store: ModelStore, digests: Collection[str], *, extra: Collection[Path] = ()
) -> CleanupPlan:
    """The partial downloads of these blobs, and the bytes deleting them frees; touches nothing.

    What a person discards from the downloads list: the `-partial` data file and its
    `-partial-N` state, plus `extra` files of the same download (its pull record). Bytes are
    what the filesystem allocated (a partial is sparse until filled, and a small state file
    still takes a block), so the figure is what the disk gets back. A blob another pull is
    downloading right now is reported, not planned.
    """
    plan = CleanupPlan()
    for digest in sorted(set(digests)):
        main = store.partial_path(digest)
        files = sorted(main.parent.glob(main.name + "*"), key=lambda p: p.name)
        files = [p for p in files if PARTIAL_FILE_RE.fullmatch(p.name)]
        if not files:
            continue
        if being_downloaded(store, digest):
            plan.items.append(
                CleanupItem(
                    CleanupKind.STALE_PARTIAL,
                    main,
                    0,
                    "another download is using it right now",
                    removable=False,
                    digest=digest,
                )
            )
            continue
        plan.items.append(
            CleanupItem(
                CleanupKind.STALE_PARTIAL,
                files[0],
                sum(_blocks(p) for p in files),
                "a partial download",
                digest=digest,
                extra_paths=tuple(files[1:]),
            )
        )
    for path in extra:
        if path.exists():
            plan.items.append(
                CleanupItem(CleanupKind.STALE_TEMP, path, _blocks(path), "its download record")
            )
    return plan


def discard_partials(
    store: ModelStore, digests: Collection[str], *, extra: Collection[Path] = ()
) -> CleanupPlan:
    """Delete what `plan_discard` lists, planned again under the store lock; returns it applied.

    A blob whose download starts meanwhile holds its lock, so it is reported and kept.
    """
    with store.lock():
        plan = plan_discard(store, digests, extra=extra)
        for item in plan.removable:
            _delete(store, item)
    plan.dry_run = False
    return plan


def _blocks(path: Path) -> int:
    try:
        return path.lstat().st_blocks * 512
    except FileNotFoundError:
        return 0
