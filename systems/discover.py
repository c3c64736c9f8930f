"""Lifecycle set, Discover area: its requests become chores on the pool; results land in DiscoverData."""

from __future__ import annotations

import dataclasses
from typing import Any

import esper

from ecs_models.app.config import ManagerSettings
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.catalog import Catalog
from ecs_models.catalog.updates import UNKNOWN, UpdateStatus
from ecs_models.components.discover import (
    OLLAMA_SOURCE,
    CatalogLoad,
    CatalogLoadRequest,
    DiscoverData,
    DiscoverJob,
    DiscoverPanel,
    HeaderFit,
    HeaderFitRequest,
    JobKind,
    PendingUpdate,
    PinRequest,
    TagsLoadRequest,
    TagsView,
    UpdateCheckRequest,
)
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.reachability import RegistryReachability
from ecs_models.errors import EcsModelsError
from ecs_models.explain import connection_problem, explain
from ecs_models.formatting import human_bytes
from ecs_models.names import parse_model_name
from ecs_models.store.model_store import ModelStore
from ecs_models.systems import discover_jobs as jobs
from ecs_models.systems.discover_fit import load_header_fit
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.transfer.progress import PullState


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_summary(statuses: list[UpdateStatus]) -> tuple[str, bool]:
    """One sentence for the notices line, and whether it reports a problem."""
    outdated = [s for s in statuses if s.outdated]
    failed = [s for s in statuses if s.state == UNKNOWN]
    if not statuses:
        return "No models are installed, so there is nothing to update.", False
    if outdated:
        total = sum(s.change_bytes or 0 for s in outdated)
        pinned = sum(1 for s in outdated if s.pinned)
        held = f"; {pinned} of them pinned" if pinned else ""
        text = f"{_plural(len(outdated), 'update')} available ({human_bytes(total)} to download){held}."
    elif failed:
        first = failed[0]
        return (
            f"Could not check {_plural(len(failed), 'model')}: {first.model.display}: "
            f"{(first.error or 'no answer').rstrip('.')}.",
            True,
        )
    else:
        text = f"All {_plural(len(statuses), 'installed model')} are up to date."
    return text, False


