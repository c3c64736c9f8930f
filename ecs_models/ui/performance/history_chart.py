"""One model's measurements over time: a strip per figure sharing one time axis.

Each strip has its name and newest value on the left, a value axis from 0 with labelled
gridlines, and the measurements as points joined in time order; the time axis below the
strips is labelled in local time ('14:00', 'May 02 09:00', 'May 03') with the date beside it.
Drawn with pygame onto one UIImage's surface, again only when the data or the size change.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.performance.draw import (
    BACKGROUND,
    BORDER,
    DIM_TEXT,
    LINE,
    TEXT,
    blit_text,
    fit_text,
    font_size,
    text_font,
)

PLOT = pygame.Color("#23282f")
GRID = pygame.Color("#333a44")
STRIP_MIN = 58  # the chart is drawn at least one strip this tall (plus its time axis)
AXIS_HEIGHT = 24
GAP = 6
MINUTE, HOUR, DAY = 60, 3600, 86400
# Time-axis steps, smallest first: the first whose labels do not crowd each other is used.
STEPS = (
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
    182 * DAY,
    365 * DAY,
)
LABEL_GAP = 28  # pixels between two time labels at least
NEWEST = "newest "  # before a strip's newest value, under its name and unit
SELECT = "Select a model to see its measurements over time."
NONE_YET = "No measurements yet: pull, verify or benchmark this model."


@dataclass(frozen=True, slots=True)
class HistorySeries:
    """One figure's measurements: (UNIX time, value in `unit`), oldest first."""

    label: str  # 'Generation'
    unit: str  # 'tok/s'
    points: tuple[tuple[float, float], ...]

    @property
    def latest(self) -> str:
        return f"{number(self.points[-1][1])} {self.unit}" if self.points else ""


@dataclass(frozen=True, slots=True)
class HistoryGeometry:
    """What the chart drew where (relative to its surface): for pixel probes and tests."""

    plots: tuple[pygame.Rect, ...]  # one per drawn strip
    start: float  # the time at each plot's left edge
    end: float  # ... and at its right edge
    time_labels: tuple[tuple[str, int], ...]  # (text, x of its tick)
    date_caption: str  # as drawn below the strips' labels
    value_labels: tuple[tuple[str, ...], ...]  # per strip, its axis labels bottom up
    points: tuple[tuple[tuple[int, int], ...], ...]  # per strip, where each value was drawn
    hidden: int  # strips left out for lack of room


