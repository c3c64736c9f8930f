"""Where the Performance area's widgets go for a given size: pure arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from ecs_models.ui.core.layout import MARGIN

LINE = 22
GAUGE_HEIGHT = 52
GAUGE_TITLES = ("CPU", "RAM", "Swap", "Disk", "Network in", "GPU")
MIN_WIDTH = 640
MIN_HEIGHT = 420
TABLE_ROW = 24  # one line of the benchmark table
FILTER_ROW = 28  # the installed models' filter box


def table_height(rows: int) -> int:
    """The benchmark table's header, rows (at least the one saying there are none), legend."""
    return (max(1, rows) + 2) * TABLE_ROW + 4


@dataclass(frozen=True, slots=True)
class PerformanceLayout:
    system_label: pygame.Rect
    gauges: tuple[pygame.Rect, ...]
    fps: pygame.Rect
    models_filter: pygame.Rect
    models_count: pygame.Rect  # beside the filter: "12 of 150"
    models_list: pygame.Rect
    title: pygame.Rect
    fit: pygame.Rect
    benchmark: pygame.Rect
    load: pygame.Rect
    unload: pygame.Rect
    runtime: pygame.Rect
    table: pygame.Rect  # every model's last benchmark
    latest: pygame.Rect  # the history's title: how many measurements, the newest
    history: pygame.Rect  # the selected model's measurements over time
    cache: pygame.Rect
    notice: pygame.Rect


def compute_layout(width: int, height: int, table_rows: int = 0) -> PerformanceLayout:
    """`table_rows`: how many models the benchmark table lists (it takes what they need, up
    to about half of the room under the buttons; the history chart takes the rest)."""
    w, h = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    inner = w - 2 * MARGIN
    y = MARGIN
    system_label = pygame.Rect(MARGIN, y, inner, LINE)
    y += LINE + 2
    count = len(GAUGE_TITLES)
    gauge_w = (inner - (count - 1) * 6) // count
    gauges = tuple(
        pygame.Rect(MARGIN + i * (gauge_w + 6), y, gauge_w, GAUGE_HEIGHT) for i in range(count)
    )
    y += GAUGE_HEIGHT + 4
    fps = pygame.Rect(MARGIN, y, inner, LINE)
    y += LINE + 6
    notice = pygame.Rect(MARGIN, h - MARGIN - LINE, inner, LINE)
    cache = pygame.Rect(MARGIN, notice.y - LINE - 2, inner, LINE)
    bottom = cache.y - 6
    list_w = int(inner * 0.36)
    # The installed models: their filter box and count, then the list.
    filter_w = max(100, min(320, list_w - 150))
    models_filter = pygame.Rect(MARGIN, y, filter_w, FILTER_ROW)
    models_count = pygame.Rect(models_filter.right + 6, y, list_w - filter_w - 6, FILTER_ROW)
    list_y = y + FILTER_ROW + 4
    models_list = pygame.Rect(MARGIN, list_y, list_w, max(60, bottom - list_y))
    x = MARGIN + list_w + MARGIN
    right_w = w - MARGIN - x
    title = pygame.Rect(x, y, right_w, LINE)
    fit = pygame.Rect(x, y + LINE + 2, right_w, LINE)
    buttons_y = fit.bottom + 4
    benchmark = pygame.Rect(x, buttons_y, 110, 28)
    load = pygame.Rect(benchmark.right + 6, buttons_y, 80, 28)
    unload = pygame.Rect(load.right + 6, buttons_y, 80, 28)
    runtime = pygame.Rect(x, buttons_y + 32, right_w, LINE)
    room = bottom - runtime.bottom - 4
    table_h = min(table_height(table_rows), max(table_height(1), room * 9 // 20))
    table = pygame.Rect(x, runtime.bottom + 4, right_w, table_h)
    latest = pygame.Rect(x, table.bottom + 4, right_w, LINE)
    history = pygame.Rect(x, latest.bottom + 2, right_w, max(40, bottom - latest.bottom - 2))
    return PerformanceLayout(
        system_label=system_label,
        gauges=gauges,
        fps=fps,
        models_filter=models_filter,
        models_count=models_count,
        models_list=models_list,
        title=title,
        fit=fit,
        benchmark=benchmark,
        load=load,
        unload=unload,
        runtime=runtime,
        table=table,
        latest=latest,
        history=history,
        cache=cache,
        notice=notice,
    )
