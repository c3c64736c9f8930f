"""The Remote area's resource: hosts and their survey, recent destinations, the last result."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from ecs_models.registry.mirror_probe import MirrorProbe
from ecs_models.registry.mirrors import ListedMirror
from ecs_models.runtime.hosts import HostStatus

# A host list is surveyed this often while the Remote tab is on screen.
SURVEY_INTERVAL_S = 4.0
# Seconds one host may take to answer; an unreachable one is marked as such after at most this.
SURVEY_TIMEOUT_S = 3.0


@dataclass(slots=True)
class RemoteState:
    """What the Remote view shows; `version` grows whenever any of it changes."""

    hosts_path: Path
    recent_path: Path
    hosts: list[str] = field(default_factory=list)
    statuses: dict[str, HostStatus] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)
    # Each host is asked on its own (WorkerPools.surveys), so a silent host delays no other.
    surveys: dict[str, Future[list[HostStatus]]] = field(default_factory=dict)
    next_survey_at: dict[str, float] = field(default_factory=dict)
    visible: bool = False
    result: tuple[str, bool] = ("", False)  # the last one-sentence result, and whether an error
    pending_host_removal: str | None = None  # the host whose Remove waits for a yes
    # Registry mirrors pulls ask first (mirrors.json and ECS_MODELS_MIRRORS), read on a worker
    # each time the tab is shown; the last test's answer per (upstream, URL).
    mirrors: list[ListedMirror] | None = None  # None until first read
    mirror_probes: dict[tuple[str, str], MirrorProbe] = field(default_factory=dict)
    mirrors_testing: bool = False
    mirrors_stale: bool = True  # read the list again at the next frame
    version: int = 0

    def changed(self) -> None:
        self.version += 1

    def set_result(self, text: str, *, error: bool = False) -> None:
        self.result = (text, error)
        self.changed()

    def request_survey(self) -> None:
        """Survey the hosts at the next frame (the tab was just shown, or Refresh)."""
        self.next_survey_at.clear()

    def reload_mirrors(self) -> None:
        """Read the mirrors again at the next frame (the tab was just shown: `mirrors add`
        may have changed the file meanwhile)."""
        self.mirrors_stale = True
