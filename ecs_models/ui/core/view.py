"""What every area's view shares: a themed pygame_gui UIPanel root, its geometry, widget placement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.background import DroppableBackground


class View(DroppableBackground, pygame_gui.elements.UIPanel):
    """The base of every area's view: a root UIPanel themed `#ecsm_panel`, which a standalone
    window may leave unpainted."""

    def __init__(self, manager: pygame_gui.UIManager, rect: pygame.Rect) -> None:
        super().__init__(
            relative_rect=rect,
            starting_height=1,
            manager=manager,
            object_id=ObjectID(object_id="#ecsm_panel"),
        )
        self.manager = manager

    def move_to(self, rect: pygame.Rect) -> None:
        """Take the new rect; the caller then lays its widgets out for the container's size."""
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)


def place(placed: Iterable[tuple[Any, pygame.Rect]]) -> None:
    """Move and size each widget to its rect (relative to its container)."""
    for element, rect in placed:
        element.set_relative_position(rect.topleft)
        element.set_dimensions(rect.size)
