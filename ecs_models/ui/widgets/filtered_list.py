"""A list of installed models with a filter box above it and the count beside it ("12 of 150").

Every view that lists installed models builds one: the filter narrows the rows as the person
types (every word must appear in the row's name, family or tag), Ctrl+F finds the box (see
ui/core/keyboard), Down or Enter there moves into the list, Escape empties it. Rows the filter
hides leave the selection, so an action on "the selection" never reaches a row out of sight.

Filtering runs in the view, on the rows it already holds: 1,000 rows filter in well under a
millisecond, and the list draws only the rows in view (virtual_list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.fit_text import text_width
from ecs_models.ui.widgets.selection_list import DesktopSelectionList

# The box's placeholder, longest first: the longest that fits its width is shown.
FILTER_HINTS = ("Filter by name, family or tag (Ctrl+F)", "Filter (Ctrl+F)", "Filter")
SELECTION_EVENTS = (
    pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
    pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION,
)


class FilterEntry(pygame_gui.elements.UITextEntryLine):
    """The filter's text field: Ctrl+F looks for this type in the view on show."""

    def select_all(self) -> None:
        """Select the whole query, as a find box does on Ctrl+F: typing replaces it."""
        self.select_range = [0, len(self.text)]
        self.edit_position = len(self.text)
        self.cursor_has_moved_recently = True


def count_text(shown: int, total: int, selected: int, noun: str = "models") -> list[str]:
    """The count beside the filter, longest first: '12 of 150  ·  2 selected', '12/150 · 2'."""
    counted = f"{shown} of {total}" if shown != total else f"{total} {noun}"
    short = f"{shown}/{total}" if shown != total else str(total)
    if not selected:
        return [counted, short]
    return [
        f"{counted}  ·  {selected} selected",
        f"{short}  ·  {selected} selected",
        f"{short} · {selected} sel.",
    ]


@dataclass(frozen=True, slots=True)
class Selection:
    """The keys now selected, and the one the details follow (the last clicked)."""

    selected: frozenset[str]
    focused: str | None


