"""Where every widget of the Models view goes for a given size: pure arithmetic, no pygame_gui."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from ecs_models.ui.core.layout import MARGIN, ROW
from ecs_models.ui.widgets.downloads import list_height

LINE = 24
MIN_WIDTH = 520
MIN_HEIGHT = 380
DETAIL_LINES = 13  # 9 facts, Health, the capability tags, Fit, Measured
CONFIRM_MIN_WIDTH = 260
STREAMS_WIDTH = 112  # "16 streams" and the drop-down arrow
FILTER_MAX_WIDTH = 360
COUNT_MIN_WIDTH = 180  # "150 of 1000  ·  12 selected"


@dataclass(frozen=True, slots=True)
class ModelsLayout:
    """Rects relative to the view's container; `downloads` is empty (height 0) with none."""

    entry: pygame.Rect
    install: pygame.Rect
    streams: pygame.Rect
    notice: pygame.Rect
    downloads: pygame.Rect
    filter_entry: pygame.Rect
    installed_label: pygame.Rect  # the count beside the filter: "12 of 150  ·  2 selected"
    remove: pygame.Rect
    verify: pygame.Rect
    sort: pygame.Rect
    models_list: pygame.Rect
    details: tuple[pygame.Rect, ...]
    status: pygame.Rect
    # Where the removal question opens: under the Remove button, over the details (not over
    # the list, whose highlighted rows are what it asks about); its height is the room below.
    confirm: pygame.Rect


def compute_layout(width: int, height: int, downloads: int = 0) -> ModelsLayout:
    """Lay the view out top to bottom; the models list and details take the remaining height.

    The downloads list takes room only for its `downloads` rows (none: no room at all).
    """
    w, h = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    inner = w - 2 * MARGIN
    y = MARGIN
    entry = pygame.Rect(MARGIN, y, inner - 100 - STREAMS_WIDTH - 8, ROW)
    streams = pygame.Rect(w - MARGIN - 100 - STREAMS_WIDTH, y, STREAMS_WIDTH, ROW)
    install = pygame.Rect(w - MARGIN - 92, y, 92, ROW)
    y += ROW + 4
    notice = pygame.Rect(MARGIN, y, inner, LINE)
    y += LINE + 4
    # More download rows show in taller views (the rest scroll); two always do, so a queue shows.
    visible_rows = max(2, min(6, (h - 330) // ROW))
    downloads_rect = pygame.Rect(MARGIN, y, inner, list_height(downloads, visible_rows))
    y += downloads_rect.height + (4 if downloads_rect.height else 0)
    sort = pygame.Rect(w - MARGIN - 180, y, 180, ROW)
    verify = pygame.Rect(sort.x - 8 - 84, y, 84, ROW)
    remove = pygame.Rect(verify.x - 8 - 84, y, 84, ROW)
    # The filter, then up to the Remove button the count of rows shown and selected.
    left = remove.x - 8 - MARGIN
    filter_w = max(120, min(FILTER_MAX_WIDTH, left - COUNT_MIN_WIDTH - 8))
    filter_entry = pygame.Rect(MARGIN, y, filter_w, ROW)
    installed_label = pygame.Rect(filter_entry.right + 8, y, max(40, left - filter_w - 8), ROW)
    y += ROW + 4
    status = pygame.Rect(MARGIN, h - MARGIN - LINE, inner, LINE)
    main_height = max(60, status.y - 4 - y)
    list_width = int((inner - MARGIN) * 0.58)
    models_list = pygame.Rect(MARGIN, y, list_width, main_height)
    details_x = MARGIN + list_width + MARGIN
    details_w = w - MARGIN - details_x
    details = tuple(pygame.Rect(details_x, y + i * 22, details_w, 22) for i in range(DETAIL_LINES))
    confirm_w = max(CONFIRM_MIN_WIDTH, details_w)
    confirm_x = min(details_x, w - MARGIN - confirm_w)
    # It may cover the status line while it asks, not the Remove button above it.
    confirm = pygame.Rect(confirm_x, y, confirm_w, h - MARGIN - y)
    return ModelsLayout(
        entry=entry,
        install=install,
        streams=streams,
        notice=notice,
        downloads=downloads_rect,
        filter_entry=filter_entry,
        installed_label=installed_label,
        remove=remove,
        verify=verify,
        sort=sort,
        models_list=models_list,
        details=details,
        status=status,
        confirm=confirm,
    )
