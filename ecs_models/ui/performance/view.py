"""The Performance area: monitor gauges, the app's FPS, per-model fit, stats and runtime buttons."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.performance.bench_table import BenchmarkTable, BenchRow
from ecs_models.ui.performance.gauge import Gauge
from ecs_models.ui.performance.history_chart import NONE_YET, SELECT, HistoryChart, HistorySeries
from ecs_models.ui.performance.intents import (
    BenchmarkPressed,
    LoadPressed,
    ModelPicked,
    PerformanceIntent,
    UnloadPressed,
)
from ecs_models.ui.performance.layout import GAUGE_TITLES, PerformanceLayout, compute_layout
from ecs_models.ui.widgets.filtered_list import FilteredList, Selection


class PerformanceView(View):
    """Every widget of the area; setters compare with what is shown and skip unchanged content."""

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        rect: pygame.Rect,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(manager, rect)
        self.on_close = on_close
        self.intents: list[PerformanceIntent] = []
        self.layout = compute_layout(*self.get_container().get_rect().size)
        lay = self.layout
        box = self.get_container()

        def label(
            rect: pygame.Rect, text: str = "", object_id: str = "@ecsm_detail"
        ) -> pygame_gui.elements.UILabel:
            oid = (
                ObjectID(object_id=object_id)
                if object_id.startswith("#")
                else ObjectID(class_id=object_id)
            )
            return pygame_gui.elements.UILabel(
                relative_rect=rect, text=text, manager=manager, container=box, object_id=oid
            )

        self.system_label = label(lay.system_label, "This machine")
        self.gauges = {
            title: Gauge(r, title, manager=manager, container=box)
            for title, r in zip(GAUGE_TITLES, lay.gauges, strict=True)
        }
        self.fps_label = label(lay.fps, "", "#ecsm_status")
        # The installed models (one at a time), their filter box and its count.
        self.filtered = FilteredList(
            manager,
            box,
            entry=lay.models_filter,
            count=lay.models_count,
            rows=lay.models_list,
            list_id="#ecsm_models_list",
            multi_select=False,
        )
        self.models_list = self.filtered.list
        self.title_label = label(lay.title, "Select a model to see its performance.")
        self.fit_label = label(lay.fit)
        self.benchmark_button = pygame_gui.elements.UIButton(
            relative_rect=lay.benchmark, text="Benchmark", manager=manager, container=box
        )
        self.load_button = pygame_gui.elements.UIButton(
            relative_rect=lay.load, text="Load", manager=manager, container=box
        )
        self.unload_button = pygame_gui.elements.UIButton(
            relative_rect=lay.unload, text="Unload", manager=manager, container=box
        )
        self.runtime_label = label(lay.runtime, "", "#ecsm_status")
        self.table = BenchmarkTable(lay.table, manager=manager, container=box)
        self.latest_label = label(lay.latest)
        self.history = HistoryChart(lay.history, manager=manager, container=box)
        self.cache_label = label(lay.cache, "", "#ecsm_status")
        self.notice_label = label(lay.notice, "", "#ecsm_notice_info")
        self._texts: dict[int, str] = {}
        self._items: tuple[tuple[str, str], ...] = ()
        self._search: dict[str, str] = {}  # model name -> what the filter searches
        self._notice: tuple[str, bool] = ("", False)

    # -- input -------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        if self.visible and self.filtered.handle_key(event):
            return True
        self._picked(self.filtered.follow_typing(event))
        handled, element = claim_event(self, event)
        if element is None:
            if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and self.visible:
                # A row of the benchmark table picks its model, as the list does.
                picked = self.table.row_at(event.pos)
                if picked is not None:
                    self.intents.append(ModelPicked(picked))
            return handled
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            if element is self.benchmark_button:
                self.intents.append(BenchmarkPressed())
            elif element is self.load_button:
                self.intents.append(LoadPressed())
            elif element is self.unload_button:
                self.intents.append(UnloadPressed())
        else:
            self._picked(self.filtered.handle_event(event, element))
        return True

    def _picked(self, picked: Selection | None) -> None:
        if picked is not None:
            self.intents.append(ModelPicked(picked.focused if picked.selected else None))

    def drain_intents(self) -> list[PerformanceIntent]:
        drained, self.intents = self.intents, []
        return drained

    # -- output ------------------------------------------------------------------------
    def set_label(self, label: pygame_gui.elements.UILabel, text: str) -> bool:
        """set_text only when the text changed (a label re-renders its text on every call)."""
        if self._texts.get(id(label)) == text:
            return False
        self._texts[id(label)] = text
        label.set_text(text)
        return True

    @staticmethod
    def fitting(label: pygame_gui.elements.UILabel, texts: Sequence[str]) -> str:
        """The first of `texts` (longest wording first) that fits the label's width, else the
        last (pygame_gui cuts a label's text at its edge)."""
        font = label.font
        room = label.rect.width - 8  # the label's own padding
        for text in texts:
            if font is None or font.get_rect(text).width <= room:
                return text
        return texts[-1]

    def show_models(
        self,
        items: Sequence[tuple[str, str]],
        selected: str | None,
        search: Mapping[str, str] | None = None,
    ) -> None:
        """(text, model name) rows that pass the filter (which searches `search[name]`, else
        the text), `selected` highlighted."""
        self._items = tuple(items)
        if search is not None:
            self._search = dict(search)
        self.filtered.show(self._items, {selected} if selected else set(), self._search)

    def show_notice(self, text: str, *, error: bool) -> None:
        self._notice = show_notice_text(self.notice_label, self._notice, text, error)

    def show_history(self, series: tuple[HistorySeries, ...] | None) -> None:
        """The selected model's measurements; None when no model is selected."""
        if series is None:
            self.history.show_series((), SELECT)
        else:
            self.history.show_series(series, NONE_YET)

    def show_table(self, rows: tuple[BenchRow, ...], selected: str | None) -> None:
        """Every model's last benchmark; the table grows (and the history shrinks) with rows."""
        if len(rows) != len(self.table.rows):
            self.layout = compute_layout(*self.get_container().get_rect().size, len(rows))
            self.table.rows = rows  # placed at its new size below, then drawn once here
            self._apply_layout(self.layout)
        self.table.show_rows(rows, selected)

    # -- geometry and life -------------------------------------------------------------
    def resize(self, rect: pygame.Rect) -> None:
        self.move_to(rect)
        size = self.get_container().get_rect().size
        self.layout = compute_layout(*size, len(self.table.rows))
        self._apply_layout(self.layout)

    def _apply_layout(self, lay: PerformanceLayout) -> None:
        placed = (
            (self.system_label, lay.system_label),
            (self.fps_label, lay.fps),
            (self.title_label, lay.title),
            (self.fit_label, lay.fit),
            (self.benchmark_button, lay.benchmark),
            (self.load_button, lay.load),
            (self.unload_button, lay.unload),
            (self.runtime_label, lay.runtime),
            (self.latest_label, lay.latest),
            (self.cache_label, lay.cache),
            (self.notice_label, lay.notice),
        )
        place(placed)
        self.filtered.place(lay.models_filter, lay.models_count, lay.models_list)
        for gauge, rect in zip(self.gauges.values(), lay.gauges, strict=True):
            gauge.place(rect)
        self.table.place(lay.table)
        self.history.place(lay.history)

    def kill(self) -> None:
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()
        super().kill()  # type: ignore[no-untyped-call]
