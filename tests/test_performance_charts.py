"""The Performance tab's benchmark table and history chart, from real performance_stats records.

Records are written through the perfstats API (the file the CLI's `bench` and the window's
Benchmark append to) for models pulled from the registry fixture; the drawn surfaces are read
back pixel by pixel.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pygame
import pytest
from lifecycle_support import pull
from panel_harness import PanelHarness
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.components.model import InstalledModelEntry
from ecs_models.runtime import perfstats
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.ui.performance.bench_table import BAR, BEST_BAR, COLUMNS
from ecs_models.ui.performance.draw import LINE, TRACK
from ecs_models.ui.performance.view import PerformanceView

# A fixed local day: the chart's axis labels are local clock times.
DAY = dt.datetime(2025, 5, 3)
COLUMN = {c.figure: i for i, c in enumerate(COLUMNS)}


def at(hour: int, minute: int = 0) -> float:
    return DAY.replace(hour=hour, minute=minute).timestamp()


def stamp(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat()


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> tuple[PushedModel, PushedModel, PushedModel]:
    return tuple(  # type: ignore[return-value]
        push_small_model(registry, f"library/perf-{letter}", "v1", gguf_size=1 * MIB, seed=seed)
        for letter, seed in (("fast", 91), ("slow", 92), ("never", 93))
    )


@pytest.fixture
def store_with_records(
    models_dir: Path, pushed: tuple[PushedModel, PushedModel, PushedModel]
) -> tuple[ModelStore, list[InstalledModel]]:
    """Three installed models: two benchmarked (one twice), one never."""
    store = ModelStore(models_dir)
    fast, slow, never = (pull(store, p.name) for p in pushed)

    def bench(model: InstalledModel, moment: float, **figures: Any) -> None:
        perfstats.record(
            store,
            PerformanceRecord(
                model=model.display,
                kind="benchmark",
                recorded_at=stamp(moment),
                runtime="llama.cpp",
                digest=model.digest,
                **figures,
            ),
        )

    perfstats.record(
        store,
        PerformanceRecord(
            model=fast.display,
            kind="download",
            recorded_at=stamp(at(9)),
            download_bytes_per_second=80e6,
        ),
    )
    bench(
        fast,
        at(10),
        load_seconds=2.0,
        prompt_tokens_per_second=150.0,
        generation_tokens_per_second=30.0,
        peak_memory_bytes=900_000_000,
    )
    bench(
        slow,
        at(11),
        load_seconds=4.0,
        prompt_tokens_per_second=80.0,
        generation_tokens_per_second=20.0,
        peak_memory_bytes=1_800_000_000,
    )
    bench(
        fast,
        at(13),
        load_seconds=1.0,
        prompt_tokens_per_second=160.0,
        generation_tokens_per_second=40.0,
        peak_memory_bytes=1_000_000_000,
    )
    return store, [fast, slow, never]


def perf_view(harness: PanelHarness) -> PerformanceView:
    return next(a.view for a in harness.plugin.areas if isinstance(a.view, PerformanceView))


def open_and_pick(harness: PanelHarness, display: str, count: int) -> PerformanceView:
    harness.run_until(lambda: len(harness.query(InstalledModelEntry)) == count)
    harness.click_tab("Performance")
    view = perf_view(harness)
    harness.run_until(
        lambda: any(i["text"].startswith(display) for i in view.models_list.item_list)
    )
    harness.click_item(view.models_list, display)
    return view


def click_at(harness: PanelHarness, pos: tuple[int, int]) -> None:
    """A left click at a screen position, through SDL's event queue."""
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=()))
    harness.frame()
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    harness.settle(3)


def close_to(got: pygame.Color, want: pygame.Color) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(got[:3], want[:3], strict=True))


