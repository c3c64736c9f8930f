"""A single-select list whose rows carry keys, rebuilt only when its rows really change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygame
import pygame_gui


class KeyedList:
    """Wraps a UISelectionList: rows are (text, key); the selection is a key.

    set_item_list costs about 15 ms for 50 rows and drops the selection, so `show` compares
    with what is on screen first and re-selects the chosen key after a rebuild.
    """

    def __init__(self, widget: pygame_gui.elements.UISelectionList) -> None:
        self.widget = widget
        self._keys: dict[str, str] = {}
        self._texts: tuple[str, ...] = ()
        self._selected: str | None = None

    def show(self, rows: Sequence[tuple[str, str]], selected: str | None) -> bool:
        """True when the list was rebuilt or its highlight moved."""
        texts = tuple(text for text, _ in rows)
        if texts == self._texts and selected == self._selected:
            return False
        if texts != self._texts:
            self._texts = texts
            self._keys = {text: key for text, key in rows}
            self.widget.set_item_list(list(texts))
        for item in self.widget.item_list:
            wanted = self._keys.get(item["text"]) == selected and selected is not None
            if item["selected"] != wanted:
                item["selected"] = wanted
                button = item["button_element"]
                if button is not None:
                    if wanted:
                        button.select()
                    else:
                        button.unselect()
        self._selected = selected
        return True

    def key_of(self, event: pygame.event.Event) -> str | None:
        """The key of the row a NEW_SELECTION event picked."""
        key = self._keys.get(getattr(event, "text", ""))
        if key is not None:
            self._selected = key
        return key

    @property
    def texts(self) -> tuple[str, ...]:
        return self._texts

    def item_button(self, key: str) -> Any:
        """The row button of `key` (None when scrolled out of view or absent): for tests."""
        for item in self.widget.item_list:
            if self._keys.get(item["text"]) == key:
                return item["button_element"]
        return None
