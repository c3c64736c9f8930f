"""Human-readable sizes, rates, durations and sort keys shared by the UI and the command line."""

from __future__ import annotations

import math
import re

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_bytes(n: float) -> str:
    """Decimal units like Ollama's `ollama list`: 4.7 GB, 85 MB."""
    if n < 1000:
        return f"{int(n)} B"
    exponent = min(int(math.log(n, 1000)), len(_UNITS) - 1)
    value = n / 1000**exponent
    return f"{value:.1f} {_UNITS[exponent]}" if value < 100 else f"{value:.0f} {_UNITS[exponent]}"


def human_rate(bytes_per_second: float) -> str:
    """Megabytes per second with one decimal: the progress bar's middle field."""
    return f"{bytes_per_second / 1e6:.1f} MB/s"


def human_eta(seconds: float | None) -> str:
    """m:ss (or h:mm:ss); '--:--' while the rate is still unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(fraction: float, bytes_per_second: float, eta_seconds: float | None) -> str:
    """The bar's caption: '42 % 85.0 MB/s 0:12'."""
    percent = math.floor(max(0.0, min(1.0, fraction)) * 100)
    return f"{percent} % {human_rate(bytes_per_second)} {human_eta(eta_seconds)}"


_PARAM_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMBT]?)", re.IGNORECASE)
_PARAM_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parameter_count(text: str | None) -> float:
    """'8.0B' -> 8e9, '137M' -> 1.37e8; unknown -> -1 so those sort first when ascending."""
    if not text:
        return -1.0
    match = _PARAM_RE.match(text)
    if match is None:
        return -1.0
    return float(match.group(1)) * _PARAM_SCALE[match.group(2).upper()]