def test_table_lists_each_models_last_benchmark_with_bars_relative_to_the_best(
    store_with_records: tuple[ModelStore, list[InstalledModel]],
    registry: RegistryServer,
    harness_for: Any,
) -> None:
    store, (fast, slow, never) = store_with_records
    harness = harness_for(store.root, registry.host, size=(1000, 700))
    view = open_and_pick(harness, fast.display, 3)
    harness.run_until(lambda: len(view.table.rows) == 2)
    harness.frame()
    table = view.table
    # Fastest generation first; the never-benchmarked model has no row; the last run counts.
    assert [r.model for r in table.rows] == [fast.display, slow.display]
    assert table.rows[0].values == (1.0, 160.0, 40.0, 1e9)
    assert table.rows[1].values == (4.0, 80.0, 20.0, 1.8e9)
    assert table.selected == str(fast.name)
    geometry = table.geometry
    full = geometry.cell_width
    generation, load = COLUMN["generation_tokens_per_second"], COLUMN["load_seconds"]
    memory = COLUMN["peak_memory_bytes"]

    def width(row: int, column: int) -> int:
        bar = geometry.bars[row][column]
        assert bar is not None
        return int(bar.width)

    # The best of each column is the fast model: most tok/s, least load time and memory.
    assert geometry.best == (0, 0, 0, 0)
    # Its bars are full; the other's are its share of the best: half the tokens per second,
    # four times the load time (a quarter), 1.8 times the memory (1 / 1.8 of a bar).
    assert all(width(0, c) == full for c in range(len(COLUMNS)))
    assert abs(width(1, generation) - full / 2) <= 1
    assert abs(width(1, COLUMN["prompt_tokens_per_second"]) - full * 80 / 160) <= 1
    assert abs(width(1, load) - full / 4) <= 1
    assert abs(width(1, memory) - full / 1.8) <= 1
    # The labels: the columns' titles, and each value written in its cell.
    assert [c.title for c in COLUMNS] == ["Load", "Prompt", "Generation", "Peak RSS"]
    assert [c.format(v) for c, v in zip(COLUMNS, table.rows[1].values, strict=True)] == [
        "4.00 s",
        "80.0 tok/s",
        "20.0 tok/s",
        "1.8 GB",
    ]

    # On screen: probed along each bar's bottom row, below the value text.
    origin = table.rect.topleft

    def pixel(row: int, column: int, share: float) -> pygame.Color:
        bar = geometry.bars[row][column]
        assert bar is not None
        x = bar.x + min(full - 1, int(full * share))
        colour: pygame.Color = harness.screen.get_at((origin[0] + x, origin[1] + bar.bottom - 1))
        return colour

    assert close_to(pixel(0, generation, 0.9), BEST_BAR)  # the best: green, full width
    assert close_to(pixel(1, generation, 0.4), BAR)  # half as fast: blue to the middle
    assert close_to(pixel(1, generation, 0.6), TRACK)  # ... and empty track beyond it
    assert close_to(pixel(0, load, 0.9), BEST_BAR)  # the quickest load: green, full width
    assert close_to(pixel(1, load, 0.2), BAR)  # four times as long: a quarter of a bar
    assert close_to(pixel(1, load, 0.3), TRACK)

    # Picking another model moves the outline, redrawing the table once; idle frames do not.
    redraws = table.redraws
    harness.settle(5)
    assert table.redraws == redraws
    harness.click_item(view.models_list, slow.display)
    assert table.selected == str(slow.name) and table.redraws == redraws + 1
    assert never.display not in [r.model for r in table.rows]

    # A click on a row of the table picks its model: the list and the history follow.
    row = geometry.rows[table.geometry.names.index(str(fast.name))]
    click_at(harness, (table.rect.x + row.centerx, table.rect.y + row.centery))
    assert table.selected == str(fast.name)
    picked = [item["text"] for item in view.models_list.item_list if item["selected"]]
    assert len(picked) == 1 and picked[0].startswith(fast.display + " ")
    harness.run_until(lambda: "Download" in [s.label for s in view.history.series])
    # The list carries each model's health badge, as every list of models does.
    assert all(i["text"].endswith("   not verified") for i in view.models_list.item_list)


