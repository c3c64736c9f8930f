"""Where the Storage view's widgets go for a given size: pure arithmetic, no pygame_gui."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from ecs_models.ui.core.layout import MARGIN, ROW

LINE = 22
GAUGE = 28
MIN_WIDTH = 640
MIN_HEIGHT = 420


@dataclass(frozen=True, slots=True)
class StorageLayout:
    """Rects relative to the view's container: the report on the left, disk/cleanup/files right."""

    report_title: pygame.Rect
    totals: tuple[pygame.Rect, ...]
    report_filter: pygame.Rect
    report_count: pygame.Rect  # beside the filter: "12 of 150"
    report_list: pygame.Rect
    refresh: pygame.Rect
    verify: pygame.Rect
    repair: pygame.Rect
    cancel: pygame.Rect
    progress: pygame.Rect
    health: tuple[pygame.Rect, ...]
    disk_title: pygame.Rect
    gauge: pygame.Rect
    disk_lines: tuple[pygame.Rect, ...]
    cleanup_title: pygame.Rect
    cleanup_list: pygame.Rect
    cleanup_total: pygame.Rect
    clean: pygame.Rect
    confirm: pygame.Rect  # the Clean question: under the Clean button, over the files section
    files_title: pygame.Rect
    path_entry: pygame.Rect
    zstd: pygame.Rect
    export: pygame.Rect
    import_: pygame.Rect
    notice: pygame.Rect


def _lines(x: int, y: int, width: int, count: int) -> tuple[pygame.Rect, ...]:
    return tuple(pygame.Rect(x, y + i * LINE, width, LINE) for i in range(count))


def compute_storage_layout(width: int, height: int) -> StorageLayout:
    w, h = max(width, MIN_WIDTH), max(height, MIN_HEIGHT)
    left_w = int((w - 3 * MARGIN) * 0.58)
    rx = 2 * MARGIN + left_w
    right_w = w - rx - MARGIN
    notice = pygame.Rect(MARGIN, h - MARGIN - LINE, w - 2 * MARGIN, LINE)

    # Left column, top down then bottom up; the list takes what is left.
    report_title = pygame.Rect(MARGIN, MARGIN, left_w, LINE)
    totals = _lines(MARGIN, report_title.bottom, left_w, 3)
    health = _lines(MARGIN, notice.y - 4 - 2 * LINE, left_w, 2)
    progress = pygame.Rect(MARGIN, health[0].y - 4 - 26, left_w, 26)
    buttons_y = progress.y - 6 - ROW
    widths = (90, 130, 90, 90)
    xs = [MARGIN]
    for bw in widths[:-1]:
        xs.append(xs[-1] + bw + 8)
    refresh, verify, repair, cancel = (
        pygame.Rect(x, buttons_y, bw, ROW) for x, bw in zip(xs, widths, strict=True)
    )
    filter_y = totals[-1].bottom + 6
    filter_w = max(120, min(320, left_w - 170))
    report_filter = pygame.Rect(MARGIN, filter_y, filter_w, ROW)
    report_count = pygame.Rect(report_filter.right + 8, filter_y, left_w - filter_w - 8, ROW)
    list_y = report_filter.bottom + 4
    report_list = pygame.Rect(MARGIN, list_y, left_w, max(60, buttons_y - 6 - list_y))

    # Right column: disk on top, export/import at the bottom, cleanup in between.
    disk_title = pygame.Rect(rx, MARGIN, right_w, LINE)
    gauge = pygame.Rect(rx, disk_title.bottom + 2, right_w, GAUGE)
    disk_lines = _lines(rx, gauge.bottom + 2, right_w, 2)
    cleanup_title = pygame.Rect(rx, disk_lines[-1].bottom + 8, right_w, LINE)
    bottom = notice.y - 6
    files_row_y = bottom - ROW
    zstd = pygame.Rect(rx, files_row_y, 90, ROW)
    export = pygame.Rect(zstd.right + 8, files_row_y, 100, ROW)
    import_ = pygame.Rect(export.right + 8, files_row_y, 100, ROW)
    path_entry = pygame.Rect(rx, files_row_y - 4 - ROW, right_w, ROW)
    files_title = pygame.Rect(rx, path_entry.y - 2 - LINE, right_w, LINE)
    clean_y = files_title.y - 10 - ROW
    clean = pygame.Rect(rx, clean_y, 160, ROW)  # "Clean 12 selected…"
    confirm = pygame.Rect(rx, clean.bottom + 4, right_w, h - MARGIN - clean.bottom - 4)
    cleanup_total = pygame.Rect(rx, clean_y - 2 - LINE, right_w, LINE)
    list_top = cleanup_title.bottom + 2
    cleanup_list = pygame.Rect(rx, list_top, right_w, max(40, cleanup_total.y - 2 - list_top))
    return StorageLayout(
        report_title=report_title,
        totals=totals,
        report_filter=report_filter,
        report_count=report_count,
        report_list=report_list,
        refresh=refresh,
        verify=verify,
        repair=repair,
        cancel=cancel,
        progress=progress,
        health=health,
        disk_title=disk_title,
        gauge=gauge,
        disk_lines=disk_lines,
        cleanup_title=cleanup_title,
        cleanup_list=cleanup_list,
        cleanup_total=cleanup_total,
        clean=clean,
        confirm=confirm,
        files_title=files_title,
        path_entry=path_entry,
        zstd=zstd,
        export=export,
        import_=import_,
        notice=notice,
    )
