"""A yes/no question drawn beside the button that asked it, wrapped to fit, answered by key too.

Used wherever something is removed: the question names what goes and what it frees, wraps
over as many lines as it needs (never clipped to one), and sits on top of the widgets below
it until answered: Enter (or the yes button) confirms, Escape (or the no button) keeps.
Escape answers even while a text field has the keyboard: it means nothing else there.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.visibility import kill
from ecs_models.ui.widgets.keyboard import typing_in_entry

PAD = 6
BUTTON_W = 120
BUTTON_H = 28
# Above the lists and labels of the view it belongs to (they sit 1-3 layers up).
LAYER = 6
ENTER_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER)


def nowrap_units(text: str) -> str:
    """Keep '3.1 MB' on one line: a wrapped number and unit read as two values."""
    for unit in (" B", " KB", " MB", " GB", " TB"):
        text = text.replace(unit, "\u00a0" + unit[1:])
    return text


def name_list(names: Sequence[str], plural: str, limit: int = 3) -> str:
    """'a', 'a and b', 'a, b and c', or past `limit` names '5 models (a, b and 3 more)'."""
    names = list(names)
    if not names:
        return f"no {plural}"
    if len(names) <= limit:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    shown = ", ".join(names[: limit - 1])
    return f"{len(names)} {plural} ({shown} and {len(names) - limit + 1} more)"


class ConfirmPopover:
    """One question at a time; `open` builds the widgets (a few ms, once per question)."""

    def __init__(
        self, manager: pygame_gui.UIManager, container: Any, *, yes: str, no: str = "Keep"
    ) -> None:
        self.manager = manager
        self.container = container
        self.yes_text = yes
        self.no_text = no
        self.text: str | None = None
        self.panel: Any = None
        self.text_box: Any = None
        self.yes: Any = None
        self.no: Any = None
        self._place: pygame.Rect | None = None

    @property
    def is_open(self) -> bool:
        return self.panel is not None

    def open(self, text: str, place: pygame.Rect, anchor: pygame.Rect | None = None) -> None:
        """Show `text` in a box `place.width` wide whose top-left is `place.topleft`.

        The box grows down to fit the text. When that would pass `place.bottom` it opens above
        `anchor` (the asking button) instead, and failing that it moves up as far as needed.
        """
        if text == self.text and place == self._place and self.is_open:
            return
        self.close()
        self.text, self._place = text, pygame.Rect(place)
        width = max(2 * BUTTON_W + 3 * PAD + 2, place.width)
        self.panel = pygame_gui.elements.UIPanel(
            relative_rect=pygame.Rect(place.x, place.y, width, 120),
            starting_height=LAYER,
            manager=self.manager,
            container=self.container,
            object_id=ObjectID(object_id="#ecsm_confirm_box"),
        )
        inner = self.panel.get_container()
        self.text_box = pygame_gui.elements.UITextBox(
            html_text=html.escape(nowrap_units(text)),
            relative_rect=pygame.Rect(0, 0, inner.get_rect().width, -1),  # -1: fit the text
            manager=self.manager,
            container=inner,
            object_id=ObjectID(object_id="#ecsm_confirm_text"),
        )
        buttons_y = self.text_box.relative_rect.height + PAD
        right = inner.get_rect().width - PAD
        self.no = pygame_gui.elements.UIButton(
            relative_rect=pygame.Rect(right - BUTTON_W, buttons_y, BUTTON_W, BUTTON_H),
            text=f"{self.no_text} (Esc)",  # the keys, where a person looks for the answer
            manager=self.manager,
            container=inner,
        )
        self.yes = pygame_gui.elements.UIButton(
            relative_rect=pygame.Rect(right - 2 * BUTTON_W - PAD, buttons_y, BUTTON_W, BUTTON_H),
            text=f"{self.yes_text} (Enter)",
            manager=self.manager,
            container=inner,
            object_id=ObjectID(object_id="#ecsm_confirm_yes"),
        )
        border = self.panel.rect.height - inner.get_rect().height
        height = buttons_y + BUTTON_H + PAD + border
        y = place.y
        if height > place.height:
            above = anchor.top - PAD - height if anchor is not None else -1
            y = above if above >= 0 else max(0, place.bottom - height)
        self.panel.set_relative_position((place.x, y))
        self.panel.set_dimensions((width, height))
        # The question takes the keyboard: Enter must not also reach a focused text entry.
        self.manager.set_focus_set(self.yes)

    def close(self) -> None:
        if self.panel is not None:
            kill(self.panel)
        self.panel = self.text_box = self.yes = self.no = None
        self.text = None
        self._place = None

    def answer(self, event: pygame.event.Event) -> bool | None:
        """True (yes) or False (no) when `event` answers the open question, else None.

        Enter answers yes unless the keyboard is on the no button (Tab moves there) or in a
        text entry (Enter there is the entry's); Escape always answers no.
        """
        if not self.is_open:
            return None
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            element = getattr(event, "ui_element", None)
            if element is self.yes:
                return True
            if element is self.no:
                return False
            return None
        if event.type != pygame.KEYDOWN:
            return None
        if event.key == pygame.K_ESCAPE:
            return False
        if event.key in ENTER_KEYS and not typing_in_entry(self.manager):
            return self.no not in (self.manager.get_focus_set() or set())
        return None
