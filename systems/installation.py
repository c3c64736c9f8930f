"""Installation set: requests become tasks, tasks run on the download pool, results become models."""

from __future__ import annotations

import threading
import time

import esper

from ecs_models.app.config import LocalModelConfig, ManagerSettings
from ecs_models.app.frame_state import InventoryState
from ecs_models.app.inventory import InventoryEntry, entry_of
from ecs_models.app.perf_log import PerformanceLog
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.installation import (
    InstallResult,
    ModelInstallationTask,
    ModelInstallRequest,
)
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.reachability import RegistryReachability
from ecs_models.errors import InvalidNameError, PullCancelledError
from ecs_models.explain import connection_problem, explain
from ecs_models.formatting import human_bytes, human_rate
from ecs_models.names import ModelName, parse_model_name
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.store.history import record_install
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.transfer.progress import PullProgress, PullState
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.transfer.ratelimit import RateLimiter

# A finished row stays this long so the person sees "done" before it goes.
DONE_LINGER_S = 3.0


def run_pull(
    name: ModelName,
    store: ModelStore,
    progress: PullProgress,
    cancel: threading.Event,
    options: PullOptions,
) -> InstallResult:
    """The worker's whole job: pull, then read the new model's metadata (both block)."""
    started = time.monotonic()
    model = pull_model(name, store, progress=progress, cancel=cancel, options=options)
    pulled = time.monotonic()
    record_install(store, model)  # the history the Discover area's updates list reads
    return InstallResult(entry_of(store, model), pulled - started, pulled)


def spawn_model_entity(entry: InventoryEntry, config: LocalModelConfig) -> None:
    """Add or refresh the entity of an installed model (one entity per model name)."""
    name = entry.metadata.name
    config.installed_models[name] = entry.metadata
    config.model_cache[name] = entry.data
    for _, existing in esper.get_component(InstalledModelEntry):
        if existing.metadata.name == name:
            existing.metadata = entry.metadata
            return
    esper.create_entity(InstalledModelEntry(entry.metadata))


