"""Text for the terminal: progress bars, tty checks, one-line sanitising, rate parsing."""

from __future__ import annotations

import argparse
import math
import re
from typing import IO

from ecs_models.transfer.streamcount import MAX_STREAMS

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
