"""One download row: model name, progress bar with caption, and a Cancel/Dismiss button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.core.visibility import kill
from ecs_models.ui.widgets.progress_bar import TransferProgressBar

NAME_WIDTH = 200
BUTTON_WIDTH = 84


@dataclass(frozen=True, slots=True)
class TaskRowView:
    """What one task row shows."""

    task_entity: int
    name: str
    fraction: float
    caption: str
    finished: bool


class TaskRow:
    """Widgets of one task; the UI system feeds it values and it skips unchanged ones."""

    def __init__(self, manager: pygame_gui.UIManager, container: Any, rect: pygame.Rect) -> None:
        self.task_entity: int | None = None
        self._label_text = ""
        self._button_text = "Cancel"
        self.name_label = pygame_gui.elements.UILabel(
            relative_rect=pygame.Rect(0, 0, NAME_WIDTH, rect.height),
            text="",
            manager=manager,
            container=container,
            object_id=pygame_gui.core.ObjectID(class_id="@ecsm_task_name"),
        )
        self.bar = TransferProgressBar(
            relative_rect=pygame.Rect(0, 0, 10, rect.height),
            manager=manager,
            container=container,
            object_id=pygame_gui.core.ObjectID(object_id="#ecsm_task_bar"),
        )
        self.button = pygame_gui.elements.UIButton(
            relative_rect=pygame.Rect(0, 0, BUTTON_WIDTH, rect.height),
            text="Cancel",
            manager=manager,
            container=container,
        )
        self.place(rect)

    def place(self, rect: pygame.Rect) -> None:
        self.name_label.set_relative_position((rect.x, rect.y))
        bar_width = max(40, rect.width - NAME_WIDTH - BUTTON_WIDTH - 16)
        self.bar.set_relative_position((rect.x + NAME_WIDTH + 8, rect.y))
        self.bar.set_dimensions((bar_width, rect.height))
        self.button.set_relative_position((rect.right - BUTTON_WIDTH, rect.y))

    def show_task(
        self, task_entity: int, name: str, fraction: float, caption: str, finished: bool
    ) -> None:
        self.task_entity = task_entity
        if name != self._label_text:
            self._label_text = name
            self.name_label.set_text(name)
        self.bar.show_progress(fraction, caption)
        button_text = "Dismiss" if finished else "Cancel"
        if button_text != self._button_text:
            self._button_text = button_text
            self.button.set_text(button_text)

    def kill(self) -> None:
        kill(self.name_label, self.bar, self.button)


def sync_task_rows(
    rows: list[TaskRow],
    views: Sequence[TaskRowView],
    rects: Sequence[pygame.Rect],
    manager: pygame_gui.UIManager,
    container: Any,
) -> int:
    """Show `views` in as many rows as `rects` allow, creating and killing rows to match.

    Returns how many views did not fit, for an "and N more" line.
    """
    visible = views[: len(rects)]
    while len(rows) < len(visible):
        rows.append(TaskRow(manager, container, rects[len(rows)]))
    while len(rows) > len(visible):
        rows.pop().kill()
    for widget, view in zip(rows, visible, strict=True):
        widget.show_task(view.task_entity, view.name, view.fraction, view.caption, view.finished)
    return len(views) - len(visible)
