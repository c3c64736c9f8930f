"""Remote systems: pushes, mirrors and host pulls on the download pool; host list and survey."""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

import esper

from ecs_models.app.config import ManagerSettings
from ecs_models.app.recent_destinations import remember, save_recent
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.remote import (
    HostAction,
    HostRequest,
    HostSurveyRequest,
    RemoteCancelRequest,
    RemoteTransfer,
    RemoteTransferRequest,
    TransferKind,
)
from ecs_models.components.remote_state import SURVEY_INTERVAL_S, SURVEY_TIMEOUT_S, RemoteState
from ecs_models.errors import EcsModelsError, OperationCancelledError
from ecs_models.explain import explain
from ecs_models.names import parse_model_name
from ecs_models.runtime.hosts import HostList, HostStatus, normalize_host_url, survey_hosts
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.systems.remote_jobs import host_delete_job, host_pull_job, mirror_job, push_job
from ecs_models.transfer.mirror import plan_mirror
from ecs_models.transfer.progress import PullProgress, PullState
from ecs_models.transfer.push import PushOptions, resolve_destination


def describe_error(error: BaseException) -> str:
    return explain(error)


def report_failure(state: RemoteState, text: str) -> None:
    """An error as a notice and as the Remote area's result line."""
    post_error(text)
    state.set_result(text, error=True)


