"""A list that draws only the rows in view, as one image: thousands of rows, a frame's work.

pygame_gui's UISelectionList builds a button per visible row on every `set_item_list` (about
1 ms each, 25 ms for a 24-row view) and per row scrolled into view; relabelling a button still
redraws its five states (0.3-0.6 ms). A filter that changes the rows on every keystroke cannot
afford either. Here the rows are data; the visible ones are drawn as text on one surface
(about 0.05 ms a row, and rendered texts are cached), so new rows, scrolling and hovering cost
a millisecond or two however many rows there are.

It keeps UISelectionList's surface: `item_list` holds a dict per row ("text", "selected",
"object_id", and "button_element", a RowHandle with the row's screen `rect` while the row is
in view, else None), `set_item_list`, `get_multi_selection`, and the UI_SELECTION_LIST_* events,
and it takes the theme of a selection list and its `@selection_list_item` rows. A row too long
for the width is cut (its first column loses its middle) and shows the whole text on hover.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID, UIElement

from ecs_models.ui.core.fit_text import fit_row

ROW_HEIGHT = 20  # as pygame_gui's list_item_height
SCROLL_BAR_WIDTH = 20
BORDER = 1
TEXT_PADDING = 6
DOUBLE_CLICK_S = 0.4
TOOLTIP_DELAY_S = 0.8
_TEXT_CACHE_LIMIT = 512
_DEFAULT_ROW_ID = "#item_list_item"


# The keys that move a list's selection, and where each moves it.
MOVE_KEYS = (
    pygame.K_UP,
    pygame.K_DOWN,
    pygame.K_PAGEUP,
    pygame.K_PAGEDOWN,
    pygame.K_HOME,
    pygame.K_END,
)


def row_after_key(key: int, current: int | None, count: int, page: int) -> int:
    """The row a MOVE_KEYS key moves to from row `current` (None: no row yet) of `count`
    rows, `page` rows a page; always a row of the list (count > 0)."""
    if current is None:
        target = count - 1 if key == pygame.K_END else 0
    else:
        target = {
            pygame.K_UP: current - 1,
            pygame.K_DOWN: current + 1,
            pygame.K_PAGEUP: current - page,
            pygame.K_PAGEDOWN: current + page,
            pygame.K_HOME: 0,
            pygame.K_END: count - 1,
        }[key]
    return max(0, min(count - 1, target))


def _new_row(key: tuple[str, str]) -> dict[str, Any]:
    return {"text": key[0], "object_id": key[1], "selected": False, "button_element": None}


@dataclass(slots=True)
class RowHandle:
    """A visible row: what it shows (the whole text is the item's) and where, on screen."""

    owner: UIElement
    local: pygame.Rect  # in the list's own coordinates
    text: str
    tool_tip_text: str | None
    state: str  # as drawn: "selected", "hovered" or "normal"

    @property
    def rect(self) -> pygame.Rect:
        return self.local.move(self.owner.rect.topleft)


@dataclass(frozen=True, slots=True)
class RowColours:
    """One row style's colours (per object id), read from the theme once."""

    normal_bg: pygame.Color
    hovered_bg: pygame.Color
    selected_bg: pygame.Color
    normal_text: pygame.Color
    hovered_text: pygame.Color
    selected_text: pygame.Color


class VirtualList(UIElement):
    """Rows drawn by hand into one image; a pygame_gui scroll bar beside them when needed.

    `click_row(index, mods)` applies a click (single selection here; subclasses add rules).
    """

    def __init__(
        self,
        relative_rect: pygame.Rect,
        item_list: list[str | tuple[str, str]],
        manager: pygame_gui.UIManager,
        *,
        container: Any = None,
        object_id: ObjectID | str | None = None,
        starting_height: int = 1,
        visible: int = 1,
        **_ignored: Any,  # UISelectionList's allow_multi_select/allow_double_clicks
    ) -> None:
        super().__init__(
            relative_rect,
            manager,
            container,
            starting_height=starting_height,
            layer_thickness=1,
            visible=visible,
            object_id=object_id,
            element_id=["selection_list"],
        )
        self.item_list: list[dict[str, Any]] = []
        self._row_dicts: dict[tuple[str, str], dict[str, Any]] = {}
        self._handled: list[dict[str, Any]] = []  # the rows given a RowHandle by the last draw
        self.list_item_height = ROW_HEIGHT
        self.scroll_bar: pygame_gui.elements.UIVerticalScrollBar | None = None
        self._offset = 0.0  # pixels of rows scrolled above the view
        self._hovered_row: int | None = None
        self._hover_since = 0.0
        self._pressed_row: int | None = None
        self._last_click: tuple[int, float] = (-1, 0.0)
        self._row_tool_tip: Any = None
        self._colours: dict[str, RowColours] = {}
        self._texts: dict[tuple[str, str, int], pygame.Surface] = {}
        self._fitted: dict[tuple[str, int], str] = {}
        self._drawn_key: tuple[object, ...] | None = None
        self._read_theme()
        self.set_item_list(item_list)

    # -- theme --------------------------------------------------------------------------
    def _read_theme(self) -> None:
        theme = self.ui_theme
        ids = self.combined_element_ids
        self.background = pygame.Color(theme.get_colour("dark_bg", ids))
        self.border_colour = pygame.Color(theme.get_colour("normal_border", ids))
        self.font = theme.get_font(self._row_ids(_DEFAULT_ROW_ID))
        self._colours.clear()
        self._texts.clear()
        self._fitted.clear()
        self._drawn_key = None

    def rebuild_from_changed_theme_data(self) -> None:
        super().rebuild_from_changed_theme_data()  # type: ignore[no-untyped-call]
        self._read_theme()
        self._redraw()

    def _row_ids(self, object_id: str) -> list[str]:
        return self.ui_theme.build_all_combined_ids(
            [*self.element_base_ids, None],
            [*self.element_ids, "button"],
            [*self.class_ids, "@selection_list_item"],
            [*self.object_ids, object_id],
        )

    def _row_colours(self, object_id: str) -> RowColours:
        colours = self._colours.get(object_id)
        if colours is None:
            ids = self._row_ids(object_id)

            def colour(name: str) -> pygame.Color:
                return pygame.Color(self.ui_theme.get_colour(name, ids))

            colours = RowColours(
                normal_bg=colour("normal_bg"),
                hovered_bg=colour("hovered_bg"),
                selected_bg=colour("selected_bg"),
                normal_text=colour("normal_text"),
                hovered_text=colour("hovered_text"),
                selected_text=colour("selected_text"),
            )
            self._colours[object_id] = colours
        return colours

    # -- rows ---------------------------------------------------------------------------
    def set_item_list(self, new_item_list: list[str | tuple[str, str]]) -> None:
        """New rows, none selected; the scroll position stays where it can."""
        # A filter shows subsets of the same rows keystroke after keystroke: their dicts are
        # reused, so a thousand rows are a thousand look-ups, not a thousand new objects.
        known = self._row_dicts
        if len(known) > 4 * max(len(new_item_list), 1024):
            known.clear()
        keys = [(raw, _DEFAULT_ROW_ID) if isinstance(raw, str) else raw for raw in new_item_list]
        rows = [known.get(key) or known.setdefault(key, _new_row(key)) for key in keys]
        if len({id(row) for row in rows}) != len(rows):
            # A text listed twice: each occurrence needs its own selection flag.
            seen: set[int] = set()
            for index, row in enumerate(rows):
                if id(row) in seen:
                    rows[index] = _new_row(keys[index])
                seen.add(id(row))
        for row in rows:
            row["selected"] = False
            row["button_element"] = None
        self.item_list = rows
        self._hovered_row = None
        self._drawn_key = None  # the new rows need their handles even if they look the same
        self._kill_row_tool_tip()
        self._fit_scroll_bar()
        self._redraw()

    def get_multi_selection(self) -> list[str]:
        return [item["text"] for item in self.item_list if item["selected"]]

    def selected_count(self) -> int:
        return sum(1 for item in self.item_list if item["selected"])

    def _select_indices(self, wanted: set[int]) -> None:
        for index, item in enumerate(self.item_list):
            item["selected"] = index in wanted
        self._redraw()

    def click_row(self, index: int, mods: int = 0) -> None:
        """A click on row `index`: it alone is selected (subclasses add Ctrl and Shift)."""
        self._select_indices({index})
        self._post(pygame_gui.UI_SELECTION_LIST_NEW_SELECTION, self.item_list[index])

    def _post(self, kind: int, row: dict[str, Any]) -> None:
        data = {
            "text": row["text"],
            "ui_element": self,
            "ui_object_id": self.most_specific_combined_id,
        }
        pygame.event.post(pygame.event.Event(kind, data))

    def activate_row(self, index: int) -> None:
        """Double click or Enter on a row: UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION."""
        if 0 <= index < len(self.item_list):
            self._post(pygame_gui.UI_SELECTION_LIST_DOUBLE_CLICKED_SELECTION, self.item_list[index])

    # -- geometry -----------------------------------------------------------------------
    def _inner(self) -> pygame.Rect:
        """The rows' area in the element's own coordinates (inside the border, beside the bar)."""
        bar = SCROLL_BAR_WIDTH if self.scroll_bar is not None else 0
        width, height = self.relative_rect.size
        return pygame.Rect(
            BORDER, BORDER, max(0, width - 2 * BORDER - bar), max(0, height - 2 * BORDER)
        )

    def _max_offset(self) -> float:
        return max(0.0, len(self.item_list) * self.list_item_height - self._inner().height)

    def visible_row_count(self) -> int:
        return max(1, self._inner().height // self.list_item_height)

    def scroll_offset(self) -> float:
        return self._offset

    def _fit_scroll_bar(self) -> None:
        """A pygame_gui scroll bar at the right edge while the rows are taller than the view."""
        rows_height = len(self.item_list) * self.list_item_height
        view = max(1, self.relative_rect.height - 2 * BORDER)
        if rows_height <= view:
            if self.scroll_bar is not None:
                self.scroll_bar.kill()
                self.scroll_bar = None
            self._offset = 0.0
            return
        rect = pygame.Rect(
            self.relative_rect.right - BORDER - SCROLL_BAR_WIDTH,
            self.relative_rect.top + BORDER,
            SCROLL_BAR_WIDTH,
            view,
        )
        if self.scroll_bar is None:
            self.scroll_bar = pygame_gui.elements.UIVerticalScrollBar(
                rect,
                visible_percentage=view / rows_height,
                manager=self.ui_manager,
                container=self.ui_container,
                parent_element=self,
                visible=self.visible,
            )
            # The wheel scrolls a bar while anything of its focus set is hovered: the rows too.
            self.join_focus_sets(self.scroll_bar)
        else:
            self.scroll_bar.set_relative_position(rect.topleft)
            self.scroll_bar.set_dimensions(rect.size)
            self.scroll_bar.set_visible_percentage(view / rows_height)
        self._set_offset(self._offset)

    def _set_offset(self, offset: float) -> None:
        self._offset = max(0.0, min(offset, self._max_offset()))
        bar = self.scroll_bar
        if bar is not None:
            rows_height = max(1, len(self.item_list) * self.list_item_height)
            bar.set_scroll_from_start_percentage(self._offset / rows_height)
            self._bar_start = bar.start_percentage

    def scroll_to_row(self, index: int) -> None:
        """Scroll as little as needed for row `index` to be wholly in view."""
        height, view = self.list_item_height, self._inner().height
        top = index * height
        if top < self._offset:
            self._set_offset(top)
        elif top + height > self._offset + view:
            self._set_offset(top + height - view)
        self._redraw()

    def set_relative_position(self, position: Any) -> None:
        super().set_relative_position(position)
        self._fit_scroll_bar()

    def set_dimensions(self, dimensions: Any, clamp_to_container: bool = False) -> None:
        super().set_dimensions(dimensions, clamp_to_container)
        self._fit_scroll_bar()
        self._redraw()

    def show(self, *args: Any, **kwargs: Any) -> None:
        super().show(*args, **kwargs)  # type: ignore[no-untyped-call]
        if self.scroll_bar is not None:
            self.scroll_bar.show()

    def hide(self, *args: Any, **kwargs: Any) -> None:
        super().hide(*args, **kwargs)  # type: ignore[no-untyped-call]
        if self.scroll_bar is not None:
            self.scroll_bar.hide()
        self._kill_row_tool_tip()

    def kill(self) -> None:
        if self.scroll_bar is not None:
            self.scroll_bar.kill()
            self.scroll_bar = None
        self._kill_row_tool_tip()
        super().kill()  # type: ignore[no-untyped-call]

    # -- drawing ------------------------------------------------------------------------
    def _row_range(self) -> range:
        height, view = self.list_item_height, self._inner().height
        first = int(self._offset // height)
        last = min(len(self.item_list) - 1, math.ceil((self._offset + view) / height) - 1)
        return range(first, last + 1)

    def _redraw(self) -> None:
        """Draw the border, the background and the rows in view; set each row's handle."""
        inner = self._inner()
        key = (
            self.relative_rect.size,
            self._offset,
            self._hovered_row,
            self.scroll_bar is not None,
            tuple((i["text"], i["selected"], i["object_id"]) for i in self._visible_items()),
        )
        if key == self._drawn_key:
            return
        self._drawn_key = key
        surface = pygame.Surface(self.relative_rect.size)
        surface.fill(self.background)
        pygame.draw.rect(surface, self.border_colour, surface.get_rect(), BORDER)
        for item in self._handled:  # only the rows that were in view have a handle
            item["button_element"] = None
        self._handled = []
        surface.set_clip(inner)
        height = self.list_item_height
        for index in self._row_range():
            item = self.item_list[index]
            row = pygame.Rect(
                inner.x, inner.y + index * height - int(self._offset), inner.width, height
            )
            shown = self._fit(item["text"], inner.width - 2 * TEXT_PADDING)
            state = self._draw_row(surface, row, item, shown, index == self._hovered_row)
            self._handled.append(item)
            item["button_element"] = RowHandle(
                owner=self,
                local=row.clip(inner),
                text=shown,
                tool_tip_text=item["text"] if shown != item["text"] else None,
                state=state,
            )
        surface.set_clip(None)
        self._set_image(surface)

    def _visible_items(self) -> list[dict[str, Any]]:
        return [self.item_list[i] for i in self._row_range()]

    def _draw_row(
        self,
        surface: pygame.Surface,
        row: pygame.Rect,
        item: dict[str, Any],
        shown: str,
        hovered: bool,
    ) -> str:
        """Draw one row; returns the state it is drawn in."""
        colours = self._row_colours(item["object_id"])
        if item["selected"]:
            state, bg, fg = "selected", colours.selected_bg, colours.selected_text
        elif hovered:
            state, bg, fg = "hovered", colours.hovered_bg, colours.hovered_text
        else:
            state, bg, fg = "normal", colours.normal_bg, colours.normal_text
        surface.fill(bg, row)
        text = self._text_surface(shown, fg)
        y = row.y + (row.height - text.get_height()) // 2
        surface.blit(text, (row.x + TEXT_PADDING, y))
        return state

    def _text_surface(self, text: str, colour: pygame.Color) -> pygame.Surface:
        key = (text, str(colour), id(self.font))
        cached = self._texts.get(key)
        if cached is None:
            if len(self._texts) >= _TEXT_CACHE_LIMIT:
                self._texts.clear()
            inner = getattr(self.font, "_GUIFontPygame__internal_font", None)
            if inner is not None:
                cached = inner.render(text, True, colour)
            else:
                cached = self.font.render_premul(text, colour)
            self._texts[key] = cached
        return cached

    def _fit(self, text: str, width: int) -> str:
        key = (text, width)
        fitted = self._fitted.get(key)
        if fitted is None:
            if len(self._fitted) >= 4 * _TEXT_CACHE_LIMIT:
                self._fitted.clear()
            fitted = fit_row(self.font, text, width)
            self._fitted[key] = fitted
        return fitted

    # -- input --------------------------------------------------------------------------
    def row_at(self, pos: tuple[int, int]) -> int | None:
        """The row under a screen position, if any."""
        inner = self._inner().move(self.rect.topleft)
        if not inner.collidepoint(pos):
            return None
        index = int((pos[1] - inner.y + self._offset) // self.list_item_height)
        return index if 0 <= index < len(self.item_list) else None

    def press_mods(self) -> int:
        """The modifiers of a click (a subclass may know better than SDL's current state)."""
        return int(pygame.key.get_mods())

    def process_event(self, event: pygame.event.Event) -> bool:
        if not (self.visible and self.is_enabled):
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 0) == 1:
            pos = self.ui_manager.calculate_scaled_mouse_position(event.pos)
            if not self.rect.collidepoint(pos):
                return False
            self._pressed_row = self.row_at(pos)
            self._pressed_mods = self.press_mods()
            return True
        if event.type == pygame.MOUSEBUTTONUP and getattr(event, "button", 0) == 1:
            pressed, self._pressed_row = self._pressed_row, None
            if pressed is None:
                return False
            pos = self.ui_manager.calculate_scaled_mouse_position(event.pos)
            if self.row_at(pos) != pressed:
                return False
            self.click_row(pressed, self._pressed_mods)
            # A second plain click on the row soon after the first also activates it; a click
            # with Ctrl or Shift held is only ever a selection.
            now = time.monotonic()
            last_row, last_at = self._last_click
            plain = not self._pressed_mods & (
                pygame.KMOD_CTRL | pygame.KMOD_SHIFT | pygame.KMOD_META
            )
            if plain and last_row == pressed and now - last_at <= DOUBLE_CLICK_S:
                self._last_click = (-1, 0.0)
                self.activate_row(pressed)
            else:
                self._last_click = (pressed, now) if plain else (-1, 0.0)
            return True
        return False

    def update(self, time_delta: float) -> None:
        super().update(time_delta)
        bar = self.scroll_bar
        if bar is not None and bar.start_percentage != getattr(self, "_bar_start", None):
            # Dragged, wheeled or arrowed: follow the bar.
            self._bar_start = bar.start_percentage
            rows_height = len(self.item_list) * self.list_item_height
            self._offset = max(0.0, min(bar.start_percentage * rows_height, self._max_offset()))
            self._redraw()

    def while_hovering(self, time_delta: float, mouse_pos: Any) -> None:
        row = self.row_at((int(mouse_pos[0]), int(mouse_pos[1])))
        if row != self._hovered_row:
            self._hovered_row = row
            self._hover_since = time.monotonic()
            self._kill_row_tool_tip()
            self._redraw()
        elif row is not None and self._row_tool_tip is None:
            handle = self.item_list[row]["button_element"]
            cut = handle is not None and handle.tool_tip_text is not None
            if cut and time.monotonic() - self._hover_since >= TOOLTIP_DELAY_S:
                self._row_tool_tip = self.ui_manager.create_tool_tip(
                    text=handle.tool_tip_text,
                    position=(int(mouse_pos[0]), handle.rect.centery),
                    hover_distance=(0, handle.rect.height // 2),
                    parent_element=self,
                    object_id=None,
                    wrap_width=max(200, self.rect.width),
                )

    def on_unhovered(self) -> None:
        super().on_unhovered()  # type: ignore[no-untyped-call]
        if self._hovered_row is not None:
            self._hovered_row = None
            self._redraw()
        self._kill_row_tool_tip()

    def _kill_row_tool_tip(self) -> None:
        if self._row_tool_tip is not None:
            self._row_tool_tip.kill()
            self._row_tool_tip = None
