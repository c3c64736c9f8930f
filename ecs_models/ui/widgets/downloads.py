"""A scrollable list of downloads (or transfers): name, progress bar and up to three buttons a row.

Every download stays reachable: rows beyond the visible ones scroll (wheel or scroll bar)
instead of collapsing into an unclickable "and 2 more". A row's buttons are what its state
allows (Pause; Resume, Discard, Dismiss; Retry...), named by the caller. Names are shortened
in the middle (`host…/model:tag`) with the whole name on hover; a failed row's whole sentence
shows on hovering its bar. With no rows the list hides and its owner gives the room away.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.layout import ROW
from ecs_models.ui.core.visibility import kill
from ecs_models.ui.widgets.elide import elide_name
from ecs_models.ui.widgets.progress_bar import TransferProgressBar

NAME_MIN_WIDTH = 160
NAME_MAX_WIDTH = 380  # a 1920 px window shows `host…/model:tag` of most names whole
BUTTON_WIDTH = 76
GAP = 6
MAX_ACTIONS = 3
HEADER = 26  # the title line and its "Clear finished" button
CLEAR_WIDTH = 120
SCROLL_BAR = 20  # pygame_gui's vertical scroll bar takes this much of the width
ROW_HEIGHT = ROW - 4


@dataclass(frozen=True, slots=True)
class DownloadRowView:
    """What one row shows; `actions` are button labels, `detail` the bar's hover text."""

    task_entity: int
    name: str
    fraction: float
    caption: str
    actions: tuple[str, ...]
    detail: str = ""


def list_height(count: int, max_rows: int, *, header: bool = True) -> int:
    """The height a list of `count` rows takes when at most `max_rows` show (0 when empty)."""
    if count <= 0:
        return 0
    return (HEADER if header else 0) + min(count, max_rows) * ROW


class DownloadRow:
    """One row's widgets inside the scrolling container; each setter skips unchanged values."""

    def __init__(self, manager: pygame_gui.UIManager, container: Any) -> None:
        self.manager = manager
        self.container = container
        self.task_entity: int | None = None
        self.actions: tuple[str, ...] = ()
        self._name = ""
        self._detail = ""
        self.name_label = pygame_gui.elements.UILabel(
            relative_rect=pygame.Rect(0, 0, NAME_MIN_WIDTH, ROW_HEIGHT),
            text="",
            manager=manager,
            container=container,
            object_id=ObjectID(class_id="@ecsm_task_name"),
        )
        self.bar = TransferProgressBar(
            relative_rect=pygame.Rect(0, 0, 40, ROW_HEIGHT),
            manager=manager,
            container=container,
            object_id=ObjectID(object_id="#ecsm_task_bar"),
        )
        self.buttons: list[pygame_gui.elements.UIButton] = []
        self._rect = pygame.Rect(0, 0, 0, 0)

    def place(self, rect: pygame.Rect) -> None:
        if rect == self._rect:
            return
        self._rect = pygame.Rect(rect)
        actions_w = MAX_ACTIONS * BUTTON_WIDTH + (MAX_ACTIONS - 1) * 4
        # Wider windows give the name more room before it is shortened.
        name_w = max(NAME_MIN_WIDTH, min(NAME_MAX_WIDTH, int(rect.width * 0.28)))
        self.name_label.set_relative_position(rect.topleft)
        self.name_label.set_dimensions((name_w, ROW_HEIGHT))
        bar_w = max(40, rect.width - name_w - actions_w - 2 * GAP)
        self.bar.set_relative_position((rect.x + name_w + GAP, rect.y))
        self.bar.set_dimensions((bar_w, ROW_HEIGHT))
        self._place_buttons()
        self._name = ""  # the label's room may differ: shorten the name again

    def _place_buttons(self) -> None:
        # Right-aligned, so Dismiss (the last) is always at the row's end.
        right = self._rect.right
        for i, button in enumerate(reversed(self.buttons[: len(self.actions)])):
            x = right - (i + 1) * BUTTON_WIDTH - i * 4
            button.set_relative_position((x, self._rect.y))

    def show_row(self, view: DownloadRowView) -> None:
        self.task_entity = view.task_entity
        if view.name != self._name:
            self._name = view.name
            font = self.name_label.font
            width = self.name_label.rect.width - 8
            shown = view.name if font is None else elide_name(view.name, width, _width_of(font))
            self.name_label.set_text(shown)
            # The whole name on hover, only when it had to be shortened.
            self.name_label.set_tooltip(html.escape(view.name) if shown != view.name else None)
        self.bar.show_progress(view.fraction, view.caption)
        if view.detail != self._detail:
            self._detail = view.detail
            self.bar.set_tooltip(html.escape(view.detail) if view.detail else None)
        if view.actions != self.actions:
            self._show_actions(view.actions)

    def _show_actions(self, actions: tuple[str, ...]) -> None:
        while len(self.buttons) < len(actions):
            self.buttons.append(
                pygame_gui.elements.UIButton(
                    relative_rect=pygame.Rect(0, self._rect.y, BUTTON_WIDTH, ROW_HEIGHT),
                    text="",
                    manager=self.manager,
                    container=self.container,
                )
            )
        for i, button in enumerate(self.buttons):
            if i < len(actions):
                if button.text != actions[i]:
                    button.set_text(actions[i])
                button.show()
            else:
                button.hide()
        self.actions = actions
        self._place_buttons()

    def action_of(self, element: object) -> str | None:
        for button, action in zip(self.buttons, self.actions, strict=False):
            if element is button:
                return action
        return None

    def rehide(self) -> None:
        """Hide unused buttons again after a container's show() revealed them all."""
        for button in self.buttons[len(self.actions) :]:
            button.hide()

    def kill(self) -> None:
        kill(self.name_label, self.bar, *self.buttons)


