"""Performance set: sample the machine at most twice a second off the UI thread; time each frame."""

from __future__ import annotations

import time

from ecs_models.app.config import ManagerSettings
from ecs_models.app.frame_clock import FrameClock
from ecs_models.app.frame_state import SystemStatus
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.runtime.machine import SAMPLE_INTERVAL_S, SystemSampler

__all__ = ["SAMPLE_INTERVAL_S", "PerformanceSystem"]


class PerformanceSystem(System):
    """Keeps SystemStatus.sample fresh and the FrameClock ticking; never waits for a sample."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.status = resources.get(SystemStatus)
        self.settings = resources.get(ManagerSettings)
        self.pools = resources.get(WorkerPools)
        # Shared with whoever else samples (an area), so the TTL cache really caps the rate.
        sampler = resources.try_get(SystemSampler)
        if sampler is None:
            sampler = SystemSampler(self.settings.models_dir)
            resources.insert(sampler)
        self.sampler = sampler
        clock = resources.try_get(FrameClock)
        if clock is None:
            clock = FrameClock()
            resources.insert(clock)
        self.clock = clock

    def process(self, dt: float) -> None:
        now = time.monotonic()
        self.clock.tick(time.perf_counter())
        pending = self.status.pending
        if pending is not None:
            if not pending.done():
                return
            self.status.pending = None
            if pending.exception() is None:
                self.status.sample = pending.result()
        if now >= self.status.next_sample_at:
            self.status.next_sample_at = now + SAMPLE_INTERVAL_S
            self.status.pending = self.pools.chores.submit(self.sampler.sample)
