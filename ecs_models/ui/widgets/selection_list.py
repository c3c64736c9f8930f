"""A selection list with a desktop's selection rules, whose selection is always the one on show.

pygame_gui's multi-selection list toggles a row on every plain click, so a click adds to a
selection that may have scrolled out of sight, and an action on "the selection" then acts on
rows the person cannot see. Here, as in a file manager:

- a plain click selects that row and only that row (rows scrolled away are dropped too);
- Ctrl-click adds or drops one row;
- Shift-click selects the range from the anchor (the last plain or Ctrl-clicked row) to the
  clicked row; Ctrl+Shift-click adds that range to the selection.

pygame_gui reports a click on a row as UI_BUTTON_PRESSED from the row's button, one frame after
the mouse went up and without the keyboard modifiers. `note_input` is fed every raw event in
order, so the modifiers held at the press are known even when a whole click arrives in one
batch with its key presses (as xdotool's `ctrl+click` does).
"""

from __future__ import annotations

from typing import Any

import pygame
import pygame_gui

_CTRL_KEYS = (pygame.K_LCTRL, pygame.K_RCTRL, pygame.K_LMETA, pygame.K_RMETA)
_SHIFT_KEYS = (pygame.K_LSHIFT, pygame.K_RSHIFT)
CTRL = pygame.KMOD_CTRL | pygame.KMOD_META  # Cmd-click on a Mac keyboard


def _mods_after_key(event: pygame.event.Event) -> int:
    """The modifiers held once this key event has happened (SDL's `mod` may predate it)."""
    mods = int(getattr(event, "mod", 0))
    key = getattr(event, "key", None)
    for keys, bits in ((_CTRL_KEYS, CTRL), (_SHIFT_KEYS, pygame.KMOD_SHIFT)):
        if key in keys:
            mods = mods | bits if event.type == pygame.KEYDOWN else mods & ~bits
    return mods


class DesktopSelectionList(pygame_gui.elements.UISelectionList):
    """Multi-selection with plain, Ctrl and Shift clicks; selection events name the clicked row.

    After each click it posts one UI_SELECTION_LIST_NEW_SELECTION (the clicked row is now
    selected) or UI_SELECTION_LIST_DROPPED_SELECTION (a Ctrl-click dropped it); the whole
    selection is `get_multi_selection()`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_multi_select"] = True
        kwargs["allow_double_clicks"] = False
        super().__init__(*args, **kwargs)
        self._key_mods = 0
        self._press_mods = 0
        self._anchor: str | None = None

    # -- input --------------------------------------------------------------------------
    def note_input(self, event: pygame.event.Event) -> None:
        """Feed every raw event, in order: remembers the modifiers held at each mouse press."""
        if event.type in (pygame.KEYDOWN, pygame.KEYUP):
            self._key_mods = _mods_after_key(event)
        elif event.type == pygame.WINDOWFOCUSLOST:
            self._key_mods = 0  # the key-ups happen in another window
        elif event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 0) == 1:
            # The key events seen so far, and SDL's state for a modifier set without events.
            self._press_mods = self._key_mods | pygame.key.get_mods()

    def process_event(self, event: pygame.event.Event) -> bool:
        if (
            self.is_enabled
            and event.type == pygame_gui.UI_BUTTON_PRESSED
            and self.item_list_container is not None
            and event.ui_element in self.item_list_container.elements
        ):
            index = self._index_of_button(event.ui_element)
            if index is not None:
                self.click_row(index, self._press_mods)
            return False
        return bool(super().process_event(event))

    def _index_of_button(self, button: object) -> int | None:
        for index, item in enumerate(self.item_list):
            if item["button_element"] is button:
                return index
        return None

    def click_row(self, index: int, mods: int = 0) -> None:
        """Apply a click on row `index` with modifiers `mods`, then post the selection event."""
        items = self.item_list
        clicked = items[index]
        anchor = self._anchor_index()
        if mods & pygame.KMOD_SHIFT and anchor is not None:
            low, high = sorted((anchor, index))
            keep_others = bool(mods & CTRL)
            wanted = {i for i, item in enumerate(items) if keep_others and item["selected"]} | set(
                range(low, high + 1)
            )
        elif mods & CTRL:
            wanted = {i for i, item in enumerate(items) if item["selected"]} ^ {index}
            self._anchor = clicked["text"]
        else:
            wanted = {index}
            self._anchor = clicked["text"]
        self._select_indices(wanted)
        button = clicked["button_element"]
        if button is not None:
            # The button drew itself "normal" when the mouse went up on it; a row that was
            # already selected (so not changed above) must be drawn selected again.
            (button.select if clicked["selected"] else button.unselect)()
        kind = (
            pygame_gui.UI_SELECTION_LIST_NEW_SELECTION
            if clicked["selected"]
            else pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION
        )
        data = {
            "text": clicked["text"],
            "ui_element": self,
            "ui_object_id": self.most_specific_combined_id,
        }
        pygame.event.post(pygame.event.Event(kind, data))

    def _anchor_index(self) -> int | None:
        for index, item in enumerate(self.item_list):
            if item["text"] == self._anchor:
                return index
        return None

    # -- output -------------------------------------------------------------------------
    def set_selected_texts(self, texts: set[str] | frozenset[str]) -> None:
        """Select exactly the rows with these texts (the owner's state, after a rebuild)."""
        self._select_indices({i for i, item in enumerate(self.item_list) if item["text"] in texts})
        if self._anchor is not None and self._anchor_index() is None:
            self._anchor = None

    def _select_indices(self, wanted: set[int]) -> None:
        # Rows scrolled out of view have no button: their flag is what `update` draws later.
        for index, item in enumerate(self.item_list):
            selected = index in wanted
            if item["selected"] != selected:
                item["selected"] = selected
                button = item["button_element"]
                if button is not None:
                    (button.select if selected else button.unselect)()

    def retext(self, texts: list[str]) -> bool:
        """Change the rows' texts in place, keeping scroll and selection (a badge's age moved
        on); False, changing nothing, when the row count differs: then set_item_list."""
        if len(texts) != len(self.item_list):
            return False
        for item, text in zip(self.item_list, texts, strict=True):
            if item["text"] == text:
                continue
            if self._anchor == item["text"]:
                self._anchor = text
            item["text"] = text
            button = item["button_element"]
            if button is not None:  # rows scrolled out of view get their button from `text`
                button.set_text(text)
        raw: list[str | tuple[str, str]] = list(texts)
        self._raw_item_list = raw  # what a rebuild (a resize, a theme change) shows
        return True

    def selected_count(self) -> int:
        return sum(1 for item in self.item_list if item["selected"])
