"""Fit a line of text into a width: cut it with "…" (at the end, in the middle, or inside a row's
first column), so labels and list rows never spill over their neighbours.

Measuring is a font call per try (about 20 us); a binary search keeps it to a dozen tries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

ELLIPSIS = "…"
# The list rows' columns: "name   size   frees ..." (the views join their cells with it).
COLUMN_GAP = "   "


class MeasuringFont(Protocol):
    def size(self, text: str, /) -> tuple[int, int]: ...


def text_width(font: MeasuringFont | None, text: str) -> int:
    if font is None:
        # No font yet (an element not themed): assume a wide glyph so nothing is drawn too long.
        return 8 * len(text)
    # pygame_gui's font wrapper measures by rendering (about 50 us); the pygame font inside it
    # answers the same question from its glyph metrics, ten times faster.
    inner = getattr(font, "_GUIFontPygame__internal_font", None)
    return int((inner if inner is not None else font).size(text)[0])


def _longest(fits: Callable[[int], bool], high: int) -> int:
    """The largest n in [0, high] with fits(n), given fits is monotone and fits(0)."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def elide_end(font: MeasuringFont | None, text: str, width: int) -> str:
    """`text` itself when it fits in `width` pixels, else its longest start followed by "…"."""
    if text_width(font, text) <= width:
        return text
    keep = _longest(lambda n: text_width(font, text[:n].rstrip() + ELLIPSIS) <= width, len(text))
    return text[:keep].rstrip() + ELLIPSIS


def elide_middle(font: MeasuringFont | None, text: str, width: int) -> str:
    """Keep both ends, the end longer ("regis…/library/model-0042:tag"): what tells a model
    from its neighbours (number, size, tag) is at its end."""
    if text_width(font, text) <= width:
        return text

    def cut(n: int) -> str:
        tail = (2 * n + 2) // 3
        return text[: n - tail] + ELLIPSIS + (text[len(text) - tail :] if tail else "")

    keep = _longest(lambda n: text_width(font, cut(n)) <= width, len(text) - 1)
    return cut(keep)


def fit_row(font: MeasuringFont | None, text: str, width: int) -> str:
    """A list row cut to `width`, its name (first column) readable and the columns that say
    most kept: the two after the name (size, then a health badge or the size class) and the
    last. The name keeps its whole width up to half the row while the columns between those
    are dropped from the right; then the name loses its middle; if even its first letters and
    the columns left do not fit, the end is cut."""
    if text_width(font, text) <= width:
        return text
    name, *rest = text.split(COLUMN_GAP)
    if not rest:
        return elide_end(font, text, width)
    name_room = min(text_width(font, name), width // 2)
    while len(rest) > 3 and text_width(font, COLUMN_GAP + COLUMN_GAP.join(rest)) > (
        width - name_room
    ):
        del rest[-2]  # a column between the kept ones goes first, the right-most of them
    tail = COLUMN_GAP + COLUMN_GAP.join(rest)
    room = width - text_width(font, tail)
    if room >= text_width(font, name[:4] + ELLIPSIS):
        return elide_middle(font, name, room) + tail
    return elide_end(font, name + tail, width)


def set_fitted_text(element: Any, text: str, *, middle: bool = False, padding: int = 6) -> str:
    """Show `text` on a label or button, cut to its width; the whole text becomes its tooltip
    when cut (and the tooltip goes when it fits again). Returns what is shown.

    Cutting also keeps pygame_gui from warning "Label Rect is too small for text".
    """
    width = int(element.relative_rect.width) - 2 * padding
    font = getattr(element, "font", None)
    shown = (elide_middle if middle else elide_end)(font, text, max(8, width))
    if shown != getattr(element, "text", None):
        element.set_text(shown)
    tooltip = text if shown != text else None
    if getattr(element, "tool_tip_text", None) != tooltip:
        element.set_tooltip(tooltip)
    return shown