def test_history_chart_has_a_time_axis_and_value_labels(
    store_with_records: tuple[ModelStore, list[InstalledModel]],
    registry: RegistryServer,
    harness_for: Any,
) -> None:
    store, (fast, _, _) = store_with_records
    harness = harness_for(store.root, registry.host, size=(1000, 700))
    view = open_and_pick(harness, fast.display, 3)
    chart = view.history
    harness.run_until(lambda: "Generation" in [s.label for s in chart.series])
    harness.frame()
    labels = [s.label for s in chart.series]
    # Benchmark figures first, then the pull's; only figures the model has.
    assert labels == ["Generation", "Prompt", "Load time", "Peak RSS", "Download"]
    geometry = chart.geometry
    # The day under the labels ("2025-05-03, local time" where the label column has room).
    assert geometry.date_caption in ("2025-05-03", "2025-05-03, local time")
    ticks = dict(geometry.time_labels)
    # Measurements from 09:00 to 13:00: ticks on whole hours of the local clock.
    assert {"10:00", "12:00"} <= set(ticks) and all(t.endswith(":00") for t in ticks)
    strips = [s.label for s in chart.series][: len(geometry.plots)]
    assert len(geometry.plots) + geometry.hidden == len(labels)
    row = strips.index("Generation")
    # A linear time axis: the 10:00 run sits on its tick, the 13:00 run 1.5 tick gaps on.
    (x10, y10), (x13, y13) = geometry.points[row]
    two_hours = ticks["12:00"] - ticks["10:00"]
    assert x10 == ticks["10:00"] and abs(x13 - (x10 + 1.5 * two_hours)) <= 1
    # The value axis runs from 0 to 50 tok/s: 40 is four fifths up, 30 three fifths.
    assert geometry.value_labels[row] in (("0", "50"), ("0", "25", "50"))
    plot = geometry.plots[row]
    assert abs((plot.bottom - 1 - y13) - 0.8 * (plot.h - 1)) <= 1
    assert abs((plot.bottom - 1 - y10) - 0.6 * (plot.h - 1)) <= 1
    origin = chart.rect.topleft
    assert close_to(harness.screen.get_at((origin[0] + x10, origin[1] + y10)), LINE)
    title = view.latest_label.text
    # The newest run's local time, in as many words as fit.
    assert title.startswith("History: 3 measurements, newest benchmark ") and "05-03 13:00" in title
    # Tick labels are drawn: text-coloured pixels under each tick, in the axis row.
    axis_top = geometry.plots[-1].bottom + 2
    for text, x in geometry.time_labels:
        area = pygame.Rect(origin[0] + x - 20, origin[1] + axis_top, 40, 22)
        lit = [
            (px, py)
            for px in range(area.left, area.right)
            for py in range(area.top, area.bottom)
            if sum(harness.screen.get_at((px, py))[:3]) > 450
        ]
        assert lit, f"no text drawn for the tick {text}"
    redraws = chart.redraws
    harness.settle(5)
    assert chart.redraws == redraws  # drawn on change only


@pytest.mark.parametrize("size", [(800, 600), (1920, 1080)])
def test_legible_at_small_and_large_windows(
    store_with_records: tuple[ModelStore, list[InstalledModel]],
    registry: RegistryServer,
    harness_for: Any,
    size: tuple[int, int],
    tmp_path: Path,
) -> None:
    store, (fast, _, _) = store_with_records
    harness = harness_for(store.root, registry.host, size=size)
    view = open_and_pick(harness, fast.display, 3)
    harness.run_until(lambda: len(view.table.rows) == 2 and bool(view.history.series))
    harness.frame()
    pygame.image.save(harness.screen, str(tmp_path / f"performance-{size[0]}.png"))
    table, chart = view.table, view.history
    # Both rows and every column fit; cells wide enough to tell bars apart.
    assert len(table.geometry.rows) == 2 and table.geometry.cell_width >= 60
    assert table.rect.bottom <= chart.rect.top and chart.rect.bottom <= view.cache_label.rect.top
    # At least the two benchmark speeds are charted, each strip tall enough for three labels
    # at the large size, and the time axis has at least three labels.
    geometry = chart.geometry
    assert len(geometry.plots) >= 2
    assert len(geometry.time_labels) >= 3
    if size[1] >= 1000:
        assert geometry.hidden == 0 and all(len(v) == 3 for v in geometry.value_labels)
    else:  # the title says how many figures a taller window would show
        assert geometry.hidden > 0
        assert f" · {geometry.hidden} more " in view.latest_label.text
    # The title is worded to fit its label (pygame_gui would cut it at the edge).
    title = view.latest_label
    assert title.font is not None
    assert title.font.get_rect(title.text).width <= title.rect.width, title.text
    # Labels never overlap: tick labels are at least their own width apart.
    xs = [x for _, x in geometry.time_labels]
    assert all(b - a >= 60 for a, b in itertools.pairwise(xs))
