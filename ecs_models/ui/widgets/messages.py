"""The message history: a small "Messages (n)" button that opens the last notices, newest first.

The notice line shows one message and the next event replaces it; this list keeps them, with
the time each appeared, so a failure that scrolled past can still be read.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.visibility import kill

BUTTON_WIDTH = 132
BUTTON_HEIGHT = 26
LIST_WIDTH = 620
LIST_HEIGHT = 380
PAD = 6
CLOSE_WIDTH = 90
LAYER = 8  # above the views and their questions
ERROR_COLOUR = "#ff7b72"
INFO_COLOUR = "#9fd3a8"
TIME_COLOUR = "#a8b3c1"


def button_label(count: int) -> str:
    return f"Messages ({count})"


def messages_html(entries: Sequence[tuple[str, str, bool]]) -> str:
    """(time, text, is_error) entries, oldest first, as the list's HTML, newest on top."""
    if not entries:
        return f'<font color="{TIME_COLOUR}">No messages yet.</font>'
    lines = []
    for when, text, error in reversed(entries):
        colour = ERROR_COLOUR if error else INFO_COLOUR
        lines.append(
            f'<font color="{TIME_COLOUR}">{html.escape(when)}</font>  '
            f'<font color="{colour}">{html.escape(text)}</font>'
        )
    return "<br>".join(lines)


class MessagesPanel:
    """The button and, while open, the scrollable list under it (built on open, killed on close)."""

    def __init__(self, manager: pygame_gui.UIManager, button_rect: pygame.Rect) -> None:
        self.manager = manager
        self.button = pygame_gui.elements.UIButton(
            relative_rect=pygame.Rect(button_rect),
            text=button_label(0),
            manager=manager,
            starting_height=4,  # over the tab strip it sits on
            object_id=ObjectID(object_id="#ecsm_messages_button"),
        )
        self.panel: Any = None
        self.text_box: Any = None
        self.close_button: Any = None
        self._label = button_label(0)
        self._html = ""
        self._bounds = pygame.Rect(0, 0, 0, 0)

    @property
    def is_open(self) -> bool:
        return self.panel is not None

    def handle_event(self, event: pygame.event.Event) -> bool | None:
        """True to open, False to close, None when `event` is not about the list."""
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            element = getattr(event, "ui_element", None)
            if element is self.button:
                return not self.is_open
            if element is self.close_button and self.is_open:
                return False
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE and self.is_open:
            return False
        return None

    def show_count(self, count: int) -> None:
        label = button_label(count)
        if label != self._label:
            self._label = label
            self.button.set_text(label)

    def open(self, bounds: pygame.Rect, text_html: str) -> None:
        """Open under the button, inside `bounds` (the plugin's rect)."""
        self.close()
        self._bounds = pygame.Rect(bounds)
        width = min(LIST_WIDTH, bounds.width - 2 * PAD)
        height = min(LIST_HEIGHT, bounds.bottom - self.button.rect.bottom - 2 * PAD)
        x = max(bounds.x + PAD, self.button.rect.right - width)
        rect = pygame.Rect(x, self.button.rect.bottom + 2, width, max(120, height))
        self.panel = pygame_gui.elements.UIPanel(
            relative_rect=rect,
            starting_height=LAYER,
            manager=self.manager,
            object_id=ObjectID(object_id="#ecsm_confirm_box"),
        )
        inner = self.panel.get_container().get_rect()
        self.close_button = pygame_gui.elements.UIButton(
            relative_rect=pygame.Rect(
                inner.width - CLOSE_WIDTH - PAD, inner.height - BUTTON_HEIGHT - PAD, CLOSE_WIDTH, BUTTON_HEIGHT
            ),
            text="Close (Esc)",
            manager=self.manager,
            container=self.panel,
        )
        self.text_box = pygame_gui.elements.UITextBox(
            html_text=text_html,
            relative_rect=pygame.Rect(0, 0, inner.width, inner.height - BUTTON_HEIGHT - 2 * PAD),
            manager=self.manager,
            container=self.panel,
            object_id=ObjectID(object_id="#ecsm_messages_text"),
        )
        self._html = text_html

    def show_messages(self, text_html: str) -> None:
        """Refresh an open list (a UITextBox rebuild costs ~10 ms: only when it changed)."""
        if self.text_box is not None and text_html != self._html:
            self._html = text_html
            self.text_box.set_text(text_html)

    def close(self) -> None:
        if self.panel is not None:
            kill(self.panel)
        self.panel = self.text_box = self.close_button = None
        self._html = ""

    def place(self, button_rect: pygame.Rect) -> None:
        self.button.set_relative_position(button_rect.topleft)
        self.close()  # reopened by the person at the new size

    def kill(self) -> None:
        self.close()
        kill(self.button)
