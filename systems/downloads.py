"""Installation set, downloads list: pause, resume, retry, discard, dismiss, and start-up finds.

Pause cancels the worker, which keeps its resumable partial; Resume and Retry queue the same
row again (the engine resumes from `-partial-N`). Discard plans first, asks when it deletes
bytes, then deletes on the chore pool. At start-up the store is searched once for unfinished
downloads (transfer.unfinished), listed as paused rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import esper

from ecs_models.app.config import ManagerSettings
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.downloads import (
    ChoreKind,
    ClearFinishedRequest,
    DiscardAnswered,
    DownloadAction,
    DownloadActionRequest,
    DownloadChore,
    DownloadsState,
    PendingDiscard,
)
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.errors import InvalidNameError
from ecs_models.explain import explain
from ecs_models.formatting import human_bytes
from ecs_models.names import parse_model_name
from ecs_models.store.cleanup import CleanupPlan
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.downloads_jobs import discard_download, plan_discarding
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.transfer.progress import PullProgress, PullSnapshot, PullState
from ecs_models.transfer.unfinished import UnfinishedPull, find_unfinished, record_path


def task_display(task: ModelInstallationTask) -> str:
    """The model's short name, or the blob a nameless partial download is of."""
    if task.name_known:
        return parse_model_name(task.model_name).display
    digest = task.digests[0] if task.digests else "sha256:?"
    return f"blob {digest.removeprefix('sha256:')[:12]}"


def paused_task(found: UnfinishedPull, *, insecure: bool) -> ModelInstallationTask:
    """A row for a download found on disk: paused, showing the bytes already there."""
    display = parse_model_name(found.name).display if found.name else ""
    snapshot = PullSnapshot(
        model=display,
        state=PullState.CANCELLED,
        status="paused",
        layers=(),
        total=found.total,
        completed=found.present,
        bytes_per_second=0.0,
        eta_seconds=None,
        error=None,
    )
    task = ModelInstallationTask(
        model_name=found.name or "",
        progress=PullProgress(display),
        insecure=insecure,
        state=PullState.CANCELLED,
        snapshot=snapshot,
        from_disk=True,
        digests=found.digests,
        finished_at=time.monotonic(),
        typed=display,
    )
    task.error = (
        "Found unfinished on disk at start-up; Resume continues it where it stopped."
        if found.name
        else "A partial download found on disk that no pull record or installed model names; "
        "Discard deletes it and frees its space."
    )
    return task


