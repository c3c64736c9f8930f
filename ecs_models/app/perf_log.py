"""The app's performance_stats log: records written off-frame, history kept in memory for the UI."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from ecs_models.app.resources import Resources
from ecs_models.app.workers import WorkerPools
from ecs_models.runtime import perfstats
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.store.model_store import ModelStore

_Key = tuple[str, str, str]


def _key(entry: PerformanceRecord) -> _Key:
    return (entry.model.lower(), entry.kind, entry.recorded_at)


@dataclass(slots=True)
class PerformanceLog:
    """History per model display name (oldest first); `version` grows with every change.

    The file is read once on a worker; records the app makes are appended here at once and
    written on a worker, so the UI never waits for the disk and never misses its own record.
    """

    store: ModelStore
    submit: Callable[..., Future[object]]
    history: dict[str, list[PerformanceRecord]] = field(default_factory=dict)
    version: int = 0
    loaded: bool = False
    _loading: Future[list[PerformanceRecord]] | None = None
    _made: list[PerformanceRecord] = field(default_factory=list)

    @classmethod
    def of(cls, resources: Resources) -> PerformanceLog:
        """The plugin's log, created on first use (systems and areas share it)."""
        log = resources.try_get(cls)
        if log is None:
            pools = resources.get(WorkerPools)
            executor: Executor = pools.chores
            log = cls(resources.get(ModelStore), executor.submit)
            resources.insert(log)
        return log

    def record(self, entry: PerformanceRecord) -> None:
        self._add(entry)
        self._made.append(entry)
        self.submit(perfstats.record, self.store, entry)

    def poll(self) -> None:
        """Start reading the file once, and merge it when the read is done; never blocks."""
        if self.loaded:
            return
        if self._loading is None:
            self._loading = self.submit(lambda: list(perfstats.records(self.store)))  # type: ignore[assignment]
            return
        if not self._loading.done():
            return
        loading, self._loading = self._loading, None
        self.loaded = True
        ours = {_key(e) for e in self._made}
        merged: dict[str, list[PerformanceRecord]] = {}
        for entry in [] if loading.exception() else loading.result():
            if _key(entry) not in ours:  # our own records may or may not be on disk yet
                merged.setdefault(entry.model.lower(), []).append(entry)
        for entry in self._made:
            merged.setdefault(entry.model.lower(), []).append(entry)
        for records in merged.values():
            records.sort(key=lambda e: e.recorded_at)
        self.history = merged
        self.version += 1

    def records_of(self, display: str) -> list[PerformanceRecord]:
        return self.history.get(display.lower(), [])

    def _add(self, entry: PerformanceRecord) -> None:
        self.history.setdefault(entry.model.lower(), []).append(entry)
        self.version += 1
