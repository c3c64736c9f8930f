"""A row of small tags in the Models details pane, one per capability (completion, tools...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.visibility import hide, show

TAG_HEIGHT = 18
TAG_GAP = 4
TAG_PADDING = 6  # each side of the text
# completion or embedding, tools, insert, vision, thinking: five at most, one spare.
MAX_TAGS = 6

RowKey = tuple[tuple[str, ...], tuple[int, int, int, int] | None]


class CapabilityTags:
    """A fixed pool of labels, hidden until used: a hidden view that sleeps (ui/sleep.py) keeps
    them, so nothing is created or killed while the Models tab is not shown.
    """

    def __init__(self, manager: pygame_gui.UIManager, container: Any) -> None:
        self.labels = [
            pygame_gui.elements.UILabel(
                relative_rect=pygame.Rect(0, 0, 10, TAG_HEIGHT),
                text="",
                manager=manager,
                container=container,
                object_id=ObjectID(class_id="@ecsm_tag"),
                visible=0,
            )
            for _ in range(MAX_TAGS)
        ]
        self._shown: RowKey = ((), None)
        self._used = 0

    @property
    def texts(self) -> list[str]:
        """The tags as shown (a "+N" tag stands for those that did not fit)."""
        return [label.text for label in self.labels if label.visible]

    def show(self, tags: Sequence[str], row: pygame.Rect | None) -> None:
        """Lay `tags` out left to right in `row`; what does not fit becomes a "+N" tag."""
        key: RowKey = (tuple(tags), (row.x, row.y, row.w, row.h) if row is not None else None)
        if key == self._shown:
            return
        self._shown = key
        self._used = self._lay_out(list(tags), row) if row is not None else 0
        self.rehide()

    def rehide(self) -> None:
        """Hide the unused labels again (UIPanel.show() shows every child)."""
        hide(*(label for label in self.labels[self._used :] if label.visible))

    def _lay_out(self, tags: list[str], row: pygame.Rect) -> int:
        x = row.x
        y = row.y + (row.height - TAG_HEIGHT) // 2
        for index, label in enumerate(self.labels):
            if index >= len(tags):
                return index
            rest = len(tags) - index - 1
            text = tags[index] if index < len(self.labels) - 1 or not rest else f"+{rest + 1}"
            width = self._width(label, text)
            # Keep room for a "+N" tag when more tags follow this one.
            room = row.right - x - (self._width(label, f"+{rest}") + TAG_GAP if rest else 0)
            if width > room:
                text = f"+{rest + 1}"
                width = self._width(label, text)
                rest = 0
            if width > row.right - x:
                return index
            if label.text != text:
                label.set_text(text)
            label.set_dimensions((width, TAG_HEIGHT))
            label.set_relative_position((x, y))
            if not label.visible:
                show(label)
            x += width + TAG_GAP
            if text.startswith("+"):
                return index + 1
        return len(self.labels)

    @staticmethod
    def _width(label: pygame_gui.elements.UILabel, text: str) -> int:
        font = label.font
        text_width = font.size(text)[0] if font is not None else 8 * len(text)
        return int(text_width) + 2 * TAG_PADDING
