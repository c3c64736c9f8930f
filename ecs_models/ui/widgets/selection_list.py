"""A selection list with a desktop's selection rules, whose selection is always the one on show.

pygame_gui's multi-selection list toggles a row on every plain click, so a click adds to a
selection that may have scrolled out of sight, and an action on "the selection" then acts on
rows the person cannot see. Here, as in a file manager:

- a plain click selects that row and only that row (rows scrolled away are dropped too);
- Ctrl-click adds or drops one row;
- Shift-click selects the range from the anchor (the last plain or Ctrl-clicked row) to the
  clicked row; Ctrl+Shift-click adds that range to the selection.

A press reaches the list (through the host's UIManager) before the host's own handler sees the
key events queued after the previous frame: `note_input` is fed every raw event in order, so
the modifiers held at the press are known even when a whole click arrives in one batch with its
key presses (as xdotool's `ctrl+click` does).

The keyboard follows the same rules (`key_move`): Up/Down/PageUp/PageDown/Home/End move the
selection to one row, Shift held extends it from the anchor, Ctrl+A selects every row; the row
moved to scrolls into view. Only the rows in view are drawn (see virtual_list), so thousands of
rows cost what a screenful does.
"""

from __future__ import annotations

from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.widgets.virtual_list import MOVE_KEYS, VirtualList, row_after_key

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


class DesktopSelectionList(VirtualList):
    """Multi-selection with plain, Ctrl and Shift clicks; selection events name the clicked row.

    After each click it posts one UI_SELECTION_LIST_NEW_SELECTION (the clicked row is now
    selected) or UI_SELECTION_LIST_DROPPED_SELECTION (a Ctrl-click dropped it); the whole
    selection is `get_multi_selection()`.
    """

    def __init__(self, *args: Any, multi_select: bool = True, **kwargs: Any) -> None:
        # False: one row at a time (Ctrl and Shift change nothing), for lists an action
        # takes a single model from.
        self.multi_select = multi_select
        self._key_mods = 0
        self._anchor: str | None = None
        self._cursor: str | None = None  # the row the keyboard moves from
        super().__init__(*args, **kwargs)

    # -- input --------------------------------------------------------------------------
    def note_input(self, event: pygame.event.Event) -> None:
        """Feed every raw event, in order: remembers the modifiers the key events leave held."""
        if event.type in (pygame.KEYDOWN, pygame.KEYUP):
            self._key_mods = _mods_after_key(event)
        elif event.type == pygame.WINDOWFOCUSLOST:
            self._key_mods = 0  # the key-ups happen in another window

    def press_mods(self) -> int:
        # The key events seen so far, and SDL's state for a modifier set without events.
        return self._key_mods | int(pygame.key.get_mods())

    def key_move(self, key: int, mods: int) -> bool:
        """Move the selection for a navigation key (Shift extends it); True when it was one."""
        count = len(self.item_list)
        if key == pygame.K_a and mods & CTRL:
            if count and self.multi_select:
                self._select_indices(set(range(count)))
                self._post_selection(self.item_list[self._cursor_index() or 0])
            return True
        if key not in MOVE_KEYS:
            return False
        if not count:
            return True
        page = max(1, self.visible_row_count() - 1)
        target = row_after_key(key, self._cursor_index(), count, page)
        self.click_row(target, pygame.KMOD_SHIFT if mods & pygame.KMOD_SHIFT else 0)
        self.scroll_to_row(target)
        return True

    def cursor_text(self) -> str | None:
        """The row the keyboard is on (the last clicked or moved to), if it is still listed."""
        index = self._cursor_index()
        return self.item_list[index]["text"] if index is not None else None

    def _cursor_index(self) -> int | None:
        for wanted in (self._cursor, self._anchor):
            for index, item in enumerate(self.item_list):
                if wanted is not None and item["text"] == wanted:
                    return index
        for index, item in enumerate(self.item_list):
            if item["selected"]:
                return index
        return None

    def click_row(self, index: int, mods: int = 0) -> None:
        """Apply a click on row `index` with modifiers `mods`, then post the selection event."""
        items = self.item_list
        clicked = items[index]
        self._cursor = clicked["text"]
        if not self.multi_select:
            mods = 0
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
        self._post_selection(clicked)

    def _post_selection(self, row: dict[str, Any]) -> None:
        """NEW_SELECTION when `row` is now selected, else DROPPED_SELECTION, naming `row`."""
        kind = (
            pygame_gui.UI_SELECTION_LIST_NEW_SELECTION
            if row["selected"]
            else pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION
        )
        data = {
            "text": row["text"],
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
