"""Where every widget of the Discover area goes for a given size: pure arithmetic, no pygame_gui."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from ecs_models.catalog import CATEGORIES, SIZE_BUCKETS
from ecs_models.ui.core.layout import MARGIN, ROW

LINE = 22
MIN_WIDTH = 620
MIN_HEIGHT = 420
DETAIL_LINES = 6
MODE_WIDTH = 112
SOURCE_WIDTH = 210
REFRESH_WIDTH = 84


@dataclass(frozen=True, slots=True)
class DiscoverLayout:
    """Rects relative to the view's container."""

    entry: pygame.Rect
    source: pygame.Rect
    refresh: pygame.Rect
    categories: tuple[pygame.Rect, ...]
    sizes: tuple[pygame.Rect, ...]
    origin: pygame.Rect
    notice: pygame.Rect
    modes: tuple[pygame.Rect, ...]
    check: pygame.Rect
    results: pygame.Rect
    details: tuple[pygame.Rect, ...]
    update_buttons: tuple[pygame.Rect, ...]  # Update, Update all, Pin, Unpin
    tags_label: pygame.Rect
    tags: pygame.Rect
    install: pygame.Rect
    status: pygame.Rect


def compute_layout(width: int, height: int) -> DiscoverLayout:
    """Search row, filter chips, origin and notice lines, mode row; list left, details right."""
    w, h = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    inner = w - 2 * MARGIN
    y = MARGIN
    refresh = pygame.Rect(w - MARGIN - REFRESH_WIDTH, y, REFRESH_WIDTH, ROW)
    source = pygame.Rect(refresh.x - 6 - SOURCE_WIDTH, y, SOURCE_WIDTH, ROW)
    entry = pygame.Rect(MARGIN, y, source.x - 6 - MARGIN, ROW)
    y += ROW + 6
    chips = len(CATEGORIES) + len(SIZE_BUCKETS)
    gap, group_gap = 4, 16
    chip_w = min(96, (inner - group_gap - gap * (chips - 1)) // chips)
    categories = tuple(
        pygame.Rect(MARGIN + i * (chip_w + gap), y, chip_w, ROW - 4) for i in range(len(CATEGORIES))
    )
    start = categories[-1].right + group_gap
    sizes = tuple(
        pygame.Rect(start + i * (chip_w + gap), y, chip_w, ROW - 4)
        for i in range(len(SIZE_BUCKETS))
    )
    y += ROW + 2
    origin = pygame.Rect(MARGIN, y, inner, LINE)
    y += LINE
    notice = pygame.Rect(MARGIN, y, inner, LINE)
    y += LINE + 4
    modes = tuple(pygame.Rect(MARGIN + i * (MODE_WIDTH + 4), y, MODE_WIDTH, ROW) for i in range(3))
    check = pygame.Rect(modes[-1].right + 16, y, 170, ROW)
    y += ROW + 6
    status = pygame.Rect(MARGIN, h - MARGIN - LINE, inner, LINE)
    main_height = max(80, status.y - 6 - y)
    list_width = int((inner - MARGIN) * 0.5)
    results = pygame.Rect(MARGIN, y, list_width, main_height)
    right_x = results.right + MARGIN
    right_w = w - MARGIN - right_x
    button_w = (right_w - 3 * 6) // 4
    # Updates mode puts its buttons where Install sits in the other modes.
    update_buttons = tuple(
        pygame.Rect(right_x + i * (button_w + 6), results.bottom - ROW, button_w, ROW)
        for i in range(4)
    )
    details = tuple(pygame.Rect(right_x, y + i * LINE, right_w, LINE) for i in range(DETAIL_LINES))
    tags_y = y + DETAIL_LINES * LINE + 4
    tags_label = pygame.Rect(right_x, tags_y, right_w, LINE)
    install = pygame.Rect(right_x, results.bottom - ROW, right_w, ROW)
    tags = pygame.Rect(
        right_x, tags_label.bottom, right_w, max(40, install.y - 6 - tags_label.bottom)
    )
    return DiscoverLayout(
        entry=entry,
        source=source,
        refresh=refresh,
        categories=categories,
        sizes=sizes,
        origin=origin,
        notice=notice,
        modes=modes,
        check=check,
        results=results,
        details=details,
        update_buttons=update_buttons,
        tags_label=tags_label,
        tags=tags,
        install=install,
        status=status,
    )
