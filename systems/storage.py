"""Lifecycle set, Storage area: report, cleanup, verify, repair, export/import jobs and disk samples."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import esper

from ecs_models.app.config import LocalModelConfig, ManagerSettings
from ecs_models.app.frame_state import InventoryState
from ecs_models.app.health_records import HealthRecords
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.lifecycle import InventoryRefreshRequest
from ecs_models.components.storage import (
    LONG_JOBS,
    ByteCounter,
    StorageCancelRequest,
    StorageJob,
    StorageJobKind,
    StorageJobRequest,
    StorageSettings,
    StorageState,
)
from ecs_models.errors import EcsModelsError, OperationCancelledError, PullCancelledError
from ecs_models.explain import explain
from ecs_models.storage.archive import ExportResult, ImportResult, export_model, import_archive
from ecs_models.storage.disk import DiskLimits, DiskSampler
from ecs_models.storage.health import HealthProgress, HealthReport, check_health
from ecs_models.storage.repair import RepairResult, repair
from ecs_models.storage.report import StorageReport, storage_report
from ecs_models.store.cleanup import CleanupPlan, clean, plan_cleanup
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.pull import PullOptions
from ecs_models.ui.storage import text as storage_text


@dataclass(frozen=True, slots=True)
class StorageSnapshot:
    """One worker's reading of the store: the report and the cleanup dry run."""

    report: StorageReport
    cleanup: CleanupPlan


def read_storage(store: ModelStore, settings: StorageSettings) -> StorageSnapshot:
    """Stat-only (no hashing); blocking, so it runs on a worker."""
    report = storage_report(
        store, unused_days=settings.unused_days, partial_max_age_s=settings.partial_max_age_s
    )
    plan = plan_cleanup(store, partial_max_age_s=settings.partial_max_age_s)
    return StorageSnapshot(report, plan)


def _import(
    store: ModelStore, path: Path, counter: ByteCounter, cancel: threading.Event, **kw: Any
) -> ImportResult:
    # The archive's size is what the bar measures against: blobs already in the store are
    # skipped unread, so the bar may finish early rather than stall. A missing file: import
    # says why in one sentence.
    with contextlib.suppress(OSError):
        counter.total = path.expanduser().stat().st_size
    return import_archive(store, path, on_bytes=counter.add, cancel=cancel, **kw)