class DownloadsSystem(System):
    """Carries out the downloads list's requests; the UI system shows the rows and questions."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.state = resources.get(DownloadsState)
        self.settings = resources.get(ManagerSettings)
        self._scanned = False

    def process(self, dt: float) -> None:
        if not self._scanned:
            self._scanned = True
            self._submit(ChoreKind.SCAN, -1, find_unfinished, self.store)
        for ent, request in list(esper.get_component(DownloadActionRequest)):
            esper.delete_entity(ent)
            self._act(request.task_entity, request.action)
        for ent, _ in list(esper.get_component(ClearFinishedRequest)):
            esper.delete_entity(ent)
            self._clear_finished()
        for ent, answer in list(esper.get_component(DiscardAnswered)):
            esper.delete_entity(ent)
            self._answered(answer.confirmed)
        self._finish_chores()

    # -- requests ----------------------------------------------------------------------
    def _act(self, target: int, action: DownloadAction) -> None:
        task = self._task(target)
        if task is None:
            return
        if action is DownloadAction.PAUSE:
            self._pause(task)
        elif action in (DownloadAction.RESUME, DownloadAction.RETRY):
            self._resume(target, task)
        elif action is DownloadAction.DISMISS:
            if task.state.finished:
                esper.delete_entity(target)
        elif (
            action is DownloadAction.DISCARD
            and task.state.finished
            and self.state.pending_discard is None  # one question at a time
        ):
            record = self._record(task)
            self._submit(ChoreKind.PLAN, target, plan_discarding, self.store, task.digests, record)

    @staticmethod
    def _pause(task: ModelInstallationTask) -> None:
        if task.state.finished:
            return
        if task.future is None:  # still queued: nothing runs, nothing to stop
            task.state = PullState.CANCELLED
            task.finished_at = time.monotonic()
            task.error = "Paused before it started."
        else:
            task.cancel.set()  # the worker stops at its next chunk, keeping the partial

    def _resume(self, target: int, task: ModelInstallationTask) -> None:
        if not task.state.finished or task.state is PullState.DONE or not task.name_known:
            return
        name = parse_model_name(task.model_name)
        for ent, other in esper.get_component(ModelInstallationTask):
            if (
                ent != target
                and not other.state.finished
                and other.name_known
                and parse_model_name(other.model_name).matches(name)
            ):
                post_notice(f"{name.display} is already being installed.")
                return
        task.restart()  # the installation system starts it when a download slot is free

    def _clear_finished(self) -> None:
        for ent, task in esper.get_component(ModelInstallationTask):
            if task.state in (PullState.DONE, PullState.FAILED):
                esper.delete_entity(ent)

    def _answered(self, confirmed: bool) -> None:
        pending = self.state.pending_discard
        self.state.ask(None)
        if pending is None or not confirmed:
            return
        task = self._task(pending.task_entity)
        if task is None or not task.state.finished:
            return  # resumed meanwhile: its partial is in use again
        self._submit(
            ChoreKind.DISCARD,
            pending.task_entity,
            discard_download,
            self.store,
            task.digests,
            self._record(task),
        )

    # -- chores ------------------------------------------------------------------------
    def _submit(
        self, kind: ChoreKind, target: int, fn: Callable[..., object], *args: object
    ) -> None:
        future = self.pools.chores.submit(fn, *args)
        esper.create_entity(DownloadChore(kind, future, target))

    def _finish_chores(self) -> None:
        for ent, chore in list(esper.get_component(DownloadChore)):
            if not chore.future.done():
                continue
            esper.delete_entity(ent)
            error = chore.future.exception()
            if error is not None:
                what = {
                    ChoreKind.SCAN: "Looking for unfinished downloads failed",
                    ChoreKind.PLAN: "Planning the discard failed",
                    ChoreKind.DISCARD: "Discarding the download failed",
                }[chore.kind]
                post_error(f"{what}: {explain(error)}")
            elif chore.kind is ChoreKind.SCAN:
                self._list_found(chore.future.result())
            elif chore.kind is ChoreKind.PLAN:
                self._planned(chore.task_entity, chore.future.result())
            else:
                self._discarded(chore.task_entity, chore.future.result())

    def _list_found(self, found: list[UnfinishedPull]) -> None:
        active = set()
        for _, task in esper.get_component(ModelInstallationTask):
            if task.name_known:
                active.add(parse_model_name(task.model_name).match_key)
        for pull in found:
            try:
                key = parse_model_name(pull.name).match_key if pull.name else None
            except InvalidNameError:
                continue
            if key is not None and key in active:
                continue  # the person already started it again this session
            esper.create_entity(paused_task(pull, insecure=self.settings.insecure))

    def _planned(self, target: int, plan: CleanupPlan) -> None:
        task = self._task(target)
        if task is None or not task.state.finished:
            return
        display = task_display(task)
        if not plan.reclaimable_bytes and not plan.reported:
            esper.delete_entity(target)
            post_notice(f"Discarded {display}: nothing of it was on disk.")
            return
        self.state.ask(PendingDiscard(target, display, plan))

    def _discarded(self, target: int, plan: CleanupPlan) -> None:
        task = self._task(target)
        display = task_display(task) if task is not None else "the download"
        freed = human_bytes(plan.reclaimable_bytes)
        if plan.reported:
            post_error(
                f"Discarded part of {display} ({freed} freed); a blob another download is "
                "using right now stays."
            )
        else:
            post_notice(f"Discarded the partial download of {display}: {freed} freed.")
        if task is not None:
            esper.delete_entity(target)

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _task(target: int) -> ModelInstallationTask | None:
        if not esper.entity_exists(target):
            return None
        return esper.try_component(target, ModelInstallationTask)

    def _record(self, task: ModelInstallationTask) -> Path | None:
        """Where the pull's record would be (the worker checks it exists: no disk in a frame)."""
        if not task.name_known:
            return None
        return record_path(self.store, parse_model_name(task.model_name))
