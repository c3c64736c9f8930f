"""UI set: the Performance area's intents become requests; its widgets follow the resources."""

from __future__ import annotations

import time

import esper

from ecs_models.app.config import LocalModelConfig
from ecs_models.app.frame_clock import FrameClock
from ecs_models.app.frame_state import InventoryState, SystemStatus
from ecs_models.app.health_records import HealthRecords
from ecs_models.app.model_filter import search_texts
from ecs_models.app.perf_log import PerformanceLog
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.components.fit_cache import FitVerdicts
from ecs_models.components.notice import Notice, NoticeLevel
from ecs_models.components.performance import (
    ModelLoadRequest,
    ModelUnloadRequest,
    PerformanceSelection,
    RuntimeJob,
)
from ecs_models.formatting import human_bytes
from ecs_models.names import parse_model_name
from ecs_models.systems.notices import post_error
from ecs_models.ui.core.health_badge import badge_clock, health_badge
from ecs_models.ui.performance import intents
from ecs_models.ui.performance.text import (
    benchmark_rows,
    cache_text,
    fps_text,
    gauge_readings,
    history_series,
    latest_texts,
)
from ecs_models.ui.performance.view import PerformanceView

_JOB_WORDS = {"plan": "Estimating", "load": "Loading", "benchmark": "Benchmarking"}