def number(value: float) -> str:
    """A value as people write it on an axis: 40, 2.5, 0.25, 1250."""
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (> 0)."""
    if value <= 0:
        return 1.0
    power: float = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def time_range(times: list[float]) -> tuple[float, float]:
    """The span the x axis shows: every time, with a margin so no point sits on an edge."""
    first, last = min(times), max(times)
    span = last - first
    if span < 20 * MINUTE:  # one measurement, or a burst: centre it in half an hour
        middle = (first + last) / 2
        return middle - 15 * MINUTE, middle + 15 * MINUTE
    margin = span * 0.05
    return first - margin, last + margin


def _offset(moment: float) -> float:
    local = dt.datetime.fromtimestamp(moment).astimezone()
    delta = local.utcoffset()
    return delta.total_seconds() if delta is not None else 0.0


def _pattern(step: int, one_day: bool) -> str:
    if step >= 365 * DAY:
        return "%Y"
    if step >= DAY:
        return "%b %d"
    return "%H:%M" if one_day else "%b %d %H:%M"


def time_ticks(
    start: float, end: float, width: int, measure: Callable[[str], int] = lambda t: 8 * len(t)
) -> list[tuple[float, str]]:
    """(time, label) of each tick, aligned to the local clock, as dense as the labels allow
    (`measure` says how wide a label is drawn, in pixels)."""
    if end <= start:
        return []
    one_day = _local_date(start) == _local_date(end)
    step = STEPS[-1]
    for candidate in STEPS:
        sample = dt.datetime.fromtimestamp(start).strftime(_pattern(candidate, one_day))
        if (end - start) / candidate * (measure(sample) + LABEL_GAP) <= width:
            step = candidate
            break
    ticks: list[float] = []
    if step < DAY:
        offset = _offset(start)  # align to the local clock: 14:00, not 14:00 UTC
        moment = math.ceil((start + offset) / step) * step - offset
        while moment <= end:
            ticks.append(moment)
            moment += step
    else:
        days = step // DAY
        day = dt.datetime.fromtimestamp(start).replace(hour=0, minute=0, second=0, microsecond=0)
        while day.timestamp() < start or day.toordinal() % days:
            day += dt.timedelta(days=1)
        while day.timestamp() <= end:
            ticks.append(day.timestamp())
            day += dt.timedelta(days=days)
    pattern = _pattern(step, one_day)
    return [(t, dt.datetime.fromtimestamp(t).strftime(pattern)) for t in ticks]


def _local_date(moment: float) -> dt.date:
    return dt.datetime.fromtimestamp(moment).date()


def date_captions(start: float, end: float) -> tuple[str, ...]:
    """What the time axis's dates are, longest wording first: the chart draws the first that
    fits under its labels ('2025-05-03, local time'; '2025' when the ticks name the days)."""
    first, last = _local_date(start), _local_date(end)
    if first == last:
        return (f"{first:%Y-%m-%d}, local time", f"{first:%Y-%m-%d}")
    years = f"{first:%Y}" if first.year == last.year else f"{first:%Y}–{last:%Y}"
    return (f"{first:%Y-%m-%d} to {last:%Y-%m-%d}", years)


def label_width(width: int, texts: list[str], measure: Callable[[str], int]) -> int:
    """The strips' label column: as wide as its widest text, at least 100 px and at most 30 %
    of the chart (a wider text is cut with '…')."""
    widest = max((measure(text) for text in texts), default=0) + 16
    return max(min(100, width // 10 * 3), min(widest, width * 3 // 10))


def draw_history(
    size: tuple[int, int], series: tuple[HistorySeries, ...], empty: str
) -> tuple[pygame.Surface, HistoryGeometry]:
    width, height = max(260, size[0]), max(STRIP_MIN + AXIS_HEIGHT + 8, size[1])
    surface = pygame.Surface((width, height))
    surface.fill(BACKGROUND)
    face = text_font(font_size(width))
    line = face.get_linesize()
    drawn = tuple(s for s in series if s.points)
    nothing = HistoryGeometry((), 0.0, 0.0, (), "", (), (), 0)
    if not drawn:
        blit_text(surface, empty, (8, 8), colour=DIM_TEXT, face=face)
        pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
        return surface, nothing

    # Over every figure, shown or not: the axis spans all of the model's measurements.
    start, end = time_range([t for s in drawn for t, _ in s.points])
    captions = date_captions(start, end)

    def measure(text: str) -> int:
        return int(face.size(text)[0])

    texts = [t for s in drawn for t in (s.label, s.unit, NEWEST + s.latest)] + [captions[-1]]
    left = label_width(width, texts, measure)
    axis_w = 48
    plot_x = left + axis_w
    plot_w = width - plot_x - 14
    room = height - 6 - AXIS_HEIGHT
    # Two lines of text beside a strip: its name, then its newest value and unit.
    strip_min = 2 * line + 6
    count = max(1, min(len(drawn), (room + GAP) // (strip_min + GAP)))
    strip_h = (room - (count - 1) * GAP) // count
    shown = drawn[:count]

    def x_of(moment: float) -> int:
        return plot_x + round((moment - start) / (end - start) * (plot_w - 1))

    ticks = time_ticks(start, end, plot_w, measure)
    plots: list[pygame.Rect] = []
    value_labels: list[tuple[str, ...]] = []
    points: list[tuple[tuple[int, int], ...]] = []
    for index, item in enumerate(shown):
        top = 4 + index * (strip_h + GAP)
        # Room above and below the plot for the half-height of the top and 0 labels.
        plot = pygame.Rect(plot_x, top + line // 2, plot_w, strip_h - line)
        plots.append(plot)
        pygame.draw.rect(surface, PLOT, plot)
        for moment, _ in ticks:
            x = x_of(moment)
            pygame.draw.line(surface, GRID, (x, plot.top), (x, plot.bottom - 1))
        ceiling = nice_top(max(v for _, v in item.points))
        # A middle label where three fit without touching.
        steps = (0.0, ceiling / 2, ceiling) if plot.h >= 2 * line + 4 else (0.0, ceiling)
        labels = []
        for value in steps:
            y = plot.bottom - 1 - round(value / ceiling * (plot.h - 1))
            pygame.draw.line(surface, GRID, (plot.left, y), (plot.right - 1, y))
            text = number(value)
            labels.append(text)
            blit_text(
                surface,
                text,
                (plot.left - 5, y - line // 2),
                colour=DIM_TEXT,
                face=face,
                right=True,
            )
        value_labels.append(tuple(labels))
        where = tuple(
            (x_of(moment), plot.bottom - 1 - round(value / ceiling * (plot.h - 1)))
            for moment, value in item.points
        )
        if len(where) > 1:
            pygame.draw.lines(surface, LINE, False, where, 2)
        for x, y in where:
            pygame.draw.circle(surface, LINE, (x, y), 3)
        newest = where[-1]
        pygame.draw.circle(surface, TEXT, newest, 5, 1)
        points.append(where)
        blit_text(surface, fit_text(item.label, left - 12, face=face), (8, top + 2), face=face)
        newest_y = top + 2 + line
        if strip_h >= 3 * line + 4:  # room for the unit on a line of its own
            unit = fit_text(item.unit, left - 12, face=face)
            blit_text(surface, unit, (8, newest_y), colour=DIM_TEXT, face=face)
            newest_y += line
        latest = fit_text(NEWEST + item.latest, left - 12, face=face)
        blit_text(surface, latest, (8, newest_y), colour=LINE, face=face)

    axis_y = plots[-1].bottom + line // 2 + 4
    time_labels = []
    for moment, text in ticks:
        x = x_of(moment)
        text_w = face.size(text)[0]
        left_edge = max(plot_x - axis_w // 2, min(width - 4 - text_w, x - text_w // 2))
        pygame.draw.line(surface, BORDER, (x, plots[-1].bottom), (x, plots[-1].bottom + 3))
        blit_text(surface, text, (left_edge, axis_y), colour=TEXT, face=face)
        time_labels.append((text, x))
    fitting = [text for text in captions if measure(text) <= left - 12]
    caption = fitting[0] if fitting else fit_text(captions[-1], left - 12, face=face)
    blit_text(surface, caption, (8, axis_y), colour=DIM_TEXT, face=face)
    pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
    geometry = HistoryGeometry(
        plots=tuple(plots),
        start=start,
        end=end,
        time_labels=tuple(time_labels),
        date_caption=caption,
        value_labels=tuple(value_labels),
        points=tuple(points),
        hidden=len(drawn) - len(shown),
    )
    return surface, geometry


class HistoryChart(pygame_gui.elements.UIImage):
    """Redraws only when the series, the empty text or the size change."""

    def __init__(self, relative_rect: pygame.Rect, **kwargs: Any) -> None:
        surface, self.geometry = draw_history(relative_rect.size, (), SELECT)
        super().__init__(relative_rect=relative_rect, image_surface=surface, **kwargs)
        self.series: tuple[HistorySeries, ...] = ()
        self.empty = SELECT
        self.redraws = 0
        self._key: tuple[object, ...] = (tuple(relative_rect.size), (), SELECT)

    def show_series(self, series: tuple[HistorySeries, ...], empty: str = NONE_YET) -> bool:
        """True when it was redrawn."""
        size = (int(self.rect.width), int(self.rect.height))
        key = (size, series, empty)
        if key == self._key:
            return False
        self._key = key
        self.series, self.empty = series, empty
        surface, self.geometry = draw_history(size, series, empty)
        self.set_image(surface)
        self.redraws += 1
        return True

    def place(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)
        self.show_series(self.series, self.empty)
