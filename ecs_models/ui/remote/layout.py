"""Where the Remote area's widgets go for a given size: pure arithmetic, no pygame_gui."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from ecs_models.ui.core.layout import MARGIN, ROW

LINE = 24
BUTTON = 92
HOST_LABEL = 70
CARD_LINE = 20
CARD_HEIGHT = 3 * CARD_LINE + 8
CARD_BUTTON = 76
TRANSFER_ROWS = 3
MIN_WIDTH = 640
MIN_HEIGHT = 500  # room for the registry mirrors above the push list
MIRRORS_LIST_MAX = 76  # three rows of the mirrors list
MIRRORS_LIST_MIN = 40


@dataclass(frozen=True, slots=True)
class HostCardLayout:
    """One host's three lines: state and version, installed models, loaded models and memory;
    and the button removing that host from the list, at the end of its first line."""

    header: pygame.Rect
    installed: pygame.Rect
    loaded: pygame.Rect
    remove: pygame.Rect


@dataclass(frozen=True, slots=True)
class MirrorsLayout:
    """The registry mirrors: a title with Remove and Test, their list, an entry with Add."""

    title: pygame.Rect
    remove: pygame.Rect
    test: pygame.Rect
    rows: pygame.Rect
    entry: pygame.Rect
    add: pygame.Rect

    @property
    def bottom(self) -> int:
        return self.entry.bottom


def compute_mirrors_layout(x: int, y: int, width: int, list_height: int) -> MirrorsLayout:
    # Narrower buttons than elsewhere, so the title still fits in the narrowest window.
    buttons_x = x + width - 2 * CARD_BUTTON - 8
    rows = pygame.Rect(x, y + ROW + 4, width, list_height)
    entry_y = rows.bottom + 4
    return MirrorsLayout(
        title=pygame.Rect(x, y, buttons_x - 8 - x, ROW),
        remove=pygame.Rect(buttons_x, y, CARD_BUTTON, ROW),
        test=pygame.Rect(buttons_x + CARD_BUTTON + 8, y, CARD_BUTTON, ROW),
        rows=rows,
        entry=pygame.Rect(x, entry_y, width - BUTTON - 8, ROW),
        add=pygame.Rect(x + width - BUTTON, entry_y, BUTTON, ROW),
    )


@dataclass(frozen=True, slots=True)
class RemoteLayout:
    push_title: pygame.Rect
    models_filter: pygame.Rect
    models_count: pygame.Rect  # beside the filter: "12 of 150"
    models_list: pygame.Rect
    dest_label: pygame.Rect
    dest_entry: pygame.Rect
    recent_menu: pygame.Rect
    push: pygame.Rect
    mirror_label: pygame.Rect
    mirror_entry: pygame.Rect
    mirror: pygame.Rect
    hosts_title: pygame.Rect
    refresh: pygame.Rect
    address_entry: pygame.Rect
    add_host: pygame.Rect
    cards: tuple[HostCardLayout, ...]
    cards_overflow: pygame.Rect
    host_label: pygame.Rect
    host_menu: pygame.Rect
    host_model_entry: pygame.Rect
    host_pull: pygame.Rect
    host_delete: pygame.Rect
    transfer_rows: tuple[pygame.Rect, ...]
    result: pygame.Rect
    mirrors: MirrorsLayout


def compute_remote_layout(width: int, height: int) -> RemoteLayout:
    """Push and mirror on the left, hosts on the right, transfers and the result below both."""
    w, h = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    inner = w - 2 * MARGIN
    result = pygame.Rect(MARGIN, h - MARGIN - LINE, inner, LINE)
    rows_top = result.y - 4 - TRANSFER_ROWS * ROW
    transfer_rows = tuple(
        pygame.Rect(MARGIN, rows_top + i * ROW, inner, ROW - 4) for i in range(TRANSFER_ROWS)
    )
    bottom = rows_top - MARGIN  # where the two columns end
    left_w = int((inner - MARGIN) * 0.45)
    right_x = MARGIN + left_w + MARGIN
    right_w = w - MARGIN - right_x

    # Left column, bottom up: mirror row, its label, push row, destination entry, its label.
    mirror_y = bottom - ROW
    mirror_label = pygame.Rect(MARGIN, mirror_y - LINE, left_w, LINE)
    push_y = mirror_label.y - 8 - ROW
    dest_y = push_y - 4 - ROW
    dest_label = pygame.Rect(MARGIN, dest_y - LINE, left_w, LINE)
    # The registry mirrors at the top; their list gives up rows before the push list does.
    fixed = MARGIN + 2 * ROW + 8 + 8 + LINE + 2 + ROW + 4  # ... the push title, its filter
    spare = dest_label.y - 6 - fixed - 60
    list_h = max(MIRRORS_LIST_MIN, min(MIRRORS_LIST_MAX, spare))
    mirrors = compute_mirrors_layout(MARGIN, MARGIN, left_w, list_h)
    push_title = pygame.Rect(MARGIN, mirrors.bottom + 8, left_w, LINE)
    filter_y = push_title.bottom + 2
    filter_w = max(120, min(320, left_w - 110))
    models_filter = pygame.Rect(MARGIN, filter_y, filter_w, ROW)
    models_count = pygame.Rect(models_filter.right + 8, filter_y, left_w - filter_w - 8, ROW)
    list_top = models_filter.bottom + 4
    models_list = pygame.Rect(MARGIN, list_top, left_w, max(60, dest_label.y - 6 - list_top))

    # Right column: title and Refresh, the address row, host cards, then the host actions.
    hosts_title = pygame.Rect(right_x, MARGIN, right_w - 100, LINE)
    refresh = pygame.Rect(right_x + right_w - BUTTON, MARGIN, BUTTON, LINE)
    address_y = hosts_title.bottom + 4
    address_w = right_w - (BUTTON + 8)
    model_y = bottom - ROW
    menu_y = model_y - 4 - ROW
    cards_top = address_y + ROW + 8
    cards_bottom = menu_y - 8 - 20
    count = max(1, (cards_bottom - cards_top) // (CARD_HEIGHT + 4))
    cards = tuple(
        HostCardLayout(
            header=pygame.Rect(right_x, y, right_w - CARD_BUTTON - 8, CARD_LINE),
            installed=pygame.Rect(right_x + 16, y + CARD_LINE, right_w - 16, CARD_LINE),
            loaded=pygame.Rect(right_x + 16, y + 2 * CARD_LINE, right_w - 16, CARD_LINE),
            remove=pygame.Rect(right_x + right_w - CARD_BUTTON, y, CARD_BUTTON, CARD_LINE),
        )
        for y in (cards_top + i * (CARD_HEIGHT + 4) for i in range(count))
    )
    model_w = right_w - 2 * (BUTTON + 8)
    return RemoteLayout(
        push_title=push_title,
        models_filter=models_filter,
        models_count=models_count,
        models_list=models_list,
        dest_label=dest_label,
        dest_entry=pygame.Rect(MARGIN, dest_y, left_w, ROW),
        recent_menu=pygame.Rect(MARGIN, push_y, left_w - BUTTON - 8, ROW),
        push=pygame.Rect(MARGIN + left_w - BUTTON, push_y, BUTTON, ROW),
        mirror_label=mirror_label,
        mirror_entry=pygame.Rect(MARGIN, mirror_y, left_w - BUTTON - 8, ROW),
        mirror=pygame.Rect(MARGIN + left_w - BUTTON, mirror_y, BUTTON, ROW),
        hosts_title=hosts_title,
        refresh=refresh,
        address_entry=pygame.Rect(right_x, address_y, address_w, ROW),
        add_host=pygame.Rect(right_x + address_w + 8, address_y, BUTTON, ROW),
        cards=cards,
        cards_overflow=pygame.Rect(right_x, cards_bottom, right_w, 20),
        host_label=pygame.Rect(right_x, menu_y, HOST_LABEL, ROW),
        host_menu=pygame.Rect(right_x + HOST_LABEL, menu_y, right_w - HOST_LABEL, ROW),
        host_model_entry=pygame.Rect(right_x, model_y, model_w, ROW),
        host_pull=pygame.Rect(right_x + model_w + 8, model_y, BUTTON, ROW),
        host_delete=pygame.Rect(right_x + right_w - BUTTON, model_y, BUTTON, ROW),
        transfer_rows=transfer_rows,
        result=result,
        mirrors=mirrors,
    )
