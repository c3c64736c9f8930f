"""The download-streams setting beside Install: the most connections one download may open.

The same setting as `pull --streams` and ResourceLimits.download_streams; fewer connections
run while more would not be faster. People who share their link pick a small number.
"""

from __future__ import annotations

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.transfer.streamcount import DEFAULT_STREAMS

CHOICES = (1, 2, 4, 8, 16)


def streams_text(count: int) -> str:
    return "1 stream" if count == 1 else f"{count} streams"


class StreamsMenu:
    """A drop-down of stream counts; `chosen` turns its event into the count picked."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        container: pygame_gui.core.IContainerLikeInterface,
        rect: pygame.Rect,
        count: int = DEFAULT_STREAMS,
    ) -> None:
        self._count = count
        self.menu = pygame_gui.elements.UIDropDownMenu(
            options_list=_options(count),
            starting_option=streams_text(count),
            relative_rect=rect,
            manager=manager,
            container=container,
            object_id=ObjectID(object_id="#ecsm_streams"),
        )

    @property
    def count(self) -> int:
        return self._count

    def chosen(self, event: pygame.event.Event, element: object) -> int | None:
        """The count just picked, when `event` is this menu's change; else None."""
        if event.type != pygame_gui.UI_DROP_DOWN_MENU_CHANGED or element is not self.menu:
            return None
        count = int(str(event.text).split()[0])
        self._count = count
        return count

    def show(self, count: int) -> None:
        """Show `count` (set elsewhere, such as by the host's ResourceLimits)."""
        if count == self._count:
            return
        self._count = count
        text = streams_text(count)
        self.menu.options_list = [(o, o) for o in map(streams_text, sorted({*CHOICES, count}))]
        self.menu.selected_option = (text, text)
        self.menu.rebuild()

    def place(self, rect: pygame.Rect) -> None:
        self.menu.set_relative_position(rect.topleft)
        self.menu.set_dimensions(rect.size)


def _options(count: int) -> list[str | tuple[str, str]]:
    return [streams_text(c) for c in sorted({*CHOICES, count})]
