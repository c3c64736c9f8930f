"""What the Performance area's gauges, lines and charts say, from samples, stats and the cache."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence

from ecs_models.formatting import human_bytes, human_rate, short_age
from ecs_models.runtime.machine import SystemSample
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.ui.performance.bench_table import COLUMNS, BenchRow
from ecs_models.ui.performance.history_chart import HistorySeries

# The network gauge is full at the fastest rate seen so far, and never below this.
NET_FLOOR = 1e6

Reading = tuple[float | None, str]


def gauge_readings(sample: SystemSample | None, net_scale: float) -> dict[str, Reading]:
    """Title -> (fraction of the bar, caption) for every monitor gauge."""
    if sample is None:
        return {}
    used_ram = sample.ram_total - sample.ram_available
    readings: dict[str, Reading] = {
        "CPU": (sample.cpu_percent / 100.0, f"{sample.cpu_percent:.0f} %"),
        "RAM": (
            sample.ram_used_fraction,
            f"{human_bytes(used_ram)} / {human_bytes(sample.ram_total)}",
        ),
        "Disk": (sample.disk_used_fraction, f"{human_bytes(sample.disk_free)} free"),
    }
    if sample.swap_total > 0:
        readings["Swap"] = (
            sample.swap_used / sample.swap_total,
            f"{human_bytes(sample.swap_used)} / {human_bytes(sample.swap_total)}",
        )
    else:
        readings["Swap"] = (0.0, "no swap")
    rate = sample.net_receive_bytes_per_second
    readings["Network in"] = (
        (None, "measuring")
        if rate is None
        else (rate / max(net_scale, NET_FLOOR), human_rate(rate))
    )
    if sample.gpus:
        gpu = sample.gpus[0]
        used = gpu.total - gpu.free
        util = f"{gpu.utilization_percent:.0f} % · " if gpu.utilization_percent is not None else ""
        readings["GPU"] = (
            used / gpu.total if gpu.total else 0.0,
            f"{util}{human_bytes(used)} / {human_bytes(gpu.total)}",
        )
    else:
        readings["GPU"] = (None, "no NVIDIA GPU")
    return readings


def fps_text(fps: float | None, frame_ms: float | None) -> str:
    if fps is None or frame_ms is None:
        return "This app: measuring frame rate"
    return f"This app: {fps:.1f} FPS ({frame_ms:.1f} ms a frame)"


# (figure, label, unit, scale) of every strip of the history chart, in the order drawn:
# the benchmark's figures first, then the transfers'.
HISTORY_FIGURES: tuple[tuple[str, str, str, float], ...] = (
    ("generation_tokens_per_second", "Generation", "tok/s", 1.0),
    ("prompt_tokens_per_second", "Prompt", "tok/s", 1.0),
    ("load_seconds", "Load time", "s", 1.0),
    ("time_to_first_token_seconds", "First token", "s", 1.0),
    ("peak_memory_bytes", "Peak RSS", "GB", 1e9),
    ("download_bytes_per_second", "Download", "MB/s", 1e6),
    ("verify_bytes_per_second", "Verify", "MB/s", 1e6),
)


def record_time(entry: PerformanceRecord) -> float | None:
    """When a record was made (UNIX time); None when its stamp is unreadable."""
    try:
        moment = dt.datetime.fromisoformat(entry.recorded_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def history_series(history: Sequence[PerformanceRecord]) -> tuple[HistorySeries, ...]:
    """One series per figure with at least one measurement, oldest first."""
    timed = sorted(
        ((moment, entry) for entry in history if (moment := record_time(entry)) is not None),
        key=lambda pair: pair[0],
    )
    rows = []
    for figure, label, unit, scale in HISTORY_FIGURES:
        points = tuple(
            (moment, float(value) / scale)
            for moment, entry in timed
            if (value := getattr(entry, figure)) is not None
        )
        if points:
            if figure == "peak_memory_bytes" and max(v for _, v in points) < 1:
                unit, points = "MB", tuple((t, v * 1000) for t, v in points)
            rows.append(HistorySeries(label, unit, points))
    return tuple(rows)


def benchmark_rows(
    history: Mapping[str, Sequence[PerformanceRecord]],
    models: Sequence[tuple[str, str]],
    now: float,
) -> tuple[BenchRow, ...]:
    """Each installed model's last benchmark, fastest generation first.

    `history` is keyed by lower-case display name (the performance log's key); `models`
    holds (display, full name) of the installed models. A benchmark of a model that was
    already loaded measures no load: its load time is then the newest Load before it.
    """
    rows = []
    for display, name in models:
        runs = sorted(
            (
                (moment, entry)
                for entry in history.get(display.lower(), ())
                if entry.kind in ("benchmark", "load")
                and (moment := record_time(entry)) is not None
            ),
            key=lambda pair: pair[0],
        )
        last = next(
            (i for i in range(len(runs) - 1, -1, -1) if runs[i][1].kind == "benchmark"), None
        )
        if last is None:
            continue
        moment, bench = runs[last]
        values = []
        for column in COLUMNS:
            value = getattr(bench, column.figure)
            if value is None:
                earlier = (getattr(e, column.figure) for _, e in reversed(runs[:last]))
                value = next((v for v in earlier if v is not None), None)
            values.append(float(value) if value is not None else None)
        rows.append(BenchRow(display, name, tuple(values), short_age(now - moment)))
    speed = [c.figure for c in COLUMNS].index("generation_tokens_per_second")
    rows.sort(key=lambda r: (-(r.values[speed] or 0.0), r.model.lower()))
    return tuple(rows)


def latest_texts(history: Sequence[PerformanceRecord], hidden: int = 0) -> tuple[str, ...]:
    """The history chart's title, longest wording first (the view shows the first that fits):
    'History: 3 measurements, newest benchmark at 2025-05-03 13:00 · 2 more figures in a
    taller window', down to 'History: 3 measurements, newest 05-03 13:00 · 2 more if taller'."""
    if not history:
        return ("History: no measurements yet.",)
    last = max(history, key=lambda e: record_time(e) or 0.0)
    moment = record_time(last)
    local = time.localtime(moment) if moment else None
    when = time.strftime("%Y-%m-%d %H:%M", local) if local else "?"
    short_when = time.strftime("%m-%d %H:%M", local) if local else "?"
    count = len(history)
    head = f"History: {count} measurement{'s' if count != 1 else ''}, newest"
    figures = f"{hidden} more figure{'s' if hidden != 1 else ''}"
    more, short_more = (f" · {figures} in a taller window", f" · {hidden} more if taller")
    if not hidden:
        more = short_more = ""
    return (
        f"{head} {last.kind} at {when}{more}",
        f"{head} {last.kind} {short_when}{short_more}",
        f"{head} {short_when}{short_more}",
    )


def cache_text(loaded: Sequence[tuple[str, int]], used: int, budget: int) -> str:
    """'Model cache: gemma3:270m (870 MB) · 870 MB of 12 GB budget'."""
    if not loaded:
        return f"Model cache: nothing loaded · budget {human_bytes(budget)}"
    names = ", ".join(f"{name} ({human_bytes(size)})" for name, size in loaded)
    return f"Model cache: {names} · {human_bytes(used)} of {human_bytes(budget)} budget"
