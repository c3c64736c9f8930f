"""A row of tab buttons above the views; pressing one shows its view and hides the others."""

from __future__ import annotations

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.background import DroppableBackground
from ecs_models.ui.core.visibility import kill

TAB_HEIGHT = 30
_TAB_WIDTH = 120
_GAP = 4


class TabBar(DroppableBackground, pygame_gui.elements.UIPanel):
    """Tab buttons in one strip; `selected` is the title of the view on show."""

    def __init__(self, manager: pygame_gui.UIManager, rect: pygame.Rect, titles: list[str]) -> None:
        super().__init__(
            relative_rect=pygame.Rect(rect.x, rect.y, rect.width, TAB_HEIGHT),
            starting_height=1,
            manager=manager,
            object_id=ObjectID(object_id="#ecsm_tab_bar"),
        )
        self.titles = titles
        self.selected = titles[0]
        self.buttons: dict[str, pygame_gui.elements.UIButton] = {}
        for i, title in enumerate(titles):
            self.buttons[title] = pygame_gui.elements.UIButton(
                relative_rect=pygame.Rect(i * (_TAB_WIDTH + _GAP), 0, _TAB_WIDTH, TAB_HEIGHT - 2),
                text=title,
                manager=manager,
                container=self.get_container(),
                object_id=ObjectID(class_id="@ecsm_tab"),
            )
        self._mark_selected()

    def pressed(self, event: pygame.event.Event) -> str | None:
        """The title whose button this event pressed, if any; it becomes the selected tab."""
        if event.type != pygame_gui.UI_BUTTON_PRESSED:
            return None
        for title, button in self.buttons.items():
            if event.ui_element is button:
                self.select(title)
                return title
        return None

    def select(self, title: str) -> None:
        self.selected = title
        self._mark_selected()

    def _mark_selected(self) -> None:
        # A selected tab is drawn as a held-down button; pygame_gui's select() does exactly that.
        for title, button in self.buttons.items():
            if title == self.selected:
                button.select()
            else:
                button.unselect()

    def resize(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions((rect.width, TAB_HEIGHT))

    def close(self) -> None:
        kill(self)


def split_rect(rect: pygame.Rect) -> tuple[pygame.Rect, pygame.Rect]:
    """The tab strip on top, the area below it."""
    bar = pygame.Rect(rect.x, rect.y, rect.width, TAB_HEIGHT)
    area = pygame.Rect(rect.x, rect.y + TAB_HEIGHT, rect.width, max(0, rect.height - TAB_HEIGHT))
    return bar, area
