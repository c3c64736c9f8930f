"""Install requests and the tasks that carry them out on the thread pool."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ecs_models.app.inventory import InventoryEntry
from ecs_models.transfer.progress import PullProgress, PullSnapshot, PullState


@dataclass(slots=True)
class ModelInstallRequest:
    """The user asked for a model; the installation system turns it into a task."""

    model_name: str
    insecure: bool = False
    max_rate: float | None = None


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What a finished install worker hands back: the model and how long its pull took."""

    entry: InventoryEntry
    pull_seconds: float  # timed on the worker: frames would round it up to the next poll
    finished_at: float  # time.monotonic()


@dataclass(slots=True)
class ModelInstallationTask:
    """One pull: queued until a download slot is free, then running on a worker thread."""

    model_name: str
    progress: PullProgress
    insecure: bool = False
    max_rate: float | None = None
    future: Future[InstallResult] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    state: PullState = PullState.QUEUED
    snapshot: PullSnapshot | None = None
    # progress.version when `snapshot` was taken: unchanged versions skip the copy.
    seen_version: int = -1
    error: str | None = None
    queue_position: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    # What the person typed, put back into the empty entry if the pull fails.
    typed: str = ""
    # Found unfinished on disk at start-up, rather than started in this session.
    from_disk: bool = False
    # The pull's blobs: what Discard deletes the partial downloads of.
    digests: tuple[str, ...] = ()

    @property
    def name_known(self) -> bool:
        """False for a partial blob no record or installed model names: it can only go."""
        return bool(self.model_name)

    def restart(self) -> None:
        """Resume or retry in place: the same row pulls again (resuming from its partial)."""
        self.progress = PullProgress(self.progress.model)
        self.cancel = threading.Event()
        self.future = None
        self.state = PullState.QUEUED
        self.snapshot = None
        self.seen_version = -1
        self.error = None
        self.queue_position = 0
        self.started_at = None
        self.finished_at = None
        self.from_disk = False

    @property
    def fraction(self) -> float:
        return self.snapshot.fraction if self.snapshot is not None else 0.0

    @property
    def bytes_done(self) -> int:
        return self.snapshot.completed if self.snapshot is not None else 0

    @property
    def bytes_total(self) -> int:
        return self.snapshot.total if self.snapshot is not None else 0

    @property
    def bytes_per_second(self) -> float:
        return self.snapshot.bytes_per_second if self.snapshot is not None else 0.0

    @property
    def eta_seconds(self) -> float | None:
        return self.snapshot.eta_seconds if self.snapshot is not None else None
