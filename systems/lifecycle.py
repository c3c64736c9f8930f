"""Lifecycle set: inventory scans, removal (planned, confirmed, done) and verify requests."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import esper

from ecs_models.app.config import LocalModelConfig
from ecs_models.app.frame_state import InventoryState
from ecs_models.app.health_records import HealthRecords
from ecs_models.app.inventory import InventoryEntry, scan_inventory
from ecs_models.app.perf_log import PerformanceLog
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.lifecycle import (
    BackgroundJob,
    InventoryRefreshRequest,
    JobKind,
    ModelRemoveRequest,
    ModelVerifyRequest,
    RemovalPlanRequest,
)
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.panel import ModelManagerPanel, RemovalConfirmation
from ecs_models.explain import explain
from ecs_models.formatting import human_bytes
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.storage.health import ModelHealth, forget_health, record_verify
from ecs_models.store.model_store import ModelStore, RemovalPlan
from ecs_models.store.usage import forget
from ecs_models.store.verify import VerifyReport
from ecs_models.systems.notices import post_error, post_notice

_PROBLEM_WORDS = {
    "missing": "is missing",
    "size": "has the wrong size",
    "digest": "does not match its digest",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _remove_and_forget(store: ModelStore, names: tuple[str, ...]) -> RemovalPlan:
    """Remove, then drop the removed models' usage and health records (two small JSON files)."""
    plan = store.remove(names)
    removed = [str(model.name) for model in plan.models]
    # The models are gone either way: stale records only cost a line in a report.
    with contextlib.suppress(OSError):
        forget(store, removed)
        forget_health(store, removed)
    return plan


def _verify_and_keep(
    store: ModelStore, names: tuple[str, ...]
) -> tuple[list[VerifyReport], list[ModelHealth]]:
    """Verify, then keep each result as the model's last health check (its badge)."""
    reports = store.verify(names)
    return reports, record_verify(store, reports)


def _bytes_kept(plan: RemovalPlan) -> int:
    """Bytes of the planned models' blobs that stay: shared with other models, or pinned."""
    freed = {blob.digest for blob in plan.blobs}
    sizes = {layer.digest: layer.size for model in plan.models for layer in model.manifest.blobs}
    return sum(size for digest, size in sizes.items() if digest not in freed)


