"""Chained system sets run in order every frame, inside the plugin's own named esper world."""

from __future__ import annotations

import enum
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

import esper


class ModelManagementSystemSet(enum.IntEnum):
    """Bevy's `(Installation, Lifecycle, Performance, Ui).chain()`: lower values run first."""

    INSTALLATION = 0
    LIFECYCLE = 1
    PERFORMANCE = 2
    UI = 3


class System(esper.Processor):
    """An esper processor that receives the frame's dt in seconds."""

    def process(self, dt: float) -> None:
        raise NotImplementedError


_world_ids = itertools.count(1)


def new_world_name(prefix: str = "ecs_models") -> str:
    """A world name no other plugin instance (or host) uses."""
    return f"{prefix}-{next(_world_ids)}"


@contextmanager
def entered_world(name: str) -> Iterator[None]:
    """Enter world `name` and always return to whichever world was current before."""
    previous = esper.current_world
    if previous == name:
        yield
        return
    esper.switch_world(name)
    try:
        yield
    finally:
        esper.switch_world(previous)


class Schedule:
    """Systems grouped by set; `run` executes the sets in enum order, systems in insertion order.

    Systems are registered with the world as esper processors (so `esper.get_processor` finds
    them), but the order is ours: esper's priorities reset whenever a processor is re-added.
    """

    def __init__(self, world_name: str) -> None:
        self.world_name = world_name
        self._sets: dict[ModelManagementSystemSet, list[System]] = {
            s: [] for s in ModelManagementSystemSet
        }
        # Milliseconds per set in the last frame: the benchmark and the status line read it.
        self.last_set_ms: dict[ModelManagementSystemSet, float] = {}
        with entered_world(world_name):
            pass  # creates the world now, so it exists before the first frame

    def add_system(self, system_set: ModelManagementSystemSet, system: System) -> None:
        self._sets[system_set].append(system)
        with entered_world(self.world_name):
            esper.add_processor(system)

    def systems(self, system_set: ModelManagementSystemSet) -> list[System]:
        return list(self._sets[system_set])

    def run(self, dt: float) -> None:
        with entered_world(self.world_name):
            esper.clear_dead_entities()
            for system_set in ModelManagementSystemSet:
                start = time.perf_counter()
                for system in self._sets[system_set]:
                    system.process(dt)
                self.last_set_ms[system_set] = (time.perf_counter() - start) * 1000.0

    def delete_world(self) -> None:
        """Drop the world and everything in it (the plugin is closing)."""
        if esper.current_world == self.world_name:
            esper.switch_world("default")
        if self.world_name in esper.list_worlds():
            esper.delete_world(self.world_name)
