"""Values printed the way Ollama prints them: Go's fmt verbs, strconv.Quote and RFC 3339 times.

Ollama decodes JSON numbers into float64 and formats them with %v, so a parameter written as
`40` prints `40`, `0.95` prints `0.95` and `1000000` prints `1e+06`; these helpers give the same
text so `show --parameters` and `show --modelfile` read as Ollama's do.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

# Go's time.RFC3339Nano lives with the other shared formats; re-exported for Ollama's shapes.
from ecs_models.formatting import rfc3339_nano

__all__ = ["float32_shortest", "go_float", "go_plain", "go_quote", "go_value", "rfc3339_nano"]

_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}
# strconv's shortest %g uses exponent form when the decimal exponent is < -4 or >= this.
_SHORTEST_EXPONENT_LIMIT = 6


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal, printable Unicode kept as is."""
    out = ['"']
    for char in text:
        escaped = _SIMPLE_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():  # Go's unicode.IsPrint: letters, marks, numbers, P, S, ' '
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def go_float(value: float) -> str:
    """%v (and %g) of a float64: the shortest digits, in exponent form outside 1e-4..1e+06."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    # repr() is Python's shortest round-tripping form, the digits Go's shortest mode picks.
    _sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = len(digit_tuple)
    point = digits + exponent  # where the decimal point falls after the first `point` digits
    if point - 1 < -4 or point - 1 >= _SHORTEST_EXPONENT_LIMIT:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{max(digits - point, 0)}f}"


def float32_shortest(value: float) -> float:
    """A float read from a GGUF float32 as Go prints float32: 1e-06, not 9.999999974752427e-07.

    Values that are not exactly a float32 are returned unchanged.
    """
    if not math.isfinite(value):
        return value
    try:
        packed = struct.pack("<f", value)
    except OverflowError:
        return value
    if struct.unpack("<f", packed)[0] != value:
        return value
    for precision in range(1, 10):
        candidate = float(f"{value:.{precision}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return value


def go_value(value: Any) -> str:
    """%#v of a value Go decoded from JSON: strings quoted, numbers as float64."""
    if isinstance(value, str):
        return go_quote(value)
    return _go_scalar(value, go_value)


def go_plain(value: Any) -> str:
    """%v of a value Go decoded from JSON: strings as they are, numbers as float64."""
    if isinstance(value, str):
        return value
    return _go_scalar(value, go_plain)


def _go_scalar(value: Any, element: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_float(float(value))
    if value is None:
        return "<nil>"
    if isinstance(value, Mapping):
        inner = " ".join(f"{element(k)}:{element(v)}" for k, v in sorted(value.items()))
        return f"map[{inner}]"
    if isinstance(value, Sequence):
        return "[" + " ".join(element(item) for item in value) + "]"
    return str(value)