class LifecycleSystem(System):
    """Starts chores on the pool for each request and applies each finished chore's result."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.config = resources.get(LocalModelConfig)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.inventory = resources.get(InventoryState)
        self.perf_log = PerformanceLog.of(resources)
        self.health = HealthRecords.of(resources)

    def process(self, dt: float) -> None:
        self.health.poll()
        self._start_jobs()
        self._finish_jobs()

    # -- starting chores ---------------------------------------------------------------
    def _running(self, kind: JobKind) -> bool:
        return any(job.kind is kind for _, job in esper.get_component(BackgroundJob))

    def _submit(self, kind: JobKind, names: tuple[str, ...], fn: Any, *args: Any) -> None:
        future = self.pools.chores.submit(fn, *args)
        esper.create_entity(BackgroundJob(kind, future, names, time.monotonic()))

    def _start_jobs(self) -> None:
        for ent, _ in list(esper.get_component(InventoryRefreshRequest)):
            esper.delete_entity(ent)
            # One scan in flight is enough: a later request would read the same disk.
            if not self._running(JobKind.INVENTORY):
                self._submit(JobKind.INVENTORY, (), scan_inventory, self.store)
        for ent, plan_request in list(esper.get_component(RemovalPlanRequest)):
            esper.delete_entity(ent)
            names = plan_request.model_names
            self._submit(JobKind.REMOVAL_PLAN, names, self.store.plan_removal, names)
        for ent, remove_request in list(esper.get_component(ModelRemoveRequest)):
            esper.delete_entity(ent)
            names = remove_request.model_names
            self._submit(JobKind.REMOVE, names, _remove_and_forget, self.store, names)
        for ent, verify_request in list(esper.get_component(ModelVerifyRequest)):
            esper.delete_entity(ent)
            names = verify_request.model_names
            self._submit(JobKind.VERIFY, names, _verify_and_keep, self.store, names)

    # -- applying results --------------------------------------------------------------
    def _finish_jobs(self) -> None:
        for ent, job in list(esper.get_component(BackgroundJob)):
            if not job.future.done():
                continue
            esper.delete_entity(ent)
            error = job.future.exception()
            if error is not None:
                self._job_failed(job, error)
                continue
            result = job.future.result()
            if job.kind is JobKind.INVENTORY:
                self._apply_inventory(result)
            elif job.kind is JobKind.REMOVAL_PLAN:
                self._ask_to_confirm(job, result)
            elif job.kind is JobKind.REMOVE:
                self._apply_removal(result)
            elif job.kind is JobKind.VERIFY:
                self._report_verify(job, result)

    def _job_failed(self, job: BackgroundJob, error: BaseException) -> None:
        what = {
            JobKind.INVENTORY: "Reading the models directory failed",
            JobKind.REMOVAL_PLAN: "Planning the removal failed",
            JobKind.REMOVE: "Removing the models failed",
            JobKind.VERIFY: "Verifying the models failed",
        }[job.kind]
        detail = explain(error)
        post_error(f"{what}: {detail}")

    def _apply_inventory(self, entries: list[InventoryEntry]) -> None:
        wanted = {entry.metadata.name: entry for entry in entries}
        for ent, model in list(esper.get_component(InstalledModelEntry)):
            entry = wanted.pop(model.metadata.name, None)
            if entry is None:
                # Immediate: the UI set runs this same frame and must not list it any more.
                esper.delete_entity(ent, immediate=True)
            elif entry.metadata != model.metadata:
                model.metadata = entry.metadata
        for entry in wanted.values():
            esper.create_entity(InstalledModelEntry(entry.metadata))
        self.config.installed_models = {e.metadata.name: e.metadata for e in entries}
        for entry in entries:
            self.config.model_cache[entry.metadata.name] = entry.data
        self.inventory.loaded = True
        self.inventory.changed()
        # Whoever changed the store may have checked models too (`verify` in a terminal).
        self.health.look_again()

    def _ask_to_confirm(self, job: BackgroundJob, plan: RemovalPlan) -> None:
        for _, panel in esper.get_component(ModelManagerPanel):
            # The plan ran on a worker: if the person changed the selection meanwhile, it asks
            # about rows no longer highlighted, so it is dropped (Remove plans again).
            if set(job.model_names) != panel.selected_models:
                continue
            panel.pending_removal = RemovalConfirmation(
                job.model_names, plan.bytes_freed, _bytes_kept(plan)
            )

    def _apply_removal(self, plan: RemovalPlan) -> None:
        removed = {str(model.name) for model in plan.models}
        for ent, model in list(esper.get_component(InstalledModelEntry)):
            if model.metadata.name in removed:
                esper.delete_entity(ent, immediate=True)
        self.health.forget(removed)
        for name in removed:
            self.config.installed_models.pop(name, None)
            self.config.model_cache.pop(name, None)
        for _, panel in esper.get_component(ModelManagerPanel):
            panel.selected_models -= removed
            if panel.focused_model in removed:
                panel.focused_model = None
        self.inventory.changed()
        names = ", ".join(sorted(m.display for m in plan.models))
        post_notice(f"Removed {names} and freed {human_bytes(plan.bytes_freed)}.")

    def _report_verify(
        self, job: BackgroundJob, result: tuple[list[VerifyReport], list[ModelHealth]]
    ) -> None:
        reports, kept = result
        self.health.update(kept)  # the badges in every list change now
        for report in reports:
            stats = self.config.stats_for(str(report.model.name))
            stats.verify_seconds = report.seconds
            if report.seconds > 0:
                stats.verify_bytes_per_second = report.bytes_checked / report.seconds
                self.perf_log.record(
                    PerformanceRecord(
                        model=report.model.display,
                        kind="verify",
                        digest=report.model.digest,
                        verify_bytes_per_second=stats.verify_bytes_per_second,
                    )
                )
        broken = [r for r in reports if not r.ok]
        if not broken:
            post_notice(
                f"Verified {_plural(len(reports), 'model')}: every blob matches its digest."
            )
            return
        first = broken[0]
        problem = first.problems[0]
        blob = problem.digest.removeprefix("sha256:")[:12]
        what = _PROBLEM_WORDS.get(problem.kind, f"has a {problem.kind} problem")
        more = f" (and {_plural(len(broken) - 1, 'more model')} too)" if len(broken) > 1 else ""
        # The result is kept: the Storage tab's Repair fetches the blobs it found damaged.
        fix = "; Storage tab: Repair"
        post_error(f"{first.model.display} failed verification: blob {blob} {what}{more}{fix}.")
