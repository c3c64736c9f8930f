"""Registry mirrors in the Remote area: the list read and edited on the chore pool, and the
one-click test (every mirror asked at once) on the survey pool; never in a frame."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import esper

from ecs_models.app.config import ManagerSettings
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.remote import MirrorAction, MirrorRequest
from ecs_models.components.remote_state import RemoteState
from ecs_models.errors import EcsModelsError
from ecs_models.registry.mirror_probe import MirrorProbe
from ecs_models.registry.mirrors import MIRRORS_ENV, ListedMirror
from ecs_models.systems.remote import describe_error, report_failure
from ecs_models.systems.remote_jobs import (
    mirror_add_job,
    mirror_remove_job,
    mirrors_list_job,
    mirrors_test_job,
)


class MirrorsSystem(System):
    """Applies MirrorRequests; edits of mirrors.json run one after another, so two quick
    clicks never read the file before the other has written it."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.pools = resources.get(WorkerPools)
        self.state = resources.get(RemoteState)
        self.settings = resources.get(ManagerSettings)
        self._waiting: deque[Callable[[], Future[Any]]] = deque()
        self._edit: Future[Any] | None = None
        self._test: Future[list[MirrorProbe]] | None = None

    def process(self, dt: float) -> None:
        if self.state.mirrors_stale:
            self.state.mirrors_stale = False
            self._waiting.append(lambda: self.pools.chores.submit(mirrors_list_job))
        for ent, request in list(esper.get_component(MirrorRequest)):
            esper.delete_entity(ent)
            try:
                self._apply(request)
            except EcsModelsError as exc:
                report_failure(self.state, str(exc))
        self._poll_edit()
        self._poll_test()

    def _apply(self, request: MirrorRequest) -> None:
        chores = self.pools.chores
        if request.action is MirrorAction.ADD:
            if not request.text.strip():
                raise EcsModelsError(
                    "Type a mirror such as registry.ollama.ai=http://cache.lan:5000 "
                    f"(a URL alone is a mirror of {self.settings.default_host})."
                )
            text, host = request.text, self.settings.default_host
            self._waiting.append(lambda: chores.submit(mirror_add_job, text, host))
        elif request.action is MirrorAction.REMOVE:
            row = self._row(request.upstream, request.url)
            if row.origin == MIRRORS_ENV:
                raise EcsModelsError(
                    f"{row.mirror.url} is set by {MIRRORS_ENV}; change the variable to remove it."
                )
            upstream, url = row.upstream, row.mirror.url
            self._waiting.append(lambda: chores.submit(mirror_remove_job, upstream, url))
        else:
            self._start_test()

    def _row(self, upstream: str, url: str) -> ListedMirror:
        for row in self.state.mirrors or []:
            if row.upstream == upstream and row.mirror.url == url:
                return row
        raise EcsModelsError("Pick a mirror in the list to remove.")

    def _start_test(self) -> None:
        state = self.state
        if self._test is not None:
            return  # the running test answers this click too
        if not state.mirrors:
            raise EcsModelsError("There are no mirrors to test: add one first.")
        state.mirror_probes.clear()
        state.mirrors_testing = True
        state.changed()
        self._test = self.pools.surveys.submit(
            mirrors_test_job, list(state.mirrors), self.settings.insecure
        )

    def _poll_edit(self) -> None:
        if self._edit is None:
            if not self._waiting:
                return
            self._edit = self._waiting.popleft()()
        if not self._edit.done():
            return
        future, self._edit = self._edit, None
        error = future.exception()
        if error is not None:
            report_failure(self.state, describe_error(error))
            if self.state.mirrors is None:  # unreadable: the result line says why
                self.state.mirrors = []
                self.state.changed()
            return
        result = future.result()
        if isinstance(result, tuple):
            sentence, listed = result
            self.state.set_result(sentence)
        else:
            listed = result
        self.state.mirrors = listed
        urls = {(row.upstream, row.mirror.url) for row in listed}
        self.state.mirror_probes = {k: v for k, v in self.state.mirror_probes.items() if k in urls}
        self.state.changed()

    def _poll_test(self) -> None:
        if self._test is None or not self._test.done():
            return
        future, self._test = self._test, None
        state = self.state
        state.mirrors_testing = False
        error = future.exception()
        if error is not None:
            report_failure(state, f"Testing the mirrors failed: {describe_error(error)}")
            return
        probes = future.result()
        state.mirror_probes = {(p.upstream, p.url): p for p in probes}
        failed = [p for p in probes if not p.answered]
        why = [f"{p.url}: {p.summary().removeprefix('no answer: ')}" for p in failed]
        text = f"{len(probes) - len(failed)} of {len(probes)} mirrors answer"
        state.set_result("; ".join([text, *why]) + ".", error=bool(failed))
