"""Performance set: sample disk, RAM and CPU a few times a second, off the UI thread."""

from __future__ import annotations

import time

from ecs_models.config import ManagerSettings
from ecs_models.frame_state import SystemStatus
from ecs_models.resource_map import Resources
from ecs_models.resources import sample_system
from ecs_models.schedule import System
from ecs_models.workers import WorkerPools

# psutil readings are cheap but not free; the status line does not need more than this.
SAMPLE_INTERVAL_S = 0.5


class PerformanceSystem(System):
    """Keeps SystemStatus.sample fresh; never waits for a sample."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.status = resources.get(SystemStatus)
        self.settings = resources.get(ManagerSettings)
        self.pools = resources.get(WorkerPools)

    def process(self, dt: float) -> None:
        pending = self.status.pending
        if pending is not None:
            if not pending.done():
                return
            self.status.pending = None
            if pending.exception() is None:
                self.status.sample = pending.result()
        now = time.monotonic()
        if now >= self.status.next_sample_at:
            self.status.next_sample_at = now + SAMPLE_INTERVAL_S
            self.status.pending = self.pools.chores.submit(sample_system, self.settings.models_dir)
