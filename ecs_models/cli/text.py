"""Text for the terminal: sizes and times as Ollama prints them, rates, bars, tables."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from typing import IO

from ecs_models.streamcount import MAX_STREAMS


def ollama_bytes(n: float) -> str:
    """Sizes exactly as Ollama's format.HumanBytes prints them: 85 MB, 4.7 GB, 512 B.

    formatting.human_bytes prints "85.0 MB" between 10 and 100, which `ollama list` never does.
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


_RATE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i)?)?b?(?:/s|ps)?\s*", re.IGNORECASE)
_RATE_SCALE = {"k": 1, "m": 2, "g": 3, "t": 4}


def parse_rate(text: str) -> float:
    """Bytes per second from '2000000', '500k', '10M', '1.5MB', '8MiB', '10MB/s'.

    Decimal units (k = 1000) as Ollama prints sizes; 'Ki', 'Mi'... are binary.
    """
    match = _RATE_RE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate; write bytes per second such as 2000000, 500k, 10M or 1.5MB"
        )
    number, unit, binary = match.groups()
    value = float(number)
    if unit:
        value *= (1024.0 if binary else 1000.0) ** _RATE_SCALE[unit.lower()]
    if not value > 0:
        raise argparse.ArgumentTypeError("the rate must be more than 0 bytes per second")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero (`--ctx 4096`, `--frames 3`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def parse_streams(text: str) -> int:
    """A stream count for `--streams`: a whole number from 1 to MAX_STREAMS."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of streams") from None
    if not 1 <= value <= MAX_STREAMS:
        raise argparse.ArgumentTypeError(f"the stream count must be from 1 to {MAX_STREAMS}")
    return value


def bar(fraction: float, width: int, chars: tuple[str, str, str]) -> str:
    left, full, right = chars
    filled = math.floor(max(0.0, min(1.0, fraction)) * width)
    return left + full * filled + " " * (width - filled) + right


def bar_chars(stream: IO[str]) -> tuple[str, str, str]:
    # Ollama's block characters, unless the terminal's encoding cannot show them.
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "▕█▏".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "[", "#", "]"
    return "▕", "█", "▏"


def is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def one_line(text: str) -> str:
    """Whitespace collapsed and control characters dropped: text a registry chose (an error
    code, a media type) must not move the cursor or recolour the terminal."""
    return " ".join("".join(c for c in part if c.isprintable()) for part in text.split())


# -- argument parsing ------------------------------------------------------------------------