class FilteredList:
    """A FilterEntry, a count label and a DesktopSelectionList of (text, key) rows."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        container: Any,
        *,
        entry: pygame.Rect,
        count: pygame.Rect,
        rows: pygame.Rect,
        list_id: str,
        noun: str = "models",
        multi_select: bool = True,
    ) -> None:
        self.manager = manager
        self.noun = noun
        self.entry = FilterEntry(
            relative_rect=entry,
            manager=manager,
            container=container,
            placeholder_text=FILTER_HINTS[0],
        )
        self._fit_hint()
        self.count_label = pygame_gui.elements.UILabel(
            relative_rect=count,
            text="",
            manager=manager,
            container=container,
            object_id=ObjectID(class_id="@ecsm_task_name"),  # left-aligned
        )
        self.list = DesktopSelectionList(
            relative_rect=rows,
            item_list=[],
            manager=manager,
            container=container,
            object_id=ObjectID(object_id=list_id),
            multi_select=multi_select,
        )
        self.query = ""
        self._rows: tuple[tuple[str, str], ...] = ()
        self._search: dict[str, str] = {}
        self._keys: dict[str, str] = {}  # row text -> key, for the rows on show
        self._shown: tuple[str, ...] = ()
        self._haystacks: list[str] = []  # per row, lowered: what the filter searches
        self._matched: list[int] | None = None  # indices of the rows the query matched
        self._selected: frozenset[str] = frozenset()
        self._focused: str | None = None
        self._count = ""

    # -- output ---------------------------------------------------------------------------
    def show(
        self,
        rows: Sequence[tuple[str, str]],
        selected: AbstractSet[str],
        search: Mapping[str, str] | None = None,
    ) -> bool:
        """(text, key) rows, the selected keys, and per key what the filter searches (else
        the row text). True when the rows on show or their highlight changed."""
        wanted = frozenset(selected)
        rows = tuple(rows)
        if rows != self._rows or (search is not None and search != self._search):
            self._rows = rows
            self._search = dict(search) if search is not None else {}
            # Lowered once per change of the rows, never per keystroke.
            self._haystacks = [self._search.get(key, text).lower() for text, key in rows]
            self._matched = None
            changed = self._apply_filter()
        else:
            changed = False
        if changed or wanted != self._selected:
            self._selected = wanted
            self.list.set_selected_texts({t for t, k in self._keys.items() if k in wanted})
            changed = True
        if self._focused not in wanted:
            self._focused = max(wanted) if wanted else None
        self._show_count()
        return changed

    def _apply_filter(self, narrowing: bool = False) -> bool:
        """Put the rows matching the query on show; True when they changed.

        `narrowing`: the query only grew at its end, so only the rows matched before can match.
        """
        words = self.query.lower().split()
        previous = self._matched if narrowing and self._matched is not None else None
        candidates = previous if previous is not None else range(len(self._rows))
        hays = self._haystacks
        if not words:
            matched = list(range(len(self._rows)))
        elif len(words) == 1:
            word = words[0]
            matched = [i for i in candidates if word in hays[i]]
        else:
            matched = [i for i in candidates if all(w in hays[i] for w in words)]
        self._matched = matched
        rows = self._rows
        visible = [rows[i] for i in matched]
        texts = tuple(text for text, _ in visible)
        if texts == self._shown:
            return False
        self._shown = texts
        self._keys = dict(visible)
        self.list.set_item_list(list(texts))
        self.list.set_selected_texts({t for t, k in self._keys.items() if k in self._selected})
        return True

    def _fit_hint(self) -> None:
        room = int(self.entry.relative_rect.width) - 12
        font = getattr(self.entry, "font", None)
        hint = next((h for h in FILTER_HINTS if text_width(font, h) <= room), FILTER_HINTS[-1])
        if hint != self.entry.placeholder_text:
            self.entry.placeholder_text = hint
            if not self.entry.get_text():
                self.entry.rebuild()  # type: ignore[no-untyped-call]  # draws the placeholder

    def _show_count(self) -> None:
        candidates = count_text(len(self._shown), len(self._rows), len(self._selected), self.noun)
        room = int(self.count_label.relative_rect.width) - 8
        font = self.count_label.font
        text = next((c for c in candidates if text_width(font, c) <= room), candidates[-1])
        if text != self._count:
            self._count = text
            self.count_label.set_text(text)

    @property
    def shown_keys(self) -> list[str]:
        return [self._keys[text] for text in self._shown]

    @property
    def selected(self) -> frozenset[str]:
        return self._selected

    # -- input ----------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event, element: object) -> Selection | None:
        """React to this list's and this filter's events; a Selection when it changed."""
        if element is self.entry and event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED:
            return self.set_query(self.entry.get_text())
        if element is self.entry and event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED:
            self.enter_list()
            return None
        if element is self.list and event.type in SELECTION_EVENTS:
            return self._picked(event)
        return None

    def follow_typing(self, event: pygame.event.Event) -> Selection | None:
        """Filter in the frame of the keystroke itself: the host's UIManager has already put
        a typed key (or a deletion) into the box, and its change event would come a frame
        later (then it finds the query unchanged)."""
        if event.type not in (pygame.TEXTINPUT, pygame.KEYDOWN) or not self.entry.is_focused:
            return None
        return self.set_query(self.entry.get_text())

    def handle_key(self, event: pygame.event.Event) -> bool:
        """Keys in the filter box: Down moves into the list, Escape empties the box."""
        if event.type != pygame.KEYDOWN or not self.entry.is_focused:
            return False
        if event.key in (pygame.K_DOWN, pygame.K_PAGEDOWN):
            self.enter_list()
            return True
        if event.key == pygame.K_ESCAPE and self.entry.get_text():
            self.entry.set_text("")
            self.set_query("")  # set_text posts no change event
            return True
        return False

    def set_query(self, query: str) -> Selection | None:
        """Filter by `query`; a Selection when rows it hides were selected."""
        if query == self.query:
            return None
        narrowing = bool(self.query) and query.startswith(self.query)
        self.query = query
        self._apply_filter(narrowing)
        self._show_count()
        kept = self._selected & set(self._keys.values())
        if kept == self._selected:
            return None
        self._selected = kept
        if self._focused not in kept:
            self._focused = max(kept) if kept else None
        self._show_count()
        return Selection(kept, self._focused)

    def enter_list(self) -> None:
        """Give the list the keyboard; with nothing selected, its first row is selected."""
        self.manager.set_focus_set(self.list)
        if not self.list.get_multi_selection() and self.list.item_list:
            self.list.key_move(pygame.K_HOME, 0)

    def focus_filter(self) -> None:
        self.manager.set_focus_set(self.entry)

    def _picked(self, event: pygame.event.Event) -> Selection:
        selected = frozenset(
            self._keys[text] for text in self.list.get_multi_selection() if text in self._keys
        )
        clicked = self._keys.get(getattr(event, "text", ""))
        if event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION and clicked is not None:
            self._focused = clicked
        elif self._focused not in selected:
            self._focused = max(selected) if selected else None
        self._selected = selected
        self._show_count()
        return Selection(selected, self._focused)

    # -- geometry ---------------------------------------------------------------------------
    def place(self, entry: pygame.Rect, count: pygame.Rect, rows: pygame.Rect) -> None:
        for element, rect in ((self.entry, entry), (self.count_label, count), (self.list, rows)):
            element.set_relative_position(rect.topleft)
            element.set_dimensions(rect.size)
        self._count = ""
        self._show_count()
        self._fit_hint()

    def kill(self) -> None:
        for element in (self.entry, self.count_label, self.list):
            element.kill()
