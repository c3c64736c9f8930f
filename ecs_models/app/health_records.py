"""Each model's last health check, kept in the store's state dir and read off-frame for badges.

Every path that checks a model saves its result (`storage.health.save_health`): `verify` and
`health` on the command line, the Models tab's Verify, the Storage tab's Verify and Repair.
This resource holds what the file says, re-read on a worker whenever the file changes (so a
`verify` run in a terminal shows up in an open window), plus the results the app's own jobs
hand over the moment they finish.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from ecs_models.app.resources import Resources
from ecs_models.app.workers import WorkerPools
from ecs_models.storage.health import HEALTH_FILE, ModelHealth, load_health
from ecs_models.store.model_store import ModelStore

# How often a worker stats the file to notice a check made by another process.
LOOK_INTERVAL_S = 2.0

# (inode, size, mtime in ns) of the file as last read; None when it did not exist.
_Stamp = tuple[int, int, int] | None
_Read = tuple[_Stamp, float, dict[str, ModelHealth]]


def _stamp(store: ModelStore) -> _Stamp:
    try:
        stat = (store.state_dir / HEALTH_FILE).stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def read_if_changed(store: ModelStore, seen: _Stamp, first: bool) -> _Read | None:
    """On a worker: (stamp, file mtime, results) when the file changed since `seen`, else None."""
    stamp = _stamp(store)
    if stamp == seen and not first:
        return None
    return stamp, (stamp[2] / 1e9 if stamp else 0.0), load_health(store)


@dataclass(slots=True)
class HealthRecords:
    """Full model name -> its last health check; `version` grows with every change."""

    store: ModelStore
    submit: Callable[..., Future[Any]]
    results: dict[str, ModelHealth] = field(default_factory=dict)
    version: int = 0
    loaded: bool = False
    _reading: Future[_Read | None] | None = None
    _stamp: _Stamp = None
    _next_look: float = 0.0

    @classmethod
    def of(cls, resources: Resources) -> HealthRecords:
        """The plugin's records, created on first use (the Models and Storage areas share them)."""
        records = resources.try_get(cls)
        if records is None:
            executor: Executor = resources.get(WorkerPools).chores
            records = cls(resources.get(ModelStore), executor.submit)
            resources.insert(records)
        return records

    def verdict(self, name: str, digest: str | None) -> ModelHealth | None:
        """The model's last check, or None when it has none or its manifest changed since
        (a re-pulled tag is other bytes: the old verdict says nothing about them)."""
        health = self.results.get(name)
        if health is None or digest is None or health.digest != digest:
            return None
        return health

    # -- reading the file ----------------------------------------------------------------
    def poll(self, now: float | None = None) -> None:
        """Start a look at the file every LOOK_INTERVAL_S, merge a finished read; never blocks."""
        reading = self._reading
        if reading is not None:
            if not reading.done():
                return
            self._reading = None
            got = None
            with contextlib.suppress(Exception):  # an unreadable file: keep what we have
                got = reading.result()
            if got is not None:
                self._merge(*got)
            self.loaded = True
            return
        moment = time.monotonic() if now is None else now
        if moment < self._next_look:
            return
        self._next_look = moment + LOOK_INTERVAL_S
        self._reading = self.submit(read_if_changed, self.store, self._stamp, not self.loaded)

    def look_again(self) -> None:
        """Look at the file at the next poll (the store changed, or someone refreshed)."""
        self._next_look = 0.0

    def _merge(self, stamp: _Stamp, written_at: float, saved: dict[str, ModelHealth]) -> None:
        self._stamp = stamp
        merged = dict(saved)
        for name, ours in self.results.items():
            theirs = saved.get(name)
            # A result newer than the file (its save raced this read) stays until the next read.
            if (theirs is None and ours.checked_at > written_at) or (
                theirs is not None and ours.checked_at > theirs.checked_at
            ):
                merged[name] = ours
        if merged != self.results:
            self.results = merged
            self.version += 1

    # -- results the app's own jobs made (already saved by the job) ------------------------
    def update(self, results: Iterable[ModelHealth], *, replace_all: bool = False) -> None:
        """Show new results at once; a whole-store check also drops models it did not list."""
        fresh = {result.name: result for result in results}
        merged = fresh if replace_all else {**self.results, **fresh}
        if merged != self.results:
            self.results = merged
            self.version += 1

    def forget(self, names: Iterable[str]) -> None:
        """Removed models: their results go (the removal job drops them from the file too)."""
        drop = set(names) & self.results.keys()
        if drop:
            self.results = {k: v for k, v in self.results.items() if k not in drop}
            self.version += 1