class StorageSystem(System):
    """Starts storage jobs for requests, polls them without blocking, and samples the disk."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.store = resources.get(ModelStore)
        self.config = resources.get(LocalModelConfig)
        self.manager_settings = resources.get(ManagerSettings)
        self.settings = resources.get(StorageSettings)
        self.state = resources.get(StorageState)
        self.pools = resources.get(WorkerPools)
        self.inventory = resources.get(InventoryState)
        self.health = HealthRecords.of(resources)
        self.sampler = DiskSampler(
            self.store, self._limits(), interval_s=self.settings.disk_interval_s
        )
        self._cancels: set[threading.Event] = set()
        self._inventory_seen = self.inventory.version
        self._report_again = False
        self._force_disk = False

    def _limits(self) -> DiskLimits:
        return DiskLimits.from_resource_limits(self.config.resource_limits)

    # -- the frame -------------------------------------------------------------------------
    def process(self, dt: float) -> None:
        self._cancel_requests()
        self._watch_inventory()
        self._start_jobs()
        self._finish_jobs()
        self._sample_disk()

    def close(self) -> None:
        """Stop running jobs at their next chunk; plugin.close() then waits for the pools."""
        for cancel in list(self._cancels):
            cancel.set()

    def _cancel_requests(self) -> None:
        requests = esper.get_component(StorageCancelRequest)
        if not requests:
            return
        for ent, _ in list(requests):
            esper.delete_entity(ent)
        for _, job in esper.get_component(StorageJob):
            if job.kind in LONG_JOBS:
                job.cancel.set()
                job.future.cancel()  # only succeeds when it has not started

    def _watch_inventory(self) -> None:
        # Installs and removals (from any tab) change the report: mark it stale, and refresh
        # now only when someone is looking.
        if self.inventory.version != self._inventory_seen:
            self._inventory_seen = self.inventory.version
            self.state.report_stale = True
            if self.state.visible:
                self.request(StorageJobKind.REPORT)

    @staticmethod
    def request(kind: StorageJobKind, *names: str) -> None:
        esper.create_entity(StorageJobRequest(kind, tuple(names)))

    # -- starting --------------------------------------------------------------------------
    def _running(self, kinds: frozenset[StorageJobKind]) -> StorageJob | None:
        for _, job in esper.get_component(StorageJob):
            if job.kind in kinds:
                return job
        return None

    def _start_jobs(self) -> None:
        requests = esper.get_component(StorageJobRequest)
        if not requests:
            return
        for ent, request in list(requests):
            esper.delete_entity(ent)
            if request.kind is StorageJobKind.REPORT:
                self._start_report()
            elif request.kind is StorageJobKind.CLEAN:
                self._start_clean(request.cleanup_paths)
            else:
                self._start_long(request)

    def _start_report(self) -> None:
        if self._running(frozenset({StorageJobKind.REPORT})) is not None:
            self._report_again = True  # the store changed while it was read: read it again
            return
        future = self.pools.chores.submit(read_storage, self.store, self.settings)
        self._add(StorageJobKind.REPORT, future, threading.Event(), "Reading the store")

    def _start_clean(self, paths: tuple[str, ...]) -> None:
        if self._running(frozenset({StorageJobKind.CLEAN})) is not None:
            return
        cancel = threading.Event()
        future = self.pools.chores.submit(
            clean,
            self.store,
            partial_max_age_s=self.settings.partial_max_age_s,
            cancel=cancel,
            only={Path(p) for p in paths} if paths else None,
        )
        self._add(StorageJobKind.CLEAN, future, cancel, "Cleaning up")

    def _start_long(self, request: StorageJobRequest) -> None:
        busy = self._running(LONG_JOBS)
        if busy is not None:
            post_error(f"Wait for the running {busy.kind.value} to finish, or cancel it.")
            return
        cancel = threading.Event()
        names = request.model_names
        host = self.manager_settings.default_host
        submit = self.pools.long_jobs.submit
        progress: Callable[[], tuple[int, int]]
        if request.kind is StorageJobKind.VERIFY:
            meter = HealthProgress()
            future: Future[Any] = submit(
                check_health,
                self.store,
                list(names) or None,
                progress=meter,
                cancel=cancel,
                default_host=host,
            )
            progress = lambda: meter.snapshot()[:2]  # noqa: E731
            label = "Verifying " + (storage_text.plural(len(names), "model") if names else "all")
        elif request.kind is StorageJobKind.REPAIR:
            pull = PullProgress("repair")
            saved = self.health.results
            before = HealthReport([saved[n] for n in names if n in saved])
            options = PullOptions(insecure=self.manager_settings.insecure, default_host=host)
            future = submit(
                repair,
                self.store,
                report=before,
                progress=pull,
                cancel=cancel,
                options=options,
                default_host=host,
            )
            progress = lambda: _pull_bytes(pull)  # noqa: E731
            label = "Repairing " + storage_text.plural(len(names), "model")
        elif request.kind is StorageJobKind.EXPORT:
            name = names[0]
            model = self.config.installed_models.get(name)
            counter = ByteCounter(model.size if model is not None else 0)
            future = submit(
                export_model,
                self.store,
                name,
                Path(request.path).expanduser(),
                compress="zstd" if request.compress else None,
                on_bytes=counter.add,
                cancel=cancel,
                default_host=host,
            )
            progress = counter.read
            label = "Exporting " + (model.display if model is not None else name)
        else:
            counter = ByteCounter(0)
            future = submit(
                _import,
                self.store,
                Path(request.path),
                counter,
                cancel,
                limits=self.config.resource_limits,
                default_host=host,
            )
            progress = counter.read
            label = f"Importing {Path(request.path).name}"
        self._add(request.kind, future, cancel, label, progress, names)

    def _add(
        self,
        kind: StorageJobKind,
        future: Future[Any],
        cancel: threading.Event,
        label: str,
        progress: Callable[[], tuple[int, int]] | None = None,
        names: tuple[str, ...] = (),
    ) -> None:
        self._cancels.add(cancel)
        esper.create_entity(
            StorageJob(kind, future, cancel, label, time.monotonic(), progress, names)
        )

    # -- finishing -------------------------------------------------------------------------
    def _finish_jobs(self) -> None:
        for ent, job in list(esper.get_component(StorageJob)):
            if not job.future.done():
                continue
            esper.delete_entity(ent)
            self._cancels.discard(job.cancel)
            if job.future.cancelled():
                post_notice(f"The {job.kind.value} was cancelled before it started.")
                continue
            error = job.future.exception()
            if error is not None:
                self._failed(job, error)
            else:
                self._apply(job, job.future.result())

    def _failed(self, job: StorageJob, error: BaseException) -> None:
        if isinstance(error, OperationCancelledError | PullCancelledError):
            post_notice(f"The {job.kind.value} was cancelled; nothing half-done was kept.")
        elif isinstance(error, EcsModelsError):
            post_error(f"The {job.kind.value} failed: {str(error).rstrip('.')}.")
        else:
            post_error(f"The {job.kind.value} failed: {explain(error)}")
        if job.kind in (StorageJobKind.REPAIR, StorageJobKind.CLEAN, StorageJobKind.IMPORT):
            self._store_changed()
        elif job.kind is StorageJobKind.REPORT and self._report_again:
            self._report_again = False
            self.request(StorageJobKind.REPORT)

    def _apply(self, job: StorageJob, result: Any) -> None:
        kind = job.kind
        if kind is StorageJobKind.REPORT:
            self._apply_report(result)
        elif kind is StorageJobKind.CLEAN:
            post_notice(storage_text.clean_notice(result))
            self._store_changed()
        elif kind is StorageJobKind.VERIFY:
            self._apply_verify(job, result)
        elif kind is StorageJobKind.REPAIR:
            self._apply_repair(result)
        elif kind is StorageJobKind.EXPORT:
            self._apply_export(result)
        else:
            self._apply_import(result)

    def _apply_report(self, snapshot: StorageSnapshot) -> None:
        self.state.report = snapshot.report
        self.state.cleanup = snapshot.cleanup
        self.state.report_changed()
        self.health.look_again()  # a refresh also re-reads the saved health results
        if self._report_again:
            self._report_again = False
            self.request(StorageJobKind.REPORT)

    def _apply_verify(self, job: StorageJob, report: HealthReport) -> None:
        # check_health saved them; the badges in every list change now.
        self.health.update(report.models, replace_all=not job.model_names)
        _post(*storage_text.verify_notice(report))

    def _apply_repair(self, result: RepairResult) -> None:
        if result.after is not None:
            self.health.update(result.after.models)
        _post(*storage_text.repair_notice(result))
        self._store_changed()

    def _apply_export(self, result: ExportResult) -> None:
        post_notice(storage_text.export_notice(result))
        if _same_filesystem(result.path, self.store.root):
            self._force_disk = True

    def _apply_import(self, result: ImportResult) -> None:
        post_notice(storage_text.import_notice(result))
        esper.create_entity(InventoryRefreshRequest())
        self._store_changed()

    def _store_changed(self) -> None:
        self.request(StorageJobKind.REPORT)
        self._force_disk = True

    # -- disk ------------------------------------------------------------------------------
    def _sample_disk(self) -> None:
        state = self.state
        pending = state.disk_pending
        if pending is not None:
            if not pending.done():
                return
            state.disk_pending = None
            if not pending.cancelled() and pending.exception() is None:
                state.disk = pending.result()
        # Only the Storage view draws the gauge: sample while it is on show (or when forced).
        now = time.monotonic()
        if not (state.visible or self._force_disk):
            return
        if now < state.next_disk_at and not self._force_disk:
            return
        state.next_disk_at = now + self.settings.disk_interval_s
        self.sampler.set_limits(self._limits())  # the host may change ResourceLimits live
        self._force_disk = False
        state.disk_pending = self.pools.chores.submit(self.sampler.sample, force=True)

    def refresh_disk(self) -> None:
        self._force_disk = True


def _post(text: str, error: bool) -> None:
    if error:
        post_error(text)
    else:
        post_notice(text)


def _pull_bytes(progress: PullProgress) -> tuple[int, int]:
    snap = progress.snapshot()
    return snap.completed, snap.total


def _same_filesystem(path: Path, root: Path) -> bool:
    try:
        return os.stat(path).st_dev == os.stat(root).st_dev
    except OSError:
        return False