class InstallationSystem(System):
    """Accepts install requests, keeps at most N pulls running, and finalizes finished ones."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.config = resources.get(LocalModelConfig)
        self.settings = resources.get(ManagerSettings)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.inventory = resources.get(InventoryState)
        self.perf_log = PerformanceLog.of(resources)
        self.reachability = resources.try_get(RegistryReachability)
        cap = self.config.resource_limits.bandwidth_cap
        # One limiter shared by every pull, so the cap holds for the sum, however many run.
        self.shared_limiter = RateLimiter(cap) if cap else None

    def process(self, dt: float) -> None:
        self._accept_requests()
        self._start_queued()
        self._poll_tasks()

    def _accept_requests(self) -> None:
        for ent, request in list(esper.get_component(ModelInstallRequest)):
            esper.remove_component(ent, ModelInstallRequest)
            try:
                name = parse_model_name(request.model_name, default_host=self.settings.default_host)
            except InvalidNameError as exc:
                post_error(str(exc))
                esper.delete_entity(ent)
                continue
            if self._already_active(name):
                post_notice(f"{name.display} is already being installed.")
                esper.delete_entity(ent)
                continue
            stopped = self._stopped_row(name)
            if stopped is not None:
                # Its row resumes from the partial, rather than a second row for the same name.
                stopped.restart()
                stopped.insecure = request.insecure or self.settings.insecure
                stopped.max_rate = request.max_rate
                stopped.typed = request.model_name
                esper.delete_entity(ent)
                continue
            task = ModelInstallationTask(
                model_name=str(name),
                progress=PullProgress(name.display),
                insecure=request.insecure or self.settings.insecure,
                max_rate=request.max_rate,
                typed=request.model_name,
            )
            esper.add_component(ent, task)

    def _already_active(self, name: ModelName) -> bool:
        for _, task in esper.get_component(ModelInstallationTask):
            if (
                not task.state.finished
                and task.name_known
                and parse_model_name(task.model_name).matches(name)
            ):
                return True
        return False

    @staticmethod
    def _stopped_row(name: ModelName) -> ModelInstallationTask | None:
        """A paused or failed download of `name` still listed."""
        for _, task in esper.get_component(ModelInstallationTask):
            if (
                task.state in (PullState.CANCELLED, PullState.FAILED)
                and task.name_known
                and parse_model_name(task.model_name).matches(name)
            ):
                return task
        return None

    def _start_queued(self) -> None:
        tasks = sorted(esper.get_component(ModelInstallationTask), key=lambda pair: pair[0])
        running = sum(1 for _, t in tasks if t.future is not None and not t.state.finished)
        limit = self.config.resource_limits.max_concurrent_downloads
        position = 0
        for _, task in tasks:
            if task.future is not None or task.state is not PullState.QUEUED:
                continue
            if running < limit:
                self._submit(task)
                running += 1
            else:
                position += 1
                task.queue_position = position

    def _submit(self, task: ModelInstallationTask) -> None:
        limits = self.config.resource_limits
        options = PullOptions(
            insecure=task.insecure,
            max_rate=task.max_rate,
            default_host=self.settings.default_host,
            streams=limits.download_streams,
            # Installs that would leave less than the configured headroom are refused up front.
            disk_margin_bytes=limits.min_free_disk,
            # A request's own max rate applies within the cap shared by all pulls.
            limiter=self.shared_limiter,
        )
        task.started_at = time.monotonic()
        task.queue_position = 0
        task.state = PullState.RESOLVING
        task.future = self.pools.downloads.submit(
            run_pull,
            parse_model_name(task.model_name),
            self.store,
            task.progress,
            task.cancel,
            options,
        )

    def _poll_tasks(self) -> None:
        now = time.monotonic()
        for ent, task in esper.get_component(ModelInstallationTask):
            if task.finished_at is not None:
                if task.state is PullState.DONE and now - task.finished_at > DONE_LINGER_S:
                    esper.delete_entity(ent)
                continue
            version = task.progress.version
            if version != task.seen_version:
                task.seen_version = version
                task.snapshot = task.progress.snapshot()
                # A finished state is ours to set, once the future (pull + metadata) is done.
                if task.future is not None and not task.snapshot.state.finished:
                    task.state = task.snapshot.state
            if task.future is not None and task.future.done():
                self._finish(task, now)

    def _finish(self, task: ModelInstallationTask, now: float) -> None:
        assert task.future is not None
        task.finished_at = now
        task.snapshot = snapshot = task.progress.snapshot()
        error = task.future.exception()
        name = parse_model_name(task.model_name)
        display = name.display
        # What Discard would delete: the partial downloads of the pull's blobs.
        task.digests = tuple(layer.digest for layer in snapshot.layers) or task.digests
        if error is None:
            result = task.future.result()
            entry = result.entry
            task.finished_at = result.finished_at
            task.state = PullState.DONE
            spawn_model_entity(entry, self.config)
            self.inventory.changed()
            seconds = max(1e-6, result.pull_seconds)
            stats = self.config.stats_for(entry.metadata.name)
            stats.download_seconds = seconds
            stats.download_bytes_per_second = entry.metadata.size / seconds
            # performance_stats history: appended in memory now, written on a worker.
            self.perf_log.record(
                PerformanceRecord(
                    model=entry.metadata.display,
                    kind="download",
                    digest=entry.metadata.digest,
                    download_bytes_per_second=stats.download_bytes_per_second,
                )
            )
            if self.reachability is not None:
                self.reachability.mark_online(name.host)
            # A re-pull that replaced a version reports what deleting its unused blobs freed.
            freed = task.snapshot.freed_bytes
            post_notice(
                f"Installed {display} ({human_bytes(entry.metadata.size)}, "
                f"{human_rate(entry.metadata.size / seconds)})"
                + (f"; freed {human_bytes(freed)} of the old version's layers." if freed else ".")
            )
        elif isinstance(error, PullCancelledError) or task.cancel.is_set():
            task.state = PullState.CANCELLED
            task.error = "Paused; the partial download stays resumable."
            post_notice(f"Paused {display}; Resume continues the download where it stopped.")
        else:
            task.state = PullState.FAILED
            # One plain sentence with the fix, whatever raised it (explain passes ours as is).
            text = explain(error, host=name.host)
            task.error = text
            if self.reachability is not None and connection_problem(error) is not None:
                self.reachability.mark_offline(name.host, text)
            post_error(text if display in text else f"{display}: {text}")