class PerformanceAreaSystem(System):
    """Touches pygame_gui only while the area is visible, and only where content changed."""

    def __init__(self, resources: Resources, view: PerformanceView) -> None:
        super().__init__()
        self.view = view
        self.config = resources.get(LocalModelConfig)
        self.inventory = resources.get(InventoryState)
        self.status = resources.get(SystemStatus)
        self.selection = resources.get(PerformanceSelection)
        self.fits = resources.get(FitVerdicts)
        self.clock = resources.get(FrameClock)
        self.perf_log = PerformanceLog.of(resources)
        self.health = HealthRecords.of(resources)
        self._net_scale = 0.0
        self._shown_sample: object = None
        self._shown_models: tuple[object, ...] = ()
        self._shown_details: tuple[object, ...] = ()
        self._shown_table: tuple[object, ...] = ()
        self._shown_cache = -1
        self._shown_notice: Notice | None = None

    def process(self, dt: float) -> None:
        for intent in self.view.drain_intents():
            self._apply(intent)
        if not self.view.visible:
            return  # a hidden tab's widgets are never updated
        self.perf_log.poll()
        self._sync_monitor()
        self._sync_models()
        self._sync_details()
        self._sync_table()
        self._sync_cache()
        self._sync_notice()

    # -- intents -> requests -----------------------------------------------------------
    def _apply(self, intent: intents.PerformanceIntent) -> None:
        if isinstance(intent, intents.ModelPicked):
            self.selection.model_name = intent.model_name
            return
        name = self.selection.model_name
        if name is None:
            post_error("Select an installed model first.")
        elif isinstance(intent, intents.LoadPressed):
            esper.create_entity(ModelLoadRequest(name))
        elif isinstance(intent, intents.BenchmarkPressed):
            esper.create_entity(ModelLoadRequest(name, benchmark=True))
        elif isinstance(intent, intents.UnloadPressed):
            esper.create_entity(ModelUnloadRequest(name))

    # -- resources -> widgets ----------------------------------------------------------
    def _sync_monitor(self) -> None:
        sample = self.status.sample
        if sample is self._shown_sample:
            return  # a new sample arrives at most twice a second
        self._shown_sample = sample
        if sample is not None and sample.net_receive_bytes_per_second is not None:
            self._net_scale = max(self._net_scale, sample.net_receive_bytes_per_second)
        for title, (fraction, caption) in gauge_readings(sample, self._net_scale).items():
            self.view.gauges[title].show_reading(fraction, caption)
        self.view.set_label(self.view.fps_label, fps_text(self.clock.fps, self.clock.frame_ms))

    def _sync_models(self) -> None:
        """The list, with each model's health badge; its selection follows a table click."""
        now = badge_clock(time.time())
        key = (self.inventory.version, self.selection.model_name, self.health.version, now)
        if key == self._shown_models:
            return
        self._shown_models = key
        models = sorted(self.config.installed_models.values(), key=lambda m: m.display.lower())
        items = [
            (
                f"{m.display}   {human_bytes(m.size)}   "
                + health_badge(self.health.verdict(m.name, m.digest), now),
                m.name,
            )
            for m in models
        ]
        if self.selection.model_name not in self.config.installed_models:
            self.selection.model_name = None
        self.view.show_models(items, self.selection.model_name, search_texts(models))

    def _sync_details(self) -> None:
        name = self.selection.model_name
        jobs = tuple((job.kind.value, job.model_name) for _, job in esper.get_component(RuntimeJob))
        key = (
            name,
            self.fits.version,
            self.perf_log.version,
            self.config.model_cache.maxsize,
            self.config.model_cache.version,
            self.selection.runtime_missing,
            jobs,
        )
        if key == self._shown_details:
            return
        self._shown_details = key
        view = self.view
        view.show_models(view._items, name)
        missing = self.selection.runtime_missing
        runtime = (
            "Runtime: llama.cpp in this process"
            if missing == ""
            else ("Runtime: checking for llama.cpp" if missing is None else missing)
        )
        busy = [f"{_JOB_WORDS.get(kind, kind)} {_display(n)}" for kind, n in jobs]
        if busy:
            runtime += " · " + ", ".join(busy) + "…"
        view.set_label(view.runtime_label, runtime)
        if name is None:
            view.set_label(view.title_label, "Select a model to see its performance.")
            view.set_label(view.fit_label, "")
            view.set_label(view.latest_label, "")
            view.show_history(None)
            return
        metadata = self.config.installed_models.get(name)
        display = metadata.display if metadata is not None else _display(name)
        data = self.config.model_cache.get_quiet(name)
        state = (
            f"loaded, about {human_bytes(data.cache_bytes)}"
            if data and data.loaded
            else "not loaded"
        )
        view.set_label(view.title_label, f"{display} · {state}")
        fit = self.fits.line_for(name)
        view.set_label(view.fit_label, f"Fit: {fit}" if fit else "Fit: estimating…")
        history = self.perf_log.records_of(display)
        view.show_history(history_series(history))
        texts = latest_texts(history, view.history.geometry.hidden)
        view.set_label(view.latest_label, view.fitting(view.latest_label, texts))

    def _sync_table(self) -> None:
        """Every installed model's last benchmark; its ages ('2 h ago') move on now and then."""
        now = badge_clock(time.time())
        key = (self.perf_log.version, self.inventory.version, self.selection.model_name, now)
        if key == self._shown_table:
            return
        self._shown_table = key
        models = [(m.display, m.name) for m in self.config.installed_models.values()]
        rows = benchmark_rows(self.perf_log.history, models, now)
        self.view.show_table(rows, self.selection.model_name)

    def _sync_cache(self) -> None:
        cache = self.config.model_cache
        version = cache.version
        if version == self._shown_cache:
            return
        self._shown_cache = version
        loaded = [(_display(n), d.cache_bytes) for n, d in cache.loaded()]
        self.view.set_label(
            self.view.cache_label, cache_text(loaded, int(cache.currsize), int(cache.maxsize))
        )

    def _sync_notice(self) -> None:
        now = time.monotonic()
        newest: Notice | None = None
        for _, notice in esper.get_component(Notice):
            if notice.expires_at > now and (
                newest is None or notice.created_at >= newest.created_at
            ):
                newest = notice
        if newest is self._shown_notice:
            return
        self._shown_notice = newest
        if newest is None:
            self.view.show_notice("", error=False)
        else:
            self.view.show_notice(newest.text, error=newest.level is NoticeLevel.ERROR)


def _display(name: str) -> str:
    return parse_model_name(name).display
