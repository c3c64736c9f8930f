"""The schedule runs system sets in chained order inside its own esper world."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import esper
import pytest

from ecs_models.app.resources import Resources
from ecs_models.app.schedule import (
    ModelManagementSystemSet,
    Schedule,
    System,
    entered_world,
    new_world_name,
)


@dataclass(slots=True)
class Counter:
    value: int = 0


class Recorder(System):
    def __init__(self, label: str, log: list[str]) -> None:
        super().__init__()
        self.label = label
        self.log = log

    def process(self, dt: float) -> None:
        self.log.append(f"{self.label}@{esper.current_world}")


@pytest.fixture
def world_name() -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    if esper.current_world == name:
        esper.switch_world("default")
    if name in esper.list_worlds():
        esper.delete_world(name)


def test_sets_run_in_chain_order_whatever_the_insertion_order(world_name: str) -> None:
    log: list[str] = []
    schedule = Schedule(world_name)
    sets = ModelManagementSystemSet
    schedule.add_system(sets.UI, Recorder("ui-1", log))
    schedule.add_system(sets.PERFORMANCE, Recorder("perf", log))
    schedule.add_system(sets.INSTALLATION, Recorder("install", log))
    schedule.add_system(sets.UI, Recorder("ui-2", log))
    schedule.add_system(sets.LIFECYCLE, Recorder("life", log))
    schedule.run(1 / 60)
    assert log == [f"{label}@{world_name}" for label in ("install", "life", "perf", "ui-1", "ui-2")]
    assert list(sets) == [sets.INSTALLATION, sets.LIFECYCLE, sets.PERFORMANCE, sets.UI]
    assert set(schedule.last_set_ms) == set(sets)


def test_run_restores_the_callers_world_and_leaves_it_untouched(world_name: str) -> None:
    host_world = f"host-{uuid.uuid4().hex[:8]}"
    esper.switch_world(host_world)
    try:
        host_entity = esper.create_entity(Counter(7))
        log: list[str] = []
        schedule = Schedule(world_name)
        schedule.add_system(ModelManagementSystemSet.INSTALLATION, Recorder("x", log))
        schedule.run(0.0)
        assert esper.current_world == host_world
        assert esper.component_for_entity(host_entity, Counter).value == 7
        assert esper.get_processor(Recorder) is None, "a processor leaked into the host world"
        with entered_world(world_name):
            assert esper.get_processor(Recorder) is not None
            assert list(esper.get_component(Counter)) == []
    finally:
        esper.switch_world("default")
        esper.delete_world(host_world)


def test_entered_world_restores_after_an_exception(world_name: str) -> None:
    before = esper.current_world
    with pytest.raises(RuntimeError), entered_world(world_name):
        assert esper.current_world == world_name
        raise RuntimeError("boom")
    assert esper.current_world == before


def test_deferred_deletes_are_cleared_before_the_sets_run(world_name: str) -> None:
    seen: list[int] = []

    class Count(System):
        def process(self, dt: float) -> None:
            seen.append(len(esper.get_component(Counter)))

    schedule = Schedule(world_name)
    schedule.add_system(ModelManagementSystemSet.LIFECYCLE, Count())
    with entered_world(world_name):
        doomed = esper.create_entity(Counter())
        esper.create_entity(Counter())
        esper.delete_entity(doomed)
    schedule.run(0.0)
    assert seen == [1]


def test_world_names_are_unique() -> None:
    assert new_world_name() != new_world_name()


def test_resources_are_typed_and_keyed_by_type() -> None:
    resources = Resources()
    counter = Counter(3)
    resources.insert(counter)
    assert resources.get(Counter) is counter
    assert Counter in resources
    assert resources.try_get(str) is None
    with pytest.raises(KeyError, match="no resource of type str"):
        resources.get(str)
