"""A text entry whose placeholder stays visible while it is focused and empty."""

from __future__ import annotations

import pygame
import pygame_gui


class ModelNameEntry(pygame_gui.elements.UITextEntryLine):
    """pygame_gui hides a placeholder as soon as its entry takes focus.

    Ours takes focus when the panel opens, so that a person can type at once: without this a
    person would never see the "Enter a model name" hint. The hint is swapped out of the text
    layout just before a key is handled and swapped back whenever the entry is empty again.
    """

    _hint_shown = False

    def _show_hint(self) -> None:
        shape = self.drawable_shape
        if shape is None or shape.text_box_layout is None:
            return
        self.edit_position = 0
        shape.set_text(self.placeholder_text)
        shape.text_box_layout.set_cursor_position(0)
        shape.apply_active_text_changes()
        shape.text_box_layout.turn_on_cursor()
        self._hint_shown = True
        self.redraw()  # type: ignore[no-untyped-call]

    def _hide_hint(self) -> None:
        shape = self.drawable_shape
        if shape is None or shape.text_box_layout is None:
            return
        shape.set_text("")
        shape.text_box_layout.set_cursor_position(0)
        shape.apply_active_text_changes()
        self._hint_shown = False

    def focus(self) -> None:
        super().focus()  # type: ignore[no-untyped-call]
        if not self.text:
            self._show_hint()

    def unfocus(self) -> None:
        self._hint_shown = False  # pygame_gui draws its own placeholder when unfocused
        super().unfocus()  # type: ignore[no-untyped-call]

    def set_text(self, text: str | None) -> None:
        super().set_text(text)
        if self.is_focused and not self.text:
            self._show_hint()

    def process_event(self, event: pygame.event.Event) -> bool:
        typing = event.type in (pygame.TEXTINPUT, pygame.KEYDOWN)
        if self._hint_shown and self.is_focused and typing:
            self._hide_hint()
        consumed = bool(super().process_event(event))
        if self.is_focused and not self.text and not self._hint_shown:
            self._show_hint()
        return consumed
