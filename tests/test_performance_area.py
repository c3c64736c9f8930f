"""The Performance tab driven headless: monitor gauges, FPS, stats after real pulls, fit, cache."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest
from panel_harness import PanelHarness
from support.model_builder import (
    MIB,
    GGUFFactory,
    build_model,
    bytes_layer,
    gguf_layer,
    install_model,
    push_small_model,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.app.config import ResourceLimits
from ecs_models.app.frame_state import SystemStatus
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.performance import RuntimeJob
from ecs_models.gguf.fit import fit_installed
from ecs_models.runtime import perfstats
from ecs_models.runtime.loading import LOAD_SPEC, LlamaHandle
from ecs_models.runtime.machine import SystemSampler
from ecs_models.runtime.runtimes import llama_cpp_unavailable_reason
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.performance.draw import TRACK, level_colour
from ecs_models.ui.performance.gauge import BAR_HEIGHT
from ecs_models.ui.performance.view import PerformanceView

LLAMA_MISSING = llama_cpp_unavailable_reason()
FIT_RE = re.compile(r"^Fit: (fits|tight|too large): needs [\d.]+ [KMGT]?B for \d+ tokens, ")


@pytest.fixture
def panel(models_dir: Path, registry: RegistryServer) -> Iterator[PanelHarness]:
    harness = PanelHarness(models_dir, registry.host)
    try:
        harness.settle()
        yield harness
    finally:
        harness.close()


def perf_view(harness: PanelHarness) -> PerformanceView:
    for area in harness.plugin.areas:
        if isinstance(area.view, PerformanceView):
            return area.view
    raise AssertionError("no Performance area was built")


def open_tab(harness: PanelHarness, title: str) -> None:
    tab_bar = harness.plugin.tab_bar
    assert tab_bar is not None
    harness.click(tab_bar.buttons[title])


def pick(harness: PanelHarness, view: PerformanceView, prefix: str) -> None:
    harness.run_until(
        lambda: any(i["text"].startswith(prefix) for i in view.models_list.item_list), timeout=10
    )
    for item in view.models_list.item_list:
        if item["text"].startswith(prefix) and item["button_element"] is not None:
            harness.click(item["button_element"])
            return
    raise AssertionError(f"no row starts with {prefix!r}")


def status(harness: PanelHarness) -> SystemStatus:
    return harness.plugin.resources.get(SystemStatus)


def test_switching_tabs_shows_performance_view_and_back(panel: PanelHarness) -> None:
    view = perf_view(panel)
    assert not view.visible and panel.view.visible
    open_tab(panel, "Performance")
    assert view.visible and not panel.view.visible
    assert view.gauges["CPU"].visible
    open_tab(panel, "Models")
    assert panel.view.visible and not view.visible


def test_gauges_show_a_real_sample_and_the_app_fps(panel: PanelHarness) -> None:
    view = perf_view(panel)
    open_tab(panel, "Performance")
    # The second sample has a network rate (a counter delta needs two readings).
    panel.run_until(
        lambda: (
            (s := status(panel).sample) is not None
            and s.net_receive_bytes_per_second is not None
            and view.gauges["Network in"].caption.endswith("MB/s")
        ),
        timeout=10,
    )
    panel.frame()
    sample = status(panel).sample
    assert sample is not None

    def drawn(title: str, fraction: float) -> None:
        # A gauge keeps the fraction it last drew: equal to the sample's to the pixel.
        gauge = view.gauges[title]
        assert gauge.fraction is not None
        width = gauge.bar_width()
        assert round(gauge.fraction * width) == round(fraction * width), title

    cpu = view.gauges["CPU"]
    assert cpu.caption == f"{sample.cpu_percent:.0f} %"
    drawn("CPU", sample.cpu_percent / 100)
    assert 0 < sample.ram_available < sample.ram_total
    drawn("RAM", sample.ram_used_fraction)
    assert view.gauges["RAM"].caption.endswith(" / " + _human(sample.ram_total))
    assert view.gauges["Disk"].caption == f"{_human(sample.disk_free)} free"
    drawn("Disk", sample.disk_used_fraction)
    assert view.gauges["GPU"].caption in ("no NVIDIA GPU",) or "/" in view.gauges["GPU"].caption
    fps = view.fps_label.text
    match = re.match(r"This app: (\d+\.\d) FPS \((\d+\.\d) ms a frame\)$", fps)
    assert match, fps
    assert float(match.group(1)) > 1


def _human(n: int) -> str:
    from ecs_models.formatting import human_bytes

    return human_bytes(n)


def test_gauge_redraws_only_on_visible_change(panel: PanelHarness) -> None:
    gauge = perf_view(panel).gauges["CPU"]
    gauge.show_reading(0.5, "50 %")
    redraws = gauge.redraws
    assert not gauge.show_reading(0.5, "50 %")
    # Less than half a pixel of the bar: the same picture, no redraw.
    assert not gauge.show_reading(0.5 + 0.4 / gauge.bar_width(), "50 %")
    assert gauge.redraws == redraws
    assert gauge.show_reading(0.6, "60 %") and gauge.redraws == redraws + 1


def test_sampler_caches_readings_for_its_ttl(models_dir: Path) -> None:
    sampler = SystemSampler(models_dir, ttl=0.3)
    first = sampler.sample()
    assert sampler.sample() is first  # within the TTL: no second psutil reading
    assert first.net_receive_bytes_per_second is None
    import time

    time.sleep(0.35)
    second = sampler.sample()
    assert second is not first and second.sampled_at > first.sampled_at
    assert second.net_receive_bytes_per_second is not None
    assert second.net_receive_bytes_per_second >= 0


def test_pull_and_verify_record_stats_drawn_over_time(
    panel: PanelHarness, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    model = push_small_model(registry, unique_repo, "v1", gguf_size=8 * MIB, seed=61)
    panel.type_text(f"{model.repository}:{model.tag}")
    panel.press_enter()
    panel.run_until(
        lambda: any(e.metadata.display == model.name for _, e in panel.query(InstalledModelEntry)),
        timeout=60,
    )
    # Verify it from the Models tab: a second figure.
    panel.settle()
    panel.click_list_item(model.name)
    panel.click(panel.view.verify_button)
    panel.run_until(lambda: panel.view.notice_label.text.startswith("Verified"), timeout=30)

    view = perf_view(panel)
    open_tab(panel, "Performance")
    pick(panel, view, model.name)

    def points() -> dict[str, tuple[tuple[float, float], ...]]:
        return {s.label: s.points for s in view.history.series}

    panel.run_until(lambda: {"Download", "Verify"} <= set(points()), timeout=10)
    assert len(points()["Download"]) == 1 and points()["Download"][0][1] > 0
    assert points()["Verify"][0][1] > 0
    assert view.latest_label.text.startswith("History: 2 measurements, newest verify at")
    # The records reach the JSON lines file (written on a worker).
    store = ModelStore(models_dir)
    panel.run_until(lambda: len(list(perfstats.records(store, model.name))) == 2, timeout=10)
    kinds = [r.kind for r in perfstats.records(store, model.name)]
    assert kinds == ["download", "verify"]
    # The Download measurement is a point drawn in the line colour on screen.
    panel.frame()
    from ecs_models.ui.performance.draw import LINE

    chart = view.history
    row = [s.label for s in chart.series].index("Download")
    x, y = chart.geometry.points[row][-1]
    got = panel.screen.get_at((chart.rect.x + x, chart.rect.y + y))
    assert all(abs(a - b) <= 8 for a, b in zip(got[:3], LINE[:3], strict=True)), got
    # Nothing benchmarked yet: the table says so.
    assert view.table.rows == ()


def test_fit_line_for_an_installed_generated_gguf(
    panel: PanelHarness, models_dir: Path, gguf_factory: GGUFFactory
) -> None:
    path = gguf_factory(tensor_bytes=4 * MIB, seed=62, n_layers=4, ctx=8192)
    install_model(
        models_dir,
        build_model([gguf_layer(path), text_layer("template", "{{ .Prompt }}")]),
        repository="library/fitme",
        tag="q4",
    )
    # Written behind the panel's back: ask the lifecycle set to rescan, as a refresh would.
    from ecs_models.app.schedule import entered_world
    from ecs_models.components.lifecycle import InventoryRefreshRequest

    with entered_world(panel.plugin.world_name):
        import esper

        esper.create_entity(InventoryRefreshRequest())
    view = perf_view(panel)
    open_tab(panel, "Performance")
    pick(panel, view, "fitme:q4")
    panel.run_until(lambda: FIT_RE.match(view.fit_label.text) is not None, timeout=10)
    expected = fit_installed(ModelStore(models_dir), "fitme:q4")
    assert f"{expected.verdict.verdict}:" in view.fit_label.text
    assert f"for {expected.estimate.context_length} tokens" in view.fit_label.text
    # The Models tab's details show the same verdict for the selected model.
    open_tab(panel, "Models")
    panel.click_list_item("fitme:q4")
    panel.run_until(
        lambda: any(label.text.startswith("Fit: ") for label in panel.view.detail_labels),
        timeout=10,
    )
    line = next(label.text for label in panel.view.detail_labels if label.text.startswith("Fit"))
    assert FIT_RE.match(line), line


def test_screenshot_pixels_of_a_gauge(panel: PanelHarness, tmp_path: Path) -> None:
    view = perf_view(panel)
    open_tab(panel, "Performance")
    panel.run_until(lambda: view.gauges["RAM"].fraction is not None, timeout=10)
    panel.frame()
    shot = tmp_path / "performance.png"
    pygame.image.save(panel.screen, str(shot))
    image = pygame.image.load(str(shot))
    # The fuller of RAM and disk shows a filled part of the bar in its level colour.
    gauge = max((view.gauges["RAM"], view.gauges["Disk"]), key=lambda g: g.fraction or 0.0)
    fraction = gauge.fraction or 0.0
    rect = gauge.rect
    bar_y = rect.bottom - 6 - BAR_HEIGHT // 2
    bar_x = rect.x + 6
    filled = round(fraction * gauge.bar_width())
    assert filled >= 3, f"{gauge.title} is only {fraction:.1%} full"

    def close_to(pos: tuple[int, int], colour: pygame.Color) -> bool:
        got = image.get_at(pos)
        return all(abs(a - b) <= 8 for a, b in zip(got[:3], colour[:3], strict=True))

    assert close_to((bar_x + 1, bar_y), level_colour(filled / gauge.bar_width()))
    if filled < gauge.bar_width() - 3:
        assert close_to((rect.right - 8, bar_y), TRACK), "the unfilled part of the bar"


# -- the llama.cpp model cache, with real loads of Gemma 3 270M ------------------------------


def install_gemma(models_dir: Path, gemma_file: Path, *tags: str) -> None:
    model = build_model(
        [bytes_layer("model", gemma_file.read_bytes()), text_layer("template", "{{ .Prompt }}")]
    )
    for tag in tags:
        install_model(models_dir, model, repository="library/gemma3", tag=tag)


def gemma_estimate(models_dir: Path, tag: str) -> int:
    report = fit_installed(
        ModelStore(models_dir), f"gemma3:{tag}", context_length=LOAD_SPEC.context_length
    )
    return report.estimate.total_bytes


@pytest.mark.runtime
@pytest.mark.skipif(LLAMA_MISSING is not None, reason=LLAMA_MISSING or "")
def test_load_evict_benchmark_gemma_under_a_small_budget(
    models_dir: Path, registry: RegistryServer, gemma_file: Path
) -> None:
    install_gemma(models_dir, gemma_file, "a", "b")
    estimate = gemma_estimate(models_dir, "a")
    # Room for one loaded Gemma, not two.
    budget = estimate * 3 // 2
    harness = PanelHarness(
        models_dir, registry.host, limits=ResourceLimits(model_cache_budget=budget)
    )
    try:
        harness.settle()
        view = perf_view(harness)
        cache = harness.plugin.config.model_cache
        open_tab(harness, "Performance")
        harness.run_until(lambda: view.runtime_label.text.startswith("Runtime: llama.cpp"))
        first, second = "registry.ollama.ai/library/gemma3:a", "registry.ollama.ai/library/gemma3:b"

        def loaded(name: str) -> bool:
            data = cache.get_quiet(name)
            return data is not None and data.loaded

        pick(harness, view, "gemma3:a")
        harness.click(view.load_button)
        harness.run_until(lambda: loaded(first), timeout=60)
        handle_a = cache.get_quiet(first).runtime  # type: ignore[union-attr]
        assert isinstance(handle_a, LlamaHandle) and handle_a.is_loaded
        harness.settle()
        assert "gemma3:a" in view.cache_label.text and "budget" in view.cache_label.text
        assert "loaded" in view.title_label.text

        pick(harness, view, "gemma3:b")
        harness.click(view.load_button)
        harness.run_until(lambda: loaded(second), timeout=60)
        assert not loaded(first)
        assert cache.currsize <= budget
        # The eviction's unload ran on the runtime worker before the second load.
        assert not handle_a.is_loaded
        harness.settle()
        assert "gemma3:b" in view.cache_label.text and "gemma3:a" not in view.cache_label.text

        harness.click(view.benchmark_button)
        harness.run_until(
            lambda: "Generation" in {s.label for s in view.history.series}, timeout=120
        )
        assert "Benchmarked gemma3:b" in view.notice_label.text
        # One load, one load time: the benchmark of a loaded model does not repeat it.
        series = {s.label: s.points for s in view.history.series}
        assert len(series["Load time"]) == 1 and len(series["Generation"]) == 1
        # The table lists the benchmark: its figures, peak RSS included, with full bars.
        harness.run_until(lambda: [r.model for r in view.table.rows] == ["gemma3:b"])
        (row,) = view.table.rows
        assert all(value is not None and value > 0 for value in row.values), row
        assert all(
            bar is not None and bar.width == view.table.geometry.cell_width
            for bar in view.table.geometry.bars[0]
        )
        records = list(perfstats.records(ModelStore(models_dir), "gemma3:b"))
        harness.run_until(
            lambda: any(
                r.kind == "benchmark" for r in perfstats.records(ModelStore(models_dir), "gemma3:b")
            ),
            timeout=10,
        )
        records = list(perfstats.records(ModelStore(models_dir), "gemma3:b"))
        bench = next(r for r in records if r.kind == "benchmark")
        assert (bench.generation_tokens_per_second or 0) > 0
        assert (bench.time_to_first_token_seconds or 0) > 0
        assert bench.runtime == "llama.cpp"
        assert {"load", "benchmark"} <= {r.kind for r in records}

        harness.click(view.unload_button)
        harness.run_until(lambda: not loaded(second), timeout=10)
        harness.run_until(lambda: view.cache_label.text.startswith("Model cache: nothing"))
    finally:
        harness.close()


@pytest.mark.runtime
@pytest.mark.skipif(LLAMA_MISSING is not None, reason=LLAMA_MISSING or "")
def test_a_model_over_the_budget_is_never_loaded(
    models_dir: Path, registry: RegistryServer, gemma_file: Path
) -> None:
    install_gemma(models_dir, gemma_file, "big")
    budget = gemma_estimate(models_dir, "big") // 2
    harness = PanelHarness(
        models_dir, registry.host, limits=ResourceLimits(model_cache_budget=budget)
    )
    try:
        harness.settle()
        view = perf_view(harness)
        open_tab(harness, "Performance")
        pick(harness, view, "gemma3:big")
        harness.click(view.load_button)
        harness.run_until(lambda: view.notice_label.text.startswith("Not loading"), timeout=30)
        text = view.notice_label.text
        assert "more than the model memory budget" in text and text.endswith(".")
        assert text.count(". ") == 0  # one sentence
        harness.settle()
        assert not harness.query(RuntimeJob)
        assert not harness.plugin.config.model_cache.loaded()
    finally:
        harness.close()
