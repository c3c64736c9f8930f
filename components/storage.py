"""The Storage area's requests, running jobs and shared state (report, cleanup, disk)."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ecs_models.storage.disk import DiskStatus
from ecs_models.storage.report import StorageReport
from ecs_models.store.cleanup import DEFAULT_PARTIAL_MAX_AGE_S, CleanupPlan


class StorageJobKind(enum.StrEnum):
    REPORT = "report"  # storage report + cleanup dry run
    CLEAN = "cleanup"
    VERIFY = "verification"
    REPAIR = "repair"
    EXPORT = "export"
    IMPORT = "import"


# Jobs that read or write whole blobs: one at a time, with the progress bar and Cancel.
LONG_JOBS = frozenset(
    {StorageJobKind.VERIFY, StorageJobKind.REPAIR, StorageJobKind.EXPORT, StorageJobKind.IMPORT}
)


@dataclass(frozen=True, slots=True)
class StorageJobRequest:
    """Start one storage job; `model_names` empty means the whole store where that applies."""

    kind: StorageJobKind
    model_names: tuple[str, ...] = ()
    path: str = ""
    compress: bool = False
    cleanup_paths: tuple[str, ...] = ()  # CLEAN: only these dry-run items (empty: all of them)


@dataclass(slots=True)
class StorageCancelRequest:
    """Cancel the running long job (verify, repair, export, import)."""


class ByteCounter:
    """Bytes done of an expected total, added to from a worker thread."""

    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self.total = total
        self.done = 0

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.done, self.total


@dataclass(slots=True)
class StorageJob:
    """A storage job on a worker; `progress` returns (bytes done, bytes total) at any moment."""

    kind: StorageJobKind
    future: Future[Any]
    cancel: threading.Event
    label: str
    started_at: float
    progress: Callable[[], tuple[int, int]] | None = None
    model_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CleanConfirmation:
    """The Clean button was pressed: ask before deleting these items and bytes.

    `paths` are the picked items (empty: every removable item); `what` names them.
    """

    items: int
    bytes: int
    paths: tuple[str, ...] = ()
    what: str = ""


@dataclass(slots=True)
class StorageSettings:
    """Knobs of the Storage area; a host (or a test) may change them after building the plugin."""

    disk_interval_s: float = 2.0
    unused_days: float = 30.0
    partial_max_age_s: float = DEFAULT_PARTIAL_MAX_AGE_S


@dataclass(slots=True)
class StorageState:
    """What the Storage view shows; each part's version grows when that part changes.

    Health results are not here: the HealthRecords resource holds them for every area.
    """

    report: StorageReport | None = None
    cleanup: CleanupPlan | None = None
    report_version: int = 0
    report_stale: bool = True
    disk: DiskStatus | None = None
    disk_pending: Future[DiskStatus] | None = None
    next_disk_at: float = 0.0
    pending_clean: CleanConfirmation | None = None
    selected: frozenset[str] = frozenset()
    cleanup_selected: frozenset[str] = frozenset()  # paths of the picked cleanup items
    focused: str | None = None
    visible: bool = False

    def report_changed(self) -> None:
        self.report_version += 1
        self.report_stale = False
