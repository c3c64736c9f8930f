"""What the Performance area's gauges, lines and charts say, from samples, stats and the cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ecs_models.formatting import human_bytes, human_rate
from ecs_models.runtime.machine import SystemSample
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.ui.performance.chart import Series

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


def _mbps(value: float) -> str:
    return human_rate(value)


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _tokens(value: float) -> str:
    return f"{value:.1f} tokens/s"


# (figure, label, format) for every chart row, in the order they are drawn.
FIGURE_ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("download_bytes_per_second", "Download", _mbps),
    ("verify_bytes_per_second", "Verify", _mbps),
    ("load_seconds", "Load time", _seconds),
    ("prompt_tokens_per_second", "Prompt", _tokens),
    ("generation_tokens_per_second", "Generation", _tokens),
    ("time_to_first_token_seconds", "First token", _seconds),
)


def stats_series(history: Sequence[PerformanceRecord]) -> tuple[Series, ...]:
    """One series per figure that has at least one measurement, oldest value first."""
    rows = []
    for figure, label, fmt in FIGURE_ROWS:
        values = tuple(float(v) for r in history if (v := getattr(r, figure)) is not None)
        if values:
            rows.append(Series(label, values, fmt(values[-1])))
    return tuple(rows)


def latest_text(history: Sequence[PerformanceRecord]) -> str:
    if not history:
        return "No measurements yet."
    last = history[-1]
    when = last.recorded_at[:16].replace("T", " ")
    return f"{len(history)} measurement{'s' if len(history) != 1 else ''}, newest {last.kind} at {when} UTC"


def cache_text(loaded: Sequence[tuple[str, int]], used: int, budget: int) -> str:
    """'Model cache: gemma3:270m (870 MB) · 870 MB of 12 GB budget'."""
    if not loaded:
        return f"Model cache: nothing loaded · budget {human_bytes(budget)}"
    names = ", ".join(f"{name} ({human_bytes(size)})" for name, size in loaded)
    return f"Model cache: {names} · {human_bytes(used)} of {human_bytes(budget)} budget"
