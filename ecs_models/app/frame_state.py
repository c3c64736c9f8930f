"""Resources that carry state between frames: the inventory's version and the latest machine sample."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from ecs_models.runtime.machine import SystemSample


@dataclass(slots=True)
class InventoryState:
    """`version` grows whenever installed-model entities change, so the UI re-sorts only then."""

    version: int = 0
    loaded: bool = False

    def changed(self) -> None:
        self.version += 1


@dataclass(slots=True)
class SystemStatus:
    """The newest psutil sample and the sampling job in flight, if any."""

    sample: SystemSample | None = None
    pending: Future[SystemSample] | None = None
    next_sample_at: float = 0.0
