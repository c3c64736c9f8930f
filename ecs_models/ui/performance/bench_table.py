"""Each model's last benchmark side by side: a labelled table whose cells carry bars.

A cell's bar says how close its model comes to the best model of that column: full (and
green) for the best, half for half the tokens per second or twice the load time or memory.
So a longer bar is always better, whichever way the column's figure runs. Drawn with pygame
onto the surface of one UIImage, again only when the rows, the selection or the size change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygame
import pygame_gui

from ecs_models.formatting import human_bytes
from ecs_models.ui.performance.draw import (
    BACKGROUND,
    BORDER,
    DIM_TEXT,
    TEXT,
    TRACK,
    blit_text,
    fit_text,
    font_size,
    text_font,
)
from ecs_models.ui.performance.layout import TABLE_ROW, table_height

ROW_HEIGHT = TABLE_ROW
BAR = pygame.Color("#24487a")
BEST_BAR = pygame.Color("#2c6b3c")
SELECTED_ROW = pygame.Color("#2f81f7")
EMPTY = "No benchmarks yet: select a model and press Benchmark."
LEGEND = "Bars: each column's best is full and green; longer is better"


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _tokens(value: float) -> str:
    return f"{value:.1f} tok/s"


def _memory(value: float) -> str:
    return human_bytes(value)


@dataclass(frozen=True, slots=True)
class Column:
    figure: str  # a PerformanceRecord field
    title: str
    format: Callable[[float], str]
    higher_is_better: bool


COLUMNS = (
    Column("load_seconds", "Load", _seconds, False),
    Column("prompt_tokens_per_second", "Prompt", _tokens, True),
    Column("generation_tokens_per_second", "Generation", _tokens, True),
    Column("peak_memory_bytes", "Peak RSS", _memory, False),
)


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One model's last benchmark: its figures by column (None: not measured) and its age."""

    model: str  # display name
    name: str  # fully qualified: the key of the selection
    values: tuple[float | None, ...]  # in COLUMNS order
    when: str  # '2 h ago'


@dataclass(frozen=True, slots=True)
class TableGeometry:
    """Where the table drew what (relative to its surface): for clicks and pixel probes."""

    model_column: pygame.Rect
    when_column: pygame.Rect | None
    columns: tuple[pygame.Rect, ...]  # header cells of COLUMNS
    rows: tuple[pygame.Rect, ...]  # one per drawn row (whole width)
    bars: tuple[tuple[pygame.Rect | None, ...], ...]  # per drawn row, per column: the bar
    cell_width: int  # a full bar: the column's best value
    best: tuple[int | None, ...]  # per column, the drawn row of the best (None: not drawn)
    names: tuple[str, ...] = ()  # per drawn row, its model's full name (a click picks it)


def best_index(rows: tuple[BenchRow, ...], column: int) -> int | None:
    """The row with the column's best value (most tok/s, least time or memory)."""
    values = [(row.values[column], i) for i, row in enumerate(rows)]
    known = [(v, i) for v, i in values if v is not None and v > 0]
    if not known:
        return None
    pick = max if COLUMNS[column].higher_is_better else min
    return pick(known)[1]


def share_of_best(value: float, best: float, higher_is_better: bool) -> float:
    """How close `value` comes to the column's `best`: 1 for the best, 0.5 for half the speed
    or twice the time; both positive."""
    return value / best if higher_is_better else best / value


