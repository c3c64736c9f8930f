"""Areas of the manager beside the Models view (Discover, Storage, ...): the contract they meet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pygame
import pygame_gui

from ecs_models.app.resources import Resources
from ecs_models.app.schedule import ModelManagementSystemSet, System


class AreaView(Protocol):
    """A pygame_gui container (usually a UIPanel subclass) that fills the area rect."""

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Turn this view's UI events into intents; True when the event was its own."""
        ...

    def resize(self, rect: pygame.Rect) -> None: ...

    def show(self) -> None: ...

    def hide(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True, slots=True)
class AreaContext:
    """What an area gets to build itself: the host's manager, its rect and the plugin's resources."""

    manager: pygame_gui.UIManager
    rect: pygame.Rect
    resources: Resources


@dataclass(slots=True)
class Area:
    """One tab: its title, its view, and the systems that feed it, each in its chained set."""

    title: str
    view: AreaView
    systems: list[tuple[ModelManagementSystemSet, System]] = field(default_factory=list)
    # Called when the tab is shown: a view may start a refresh or take keyboard focus.
    on_show: list[Callable[[], None]] = field(default_factory=list)
    # Called when the plugin closes, before it waits for the worker pools: stop long jobs.
    on_close: list[Callable[[], None]] = field(default_factory=list)
