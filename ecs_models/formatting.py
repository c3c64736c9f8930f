"""Human-readable sizes, rates, durations, sort keys and Go's RFC 3339 times, shared by all.

Two byte styles, each for its place: `human_bytes` keeps one decimal below 100 (sentences,
the window), `ollama_bytes` is exactly Ollama's format.HumanBytes (tables that mirror
`ollama list`).
"""

from __future__ import annotations

import datetime as dt
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


def ollama_bytes(n: float) -> str:
    """Sizes exactly as Ollama's format.HumanBytes prints them: 85 MB, 4.7 GB, 512 B.

    human_bytes prints "85.0 MB" between 10 and 100, which `ollama list` never does.
    """
    units = (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3))
    for unit, scale in units:
        if n >= scale:
            value = n / scale
            if value >= 10 or value == math.trunc(value):
                return f"{math.trunc(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{int(n)} B"


def human_duration(seconds: float) -> str:
    """Ollama's humanDuration: '5 seconds', 'About a minute', '3 hours', '2 days', '5 weeks'."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def human_time(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """The MODIFIED column of `ollama list`: '2 days ago', '3 minutes from now'."""
    reference = now if now is not None else dt.datetime.now(dt.UTC)
    delta = (reference - when).total_seconds()
    if delta < 0:
        return human_duration(-delta) + " from now"
    return human_duration(delta) + " ago"


def rfc3339_nano(ns_since_epoch: int) -> str:
    """Go's time.RFC3339Nano in UTC: 2025-08-14T09:30:12.123456789Z (trailing zeros dropped)."""
    seconds, nanos = divmod(ns_since_epoch, 1_000_000_000)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def short_age(seconds: float) -> str:
    """How long ago, short enough for a badge: 'just now', '5 min ago', '2 h ago', '3 d ago'."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


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
