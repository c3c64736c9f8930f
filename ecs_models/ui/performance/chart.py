"""Per-model stats as small bar charts, one row per figure, drawn with pygame from the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.performance.draw import (
    BACKGROUND,
    BORDER,
    DIM_TEXT,
    LINE,
    TRACK,
    blit_text,
)

ROW_HEIGHT = 30
LABEL_WIDTH = 150
VALUE_WIDTH = 120
MAX_BARS = 24
OLDER = pygame.Color("#1f4f8f")


@dataclass(frozen=True, slots=True)
class Series:
    """One figure's history (oldest first) and its latest value as text."""

    label: str
    values: tuple[float, ...]
    latest: str


def bar_rects(area: pygame.Rect, values: tuple[float, ...]) -> list[pygame.Rect]:
    """Bars for the newest MAX_BARS values, scaled to the largest, newest on the right."""
    shown = values[-MAX_BARS:]
    if not shown:
        return []
    top = max(shown) or 1.0
    step = max(3, min(14, area.width // MAX_BARS))
    rects = []
    for i, value in enumerate(shown):
        height = max(2, round(max(0.0, value) / top * area.height))
        x = area.right - (len(shown) - i) * step
        rects.append(pygame.Rect(x, area.bottom - height, step - 2, height))
    return rects


def draw_chart(size: tuple[int, int], series: tuple[Series, ...], empty: str) -> pygame.Surface:
    width, height = max(LABEL_WIDTH + VALUE_WIDTH + 40, size[0]), max(ROW_HEIGHT, size[1])
    surface = pygame.Surface((width, height))
    surface.fill(BACKGROUND)
    if not series:
        blit_text(surface, empty, (8, 8), colour=DIM_TEXT)
    for row, item in enumerate(series):
        y = 4 + row * ROW_HEIGHT
        if y + ROW_HEIGHT > height:
            break
        blit_text(surface, item.label, (8, y + 8), colour=DIM_TEXT)
        blit_text(surface, item.latest, (width - 8, y + 8), right=True)
        area = chart_area(width, row)
        pygame.draw.rect(surface, TRACK, area)
        rects = bar_rects(area, item.values)
        for i, rect in enumerate(rects):
            pygame.draw.rect(surface, LINE if i == len(rects) - 1 else OLDER, rect)
    pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
    return surface


def chart_area(width: int, row: int) -> pygame.Rect:
    """Where row `row`'s bars go, relative to the chart."""
    return pygame.Rect(LABEL_WIDTH, 4 + row * ROW_HEIGHT + 3, width - LABEL_WIDTH - VALUE_WIDTH, 22)


class StatsChart(pygame_gui.elements.UIImage):
    """Redraws only when the series (or the size) change."""

    def __init__(self, relative_rect: pygame.Rect, **kwargs: Any) -> None:
        self.empty = "No measurements yet: pull, verify or benchmark this model."
        super().__init__(
            relative_rect=relative_rect,
            image_surface=draw_chart(relative_rect.size, (), self.empty),
            **kwargs,
        )
        self.series: tuple[Series, ...] = ()
        self._key: tuple[object, ...] = ((relative_rect.width, relative_rect.height), ())

    def show_series(self, series: tuple[Series, ...]) -> bool:
        size = (int(self.rect.width), int(self.rect.height))
        key = (size, series)
        if key == self._key:
            return False
        self._key = key
        self.series = series
        self.set_image(draw_chart(size, series, self.empty))
        return True

    def place(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)
        self.show_series(self.series)