def layout_table(size: tuple[int, int], count: int) -> TableGeometry:
    width, height = size
    with_when = width >= 640  # below, the four figures need the room
    model_w = max(110, min(280, int(width * 0.28)))
    when_w = 92 if with_when else 0  # "55 min ago" at 16 px, with the cell padding
    x = 6 + model_w
    cell_w = max(40, (width - 6 - x - when_w) // len(COLUMNS))
    columns = tuple(pygame.Rect(x + i * cell_w, 2, cell_w, ROW_HEIGHT) for i in range(len(COLUMNS)))
    when = pygame.Rect(columns[-1].right, 2, when_w, ROW_HEIGHT) if with_when else None
    fitting = max(0, (height - 4) // ROW_HEIGHT - 2)
    rows = tuple(
        pygame.Rect(2, 2 + (i + 1) * ROW_HEIGHT, width - 4, ROW_HEIGHT)
        for i in range(min(count, fitting))
    )
    return TableGeometry(
        model_column=pygame.Rect(6, 2, model_w, ROW_HEIGHT),
        when_column=when,
        columns=columns,
        rows=rows,
        bars=(),
        cell_width=cell_w - 6,
        best=(),
    )


def shown_rows(rows: tuple[BenchRow, ...], room: int, selected: str | None) -> tuple[BenchRow, ...]:
    """The rows that fit, best first; the selected model's row always among them."""
    if len(rows) <= room:
        return rows
    shown = rows[: max(0, room - 1)]
    chosen = next((r for r in rows[len(shown) :] if r.name == selected), None)
    return (*shown, chosen or rows[len(shown)])


def draw_table(
    size: tuple[int, int], rows: tuple[BenchRow, ...], selected: str | None
) -> tuple[pygame.Surface, TableGeometry]:
    width, height = max(240, size[0]), max(table_height(0), size[1])
    surface = pygame.Surface((width, height))
    surface.fill(BACKGROUND)
    face = text_font(font_size(width))
    geometry = layout_table((width, height), len(rows))
    room = len(geometry.rows)
    # The legend line needs a row of its own; more models than fit say how many are left out.
    drawn = shown_rows(rows, room - 1 if len(rows) > room else room, selected)
    baseline = (ROW_HEIGHT - face.get_linesize()) // 2

    def cell_text(
        text: str, rect: pygame.Rect, colour: pygame.Color = TEXT, *, middle: bool = False
    ) -> None:
        shown = fit_text(text, rect.width - 8, middle=middle, face=face)
        blit_text(surface, shown, (rect.x + 4, rect.y + baseline), colour=colour, face=face)

    cell_text("Model", geometry.model_column, DIM_TEXT)
    for column, rect in zip(COLUMNS, geometry.columns, strict=True):
        cell_text(column.title, rect, DIM_TEXT)
    if geometry.when_column is not None:
        cell_text("When", geometry.when_column, DIM_TEXT)
    pygame.draw.line(surface, BORDER, (2, 2 + ROW_HEIGHT - 1), (width - 3, 2 + ROW_HEIGHT - 1))
    # Bars compare with the best of every benchmarked model, drawn or not.
    best_rows = [best_index(rows, c) for c in range(len(COLUMNS))]
    tops = [rows[i].values[c] if i is not None else None for c, i in enumerate(best_rows)]
    best = tuple(
        drawn.index(rows[i]) if i is not None and rows[i] in drawn else None for i in best_rows
    )
    bars: list[tuple[pygame.Rect | None, ...]] = []
    for row, rect in zip(drawn, geometry.rows, strict=False):
        if row.name == selected:
            pygame.draw.rect(surface, SELECTED_ROW, rect, 1)
        name_rect = pygame.Rect(geometry.model_column.x, rect.y, geometry.model_column.w, rect.h)
        cell_text(row.model, name_rect, middle=True)
        row_bars: list[pygame.Rect | None] = []
        for c, (column, head) in enumerate(zip(COLUMNS, geometry.columns, strict=True)):
            cell = pygame.Rect(head.x + 3, rect.y + 3, geometry.cell_width, rect.h - 6)
            pygame.draw.rect(surface, TRACK, cell)
            value, top = row.values[c], tops[c]
            bar = None
            if value is not None and value > 0 and top is not None:
                share = share_of_best(value, top, column.higher_is_better)
                bar = pygame.Rect(cell.x, cell.y, max(2, round(share * cell.w)), cell.h)
                # Green for the best, and for a model that reads the same (425 MB and 425 MB).
                tie = share >= 1 - 1e-9 or column.format(value) == column.format(top)
                pygame.draw.rect(surface, BEST_BAR if tie else BAR, bar)
            row_bars.append(bar)
            text = column.format(value) if value is not None else "—"
            cell_text(text, pygame.Rect(head.x, rect.y, head.w, rect.h))
        bars.append(tuple(row_bars))
        if geometry.when_column is not None:
            when_rect = pygame.Rect(geometry.when_column.x, rect.y, geometry.when_column.w, rect.h)
            cell_text(row.when, when_rect, DIM_TEXT)
    legend_y = 2 + (len(drawn) + 1) * ROW_HEIGHT
    if not rows:
        cell_text(EMPTY, pygame.Rect(6, legend_y, width - 12, ROW_HEIGHT), DIM_TEXT)
        legend_y += ROW_HEIGHT
    legend = LEGEND
    if len(rows) > len(drawn):
        legend = f"and {len(rows) - len(drawn)} more benchmarked models · " + legend
    if legend_y + ROW_HEIGHT <= height:
        cell_text(legend, pygame.Rect(6, legend_y, width - 12, ROW_HEIGHT), DIM_TEXT)
    pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
    geometry = TableGeometry(
        model_column=geometry.model_column,
        when_column=geometry.when_column,
        columns=geometry.columns,
        rows=geometry.rows[: len(drawn)],
        bars=tuple(bars),
        cell_width=geometry.cell_width,
        best=best,
        names=tuple(row.name for row in drawn),
    )
    return surface, geometry


class BenchmarkTable(pygame_gui.elements.UIImage):
    """Redraws only when the rows, the selected model or the size change."""

    def __init__(self, relative_rect: pygame.Rect, **kwargs: Any) -> None:
        surface, self.geometry = draw_table(relative_rect.size, (), None)
        super().__init__(relative_rect=relative_rect, image_surface=surface, **kwargs)
        self.rows: tuple[BenchRow, ...] = ()
        self.selected: str | None = None
        self.redraws = 0
        self._key: tuple[object, ...] = (tuple(relative_rect.size), (), None)

    def show_rows(self, rows: tuple[BenchRow, ...], selected: str | None) -> bool:
        """True when it was redrawn."""
        size = (int(self.rect.width), int(self.rect.height))
        key = (size, rows, selected)
        if key == self._key:
            return False
        self._key = key
        self.rows, self.selected = rows, selected
        surface, self.geometry = draw_table(size, rows, selected)
        self.set_image(surface)
        self.redraws += 1
        return True

    def row_at(self, pos: tuple[int, int]) -> str | None:
        """The full name of the model whose row is at screen position `pos`, if any."""
        if not self.visible or not self.rect.collidepoint(pos):
            return None
        x, y = pos[0] - self.rect.x, pos[1] - self.rect.y
        rows = zip(self.geometry.rows, self.geometry.names, strict=True)
        return next((name for rect, name in rows if rect.collidepoint(x, y)), None)

    def place(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)
        self.show_rows(self.rows, self.selected)