class RemoteTransferSystem(System):
    """Turns push, mirror and host-pull requests into transfers and applies their outcomes."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.store = resources.get(ModelStore)
        self.settings = resources.get(ManagerSettings)
        self.pools = resources.get(WorkerPools)
        self.state = resources.get(RemoteState)

    def process(self, dt: float) -> None:
        for ent, request in list(esper.get_component(RemoteTransferRequest)):
            esper.delete_entity(ent)
            try:
                self._start(request)
            except EcsModelsError as exc:
                report_failure(self.state, str(exc))
        for ent, cancel in list(esper.get_component(RemoteCancelRequest)):
            esper.delete_entity(ent)
            self._cancel(cancel.transfer_entity)
        for _, transfer in esper.get_component(RemoteTransfer):
            self._poll(transfer)

    def _options(self) -> PushOptions:
        return PushOptions(insecure=self.settings.insecure, default_host=self.settings.default_host)

    def _start(self, request: RemoteTransferRequest) -> None:
        source, dest = request.source.strip(), request.dest.strip()
        host = self.settings.default_host
        if request.kind is TransferKind.HOST_PULL:
            if not source:
                raise EcsModelsError("Type the name of the model to pull on the host.")
            url = normalize_host_url(dest)
            progress = PullProgress(source)
            transfer = RemoteTransfer(request.kind, f"{source} on {url}", progress)
            transfer.future = self.pools.downloads.submit(
                host_pull_job, url, source, progress, transfer.cancel
            )
            esper.create_entity(transfer)
            return
        if not dest:
            raise EcsModelsError(
                "Type a destination registry such as registry.example.com/ or "
                "registry.example.com/team/model:tag."
            )
        if request.kind is TransferKind.PUSH:
            if not source:
                raise EcsModelsError("Pick an installed model in the list to push.")
            name = parse_model_name(source, default_host=host)
            target = resolve_destination(name, dest, default_host=host)
            progress = PullProgress(target.display)
            transfer = RemoteTransfer(request.kind, f"push {name.display}", progress)
            transfer.future = self.pools.downloads.submit(
                push_job, self.store, source, target, self._options(), progress, transfer.cancel
            )
        else:
            if not source:
                raise EcsModelsError("Type the name of the model to mirror.")
            (job,) = plan_mirror([source], dest, self.store, default_host=host)
            progress = PullProgress(job.dest.display)
            transfer = RemoteTransfer(request.kind, f"mirror {job.source.display}", progress)
            transfer.future = self.pools.downloads.submit(
                mirror_job, self.store, job, self._options(), progress, transfer.cancel
            )
        esper.create_entity(transfer)
        self.state.recent = remember(self.state.recent, dest)
        self.state.changed()
        self.pools.chores.submit(save_recent, self.state.recent_path, list(self.state.recent))

    def _cancel(self, target: int) -> None:
        if not esper.entity_exists(target):
            return
        transfer = esper.try_component(target, RemoteTransfer)
        if transfer is None:
            return
        if transfer.state.finished:
            esper.delete_entity(target)  # Dismiss
            return
        transfer.cancel.set()
        if transfer.future is not None and transfer.future.cancel():
            transfer.state = PullState.CANCELLED  # it never started: nothing to wait for
            transfer.future = None
            transfer.error = "Cancelled before it started."

    def _poll(self, transfer: RemoteTransfer) -> None:
        progress = transfer.progress
        if progress.version != transfer.seen_version:
            transfer.seen_version = progress.version
            transfer.snapshot = progress.snapshot()
            if not transfer.snapshot.state.finished:
                transfer.state = transfer.snapshot.state
        future = transfer.future
        if future is None or not future.done():
            return
        transfer.future = None
        transfer.snapshot = progress.snapshot()
        error = future.exception()
        if error is None:
            transfer.state = PullState.DONE
            transfer.result_text = str(future.result())
            post_notice(transfer.result_text)
            self.state.set_result(transfer.result_text)
            if transfer.kind is TransferKind.HOST_PULL:
                self.state.request_survey()  # show the new model in the host's row
        elif isinstance(error, OperationCancelledError):
            transfer.state = PullState.CANCELLED
            transfer.error = str(error)
            self.state.set_result(str(error))
        else:
            transfer.state = PullState.FAILED
            transfer.error = describe_error(error)
            report_failure(self.state, transfer.error)


class HostsSystem(System):
    """Keeps the hosts list and, while the Remote tab is on screen, surveys it on a worker."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.pools = resources.get(WorkerPools)
        self.state = resources.get(RemoteState)
        # Chores whose only outcome is a sentence (a saved list, a deleted model).
        self._chores: list[tuple[Future[Any], str]] = []

    def process(self, dt: float) -> None:
        state = self.state
        for ent, _ in list(esper.get_component(HostSurveyRequest)):
            esper.delete_entity(ent)
            state.request_survey()
        for ent, request in list(esper.get_component(HostRequest)):
            esper.delete_entity(ent)
            try:
                self._apply(request)
            except EcsModelsError as exc:
                report_failure(state, str(exc))
        self._poll_chores()
        now = time.monotonic()
        for url, survey in list(state.surveys.items()):
            if not survey.done():
                continue
            del state.surveys[url]
            error = survey.exception()
            if error is not None:
                status = HostStatus(url=url, error=describe_error(error))
            else:
                status = survey.result()[0]
            if url in state.hosts:  # it may have been removed while it was asked
                state.statuses[url] = status
                state.changed()
        if not state.visible:
            return
        for url in state.hosts:
            if url not in state.surveys and state.next_survey_at.get(url, 0.0) <= now:
                state.next_survey_at[url] = now + SURVEY_INTERVAL_S
                state.surveys[url] = self.pools.surveys.submit(
                    survey_hosts, [url], timeout=SURVEY_TIMEOUT_S
                )

    def _apply(self, request: HostRequest) -> None:
        state = self.state
        if request.action is HostAction.DELETE_MODEL:
            model = request.model.strip()
            if not model:
                raise EcsModelsError("Type the name of the model to delete on the host.")
            url = normalize_host_url(request.address)
            future = self.pools.chores.submit(host_delete_job, url, model)
            self._chores.append((future, f"Deleting {model} on {url} failed"))
            return
        if not request.address.strip():
            raise EcsModelsError("Type an Ollama host address such as 192.168.1.5:11434.")
        url = normalize_host_url(request.address)
        if request.action is HostAction.ADD:
            if url in state.hosts:
                raise EcsModelsError(f"{url} is already in the hosts list.")
            state.hosts = [*state.hosts, url]
            state.next_survey_at.pop(url, None)  # say at once whether the new host answers
            verb = "Added"
        else:
            if url not in state.hosts:
                raise EcsModelsError(f"{url} is not in the hosts list.")
            state.hosts = [h for h in state.hosts if h != url]
            state.statuses.pop(url, None)
            verb = "Removed"
        state.set_result(f"{verb} {url} {'to' if verb == 'Added' else 'from'} the hosts list.")
        save = self.pools.chores.submit(HostList(state.hosts_path).save, list(state.hosts))
        self._chores.append((save, f"Saving {state.hosts_path} failed"))

    def _poll_chores(self) -> None:
        if not self._chores:
            return
        waiting = []
        for future, what in self._chores:
            if not future.done():
                waiting.append((future, what))
                continue
            error = future.exception()
            if error is not None:
                report_failure(self.state, f"{what}: {describe_error(error)}")
            elif isinstance(future.result(), str):
                post_notice(future.result())
                self.state.set_result(future.result())
                self.state.request_survey()  # the host's models changed
        self._chores = waiting