class DiscoverWorkSystem(System):
    """Starts the area's chores and applies their results; never blocks on a future."""

    def __init__(
        self, resources: Resources, catalog: Catalog, inbox: list[CatalogLoadRequest]
    ) -> None:
        super().__init__()
        self.catalog = catalog
        # Requests made outside the world (a tab's on_show runs in the host's event handling).
        self.inbox = inbox
        self.data = resources.get(DiscoverData)
        self.panel = resources.get(DiscoverPanel)
        self.settings = resources.get(ManagerSettings)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.reachability = resources.try_get(RegistryReachability)

    def process(self, dt: float) -> None:
        while self.inbox:
            esper.create_entity(self.inbox.pop(0))
        self._start_jobs()
        self._finish_jobs()
        self._watch_updates()

    def _submit(self, kind: JobKind, key: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        future = self.pools.chores.submit(fn, *args, **kwargs)
        esper.create_entity(DiscoverJob(kind, future, key))

    def _running(self, kind: JobKind, key: str) -> bool:
        return any(j.kind is kind and j.key == key for _, j in esper.get_component(DiscoverJob))

    # -- requests -> chores ------------------------------------------------------------
    def _start_jobs(self) -> None:
        data = self.data
        for ent, load in list(esper.get_component(CatalogLoadRequest)):
            esper.delete_entity(ent)
            if not self._running(JobKind.CATALOG, load.source) and not self._running(
                JobKind.QUICK_CATALOG, load.source
            ):
                data.catalog_loading = True
                data.changed()
                self._submit(
                    JobKind.QUICK_CATALOG if load.quick else JobKind.CATALOG,
                    load.source,
                    jobs.load_catalog,
                    self.catalog,
                    load.source,
                    self.settings,
                    refresh=load.refresh,
                    quick=load.quick,
                )
        for ent, tags in list(esper.get_component(TagsLoadRequest)):
            esper.delete_entity(ent)
            memory = data.catalog.memory if data.catalog is not None else None
            if memory is None or self._running(JobKind.TAGS, tags.entry.name):
                continue
            data.tags_loading = tags.entry.name
            data.changed()
            self._submit(
                JobKind.TAGS,
                tags.entry.name,
                jobs.load_tags,
                self.catalog,
                tags.entry,
                self.store,
                self.settings,
                memory,
            )
        for ent, check in list(esper.get_component(UpdateCheckRequest)):
            esper.delete_entity(ent)
            if not self._running(JobKind.CHECK, ""):
                data.checking = True
                data.changed()
                self._submit(
                    JobKind.CHECK,
                    "",
                    jobs.check_updates,
                    data.checker,
                    self.store,
                    self.settings,
                    fresh=check.fresh,
                )
        for ent, fit in list(esper.get_component(HeaderFitRequest)):
            esper.delete_entity(ent)
            if not self._running(JobKind.HEADER_FIT, fit.reference):
                self._submit(
                    JobKind.HEADER_FIT,
                    fit.reference,
                    load_header_fit,
                    data.header_cache,
                    fit.reference,
                    self.settings,
                )
        for ent, pin in list(esper.get_component(PinRequest)):
            esper.delete_entity(ent)
            self._submit(JobKind.PIN, pin.model_name, jobs.set_pin, self.store, *_pin_args(pin))

    # -- chores -> data ----------------------------------------------------------------
    def _finish_jobs(self) -> None:
        for ent, job in list(esper.get_component(DiscoverJob)):
            if not job.future.done():
                continue
            esper.delete_entity(ent)
            error = job.future.exception()
            if error is not None:
                self._failed(job, error)
            elif job.kind in (JobKind.CATALOG, JobKind.QUICK_CATALOG):
                self._apply_catalog(job.key, job.future.result(), job.kind)
            elif job.kind is JobKind.TAGS:
                self._apply_tags(job.future.result())
            elif job.kind is JobKind.CHECK:
                self._apply_check(job.future.result())
            elif job.kind is JobKind.PIN:
                self._apply_pin(*job.future.result())
            elif job.kind is JobKind.AFTER_UPDATE:
                self._apply_after_update(job.key, *job.future.result())
            elif job.kind is JobKind.HEADER_FIT:
                fit: HeaderFit = job.future.result()
                self.data.header_fits[fit.reference] = fit
            self.data.changed()

    def _failed(self, job: DiscoverJob, error: BaseException) -> None:
        data = self.data
        detail = explain(error).rstrip(".")
        if job.kind in (JobKind.CATALOG, JobKind.QUICK_CATALOG):
            data.catalog_loading = False
            data.catalog_error = f"Could not load the catalog of {job.key}: {detail}."
            # A registry that cannot be reached: Install from it would fail too.
            offline = job.key != OLLAMA_SOURCE and connection_problem(error) is not None
            if self.reachability is not None and offline:
                self.reachability.mark_offline(job.key, explain(error, host=job.key))
            post_error(data.catalog_error)
        elif job.kind is JobKind.TAGS:
            if data.tags_loading == job.key:
                data.tags_loading = None
            data.tags = TagsView(job.key, (), f"Could not read the tags of {job.key}: {detail}.")
            post_error(data.tags.notice or "")
        elif job.kind is JobKind.CHECK:
            data.checking = False
            post_error(f"Checking for updates failed: {detail}.")
        elif job.kind is JobKind.HEADER_FIT:
            # Offline or a registry without the model: the size-based estimate stays, with why.
            data.header_fits[job.key] = HeaderFit(job.key, None, detail)
        elif job.kind is JobKind.PIN:
            post_error(f"Could not change the pin of {_display(job.key)}: {detail}.")
        else:
            post_error(f"Tidying up after updating {_display(job.key)} failed: {detail}.")

    def _apply_catalog(self, source: str, load: CatalogLoad, kind: JobKind) -> None:
        data = self.data
        if source != self.panel.source:
            # The person switched sources while this one loaded; only the chosen one is shown.
            data.catalog_loading = self._running(JobKind.CATALOG, self.panel.source)
            return
        data.catalog_loading = False
        data.catalog_error = None
        data.catalog = load
        data.catalog_source = source
        result = load.result
        if result.origin == "live" and self.reachability is not None:
            self.reachability.mark_online(source)
        if kind is JobKind.QUICK_CATALOG:
            if result.origin == "snapshot" or result.age_seconds() >= self.catalog.max_age:
                # Saved data is on screen; ask the network now, in the background.
                data.catalog_loading = True
                self._submit(
                    JobKind.CATALOG,
                    source,
                    jobs.load_catalog,
                    self.catalog,
                    source,
                    self.settings,
                    refresh=False,
                )
        elif result.notice:
            post_notice(result.notice)

    def _apply_tags(self, view: TagsView) -> None:
        data = self.data
        if data.tags_loading == view.entry_name:
            data.tags_loading = None
        if view.entry_name == self.panel.selected_entry:
            data.tags = view

    def _apply_check(self, statuses: list[UpdateStatus]) -> None:
        data = self.data
        data.checking = False
        data.checked = True
        data.statuses = {str(s.model.name): s for s in statuses}
        text, problem = check_summary(statuses)
        (post_error if problem else post_notice)(text)

    def _apply_pin(self, name: str, pinned: bool) -> None:
        status = self.data.statuses.get(name)
        if status is not None:
            self.data.statuses[name] = dataclasses.replace(status, pinned=pinned)
        if pinned:
            post_notice(f"Pinned {_display(name)}: Update all leaves it at this version.")
        else:
            post_notice(f"Unpinned {_display(name)}: updates may change it again.")

    def _apply_after_update(self, name: str, freed: int, statuses: list[UpdateStatus]) -> None:
        for status in statuses:
            self.data.statuses[str(status.model.name)] = status
        digest = statuses[0].model.digest.removeprefix("sha256:")[:12] if statuses else "?"
        post_notice(
            f"Updated {_display(name)} to {digest}; {human_bytes(freed)} of the old version freed."
        )

    # -- updates in flight ---------------------------------------------------------------
    def _watch_updates(self) -> None:
        for ent, (pending, task) in list(
            esper.get_components(PendingUpdate, ModelInstallationTask)
        ):
            if not task.state.finished:
                continue
            esper.remove_component(ent, PendingUpdate)
            if task.state is PullState.DONE:
                self._submit(
                    JobKind.AFTER_UPDATE,
                    pending.model_name,
                    jobs.after_update,
                    self.data.checker,
                    self.store,
                    self.settings,
                    pending.model_name,
                    # The pull itself deleted the old version's unused blobs.
                    task.snapshot.freed_bytes if task.snapshot is not None else 0,
                )


def _pin_args(pin: PinRequest) -> tuple[str, bool]:
    return pin.model_name, pin.pinned


def _display(name: str) -> str:
    try:
        return parse_model_name(name).display
    except EcsModelsError:
        return name