class DownloadsList:
    """The list: an optional title line with "Clear finished", then the scrolling rows."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        container: Any,
        rect: pygame.Rect,
        *,
        title: str | None = "Downloads",
        clear_text: str | None = "Clear finished",
    ) -> None:
        self.manager = manager
        self.container = container
        self.rect = pygame.Rect(rect)
        self.title = title
        self.rows: list[DownloadRow] = []
        self._summary = ""
        self._shown = True
        self.title_label: Any = None
        self.clear_button: Any = None
        if title is not None:
            self.title_label = pygame_gui.elements.UILabel(
                relative_rect=pygame.Rect(rect.x, rect.y, max(10, rect.width - CLEAR_WIDTH), HEADER - 2),
                text=title,
                manager=manager,
                container=container,
                object_id=ObjectID(class_id="@ecsm_task_name"),
            )
            if clear_text is not None:
                self.clear_button = pygame_gui.elements.UIButton(
                    relative_rect=pygame.Rect(0, 0, CLEAR_WIDTH, HEADER - 2),
                    text=clear_text,
                    manager=manager,
                    container=container,
                )
        self.scroller = pygame_gui.elements.UIScrollingContainer(
            relative_rect=pygame.Rect(rect.x, rect.y, max(ROW, rect.width), ROW),
            manager=manager,
            container=container,
            allow_scroll_x=False,
        )
        self._count = -1
        self._can_clear: bool | None = None
        self.place(rect)
        self.show([])

    @property
    def header_height(self) -> int:
        return HEADER if self.title is not None else 0

    # -- geometry ----------------------------------------------------------------------
    def place(self, rect: pygame.Rect) -> None:
        self.rect = pygame.Rect(rect)
        top = rect.y
        if self.title_label is not None:
            clear_w = CLEAR_WIDTH + GAP if self.clear_button is not None else 0
            self.title_label.set_relative_position((rect.x, top))
            self.title_label.set_dimensions((max(10, rect.width - clear_w), HEADER - 2))
            if self.clear_button is not None:
                self.clear_button.set_relative_position((rect.right - CLEAR_WIDTH, top))
            top += HEADER
        self.scroller.set_relative_position((rect.x, top))
        # Never tiny: pygame_gui's scroll bar recurses without end at a height of a few pixels
        # (an empty list is hidden anyway).
        self.scroller.set_dimensions((max(ROW, rect.width), max(ROW, rect.bottom - top)))
        self._layout_rows()

    def _layout_rows(self) -> None:
        count = len(self.rows)
        view_h = max(ROW, self.rect.height - self.header_height)
        scrolls = count * ROW > view_h
        width = self.rect.width - (SCROLL_BAR if scrolls else 0)
        self.scroller.set_scrollable_area_dimensions((width, max(1, count * ROW)))
        if not scrolls:
            # pygame_gui drops the scroll bar but leaves the rows where they were scrolled to:
            # a list that shrank to what fits would show its first row cut off at the top.
            self.scroller.scrollable_container.set_relative_position((0, 0))
            if self.scroller.vert_scroll_bar is not None:
                self.scroller.vert_scroll_bar.set_scroll_from_start_percentage(0)
        for i, row in enumerate(self.rows):
            row.place(pygame.Rect(0, i * ROW, width, ROW_HEIGHT))

    # -- content -----------------------------------------------------------------------
    def show(self, views: Sequence[DownloadRowView], summary: str = "", can_clear: bool = False) -> None:
        """Show `views`, one row each (created and killed to match); `summary` follows the
        title; "Clear finished" is enabled when `can_clear`."""
        if len(views) != self._count:
            self._count = len(views)
            while len(self.rows) < len(views):
                self.rows.append(DownloadRow(self.manager, self.scroller.get_container()))
            while len(self.rows) > len(views):
                self.rows.pop().kill()
            self._layout_rows()
            self._set_shown(bool(views))
        for row, view in zip(self.rows, views, strict=True):
            row.show_row(view)
        if self.title_label is not None:
            text = f"{self.title}  ·  {summary}" if summary else str(self.title)
            if text != self._summary:
                self._summary = text
                self.title_label.set_text(text)
        if self.clear_button is not None and can_clear != self._can_clear:
            self._can_clear = can_clear
            if can_clear:
                self.clear_button.enable()
            else:
                self.clear_button.disable()

    def _set_shown(self, shown: bool) -> None:
        if shown == self._shown:
            return
        self._shown = shown
        if shown and not self.container.visible:
            return  # its view is hidden (another tab): showing the view reveals the list
        for element in (self.title_label, self.clear_button, self.scroller):
            if element is None:
                continue
            if shown:
                element.show()
            else:
                element.hide()
        if shown:
            self.rehide()

    def rehide(self) -> None:
        """After an ancestor's show(): keep a collapsed list and unused buttons hidden."""
        if not self._shown:
            for element in (self.title_label, self.clear_button, self.scroller):
                if element is not None:
                    element.hide()
            return
        for row in self.rows:
            row.rehide()

    def scroll_to(self, index: int) -> None:
        """Scroll just enough that row `index` shows (a new download, or a test's click)."""
        bar = self.scroller.vert_scroll_bar
        total = len(self.rows) * ROW
        view_h = self.scroller.rect.height
        if bar is None or total <= view_h or not 0 <= index < len(self.rows):
            return
        shown_top = int(bar.start_percentage * total)
        top = index * ROW
        if shown_top <= top and top + ROW <= shown_top + view_h:
            return
        start = top if top < shown_top else top + ROW - view_h
        bar.set_scroll_from_start_percentage(max(0, start) / total)
        bar.has_moved_recently = True  # the container moves its rows on its next update

    # -- input -------------------------------------------------------------------------
    def action(self, element: object) -> tuple[int, str] | None:
        """(task entity, action label) when `element` is one of the rows' buttons."""
        for row in self.rows:
            action = row.action_of(element)
            if action is not None and row.task_entity is not None:
                return row.task_entity, action
        return None

    def button_rect(self, task_entity: int, action: str) -> pygame.Rect | None:
        """Where a row's button is, relative to the list's container (to ask beside it)."""
        origin = self.container.get_rect().topleft
        for row in self.rows:
            if row.task_entity == task_entity:
                for button, label in zip(row.buttons, row.actions, strict=False):
                    if label == action:
                        return pygame.Rect(button.rect).move(-origin[0], -origin[1])
        return None

    def is_clear(self, element: object) -> bool:
        return self.clear_button is not None and element is self.clear_button

    def kill(self) -> None:
        for row in self.rows:
            row.kill()
        self.rows = []
        kill(self.scroller, *(e for e in (self.title_label, self.clear_button) if e is not None))


def _width_of(font: Any) -> Any:
    def measure(text: str) -> int:
        return int(font.size(text)[0])

    return measure
