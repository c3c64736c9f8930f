"""A progress row's caption and bar from one reading: the text never says 0 % under a full bar.

Speed and ETA change every frame and a person reads them a few times a second, so a row's
caption is made again only when its state changes, its whole percent changes, or
CAPTION_INTERVAL_S has passed. The bar is drawn from the fraction that caption was made from,
read in the same frame, so the number on the bar and its fill always agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

# Speed and ETA captions are re-read at most this often: a person reads a few a second.
CAPTION_INTERVAL_S = 0.25


def whole_percent(fraction: float) -> int:
    """The percent a caption prints for `fraction` (floored: 100 % only when complete)."""
    return math.floor(max(0.0, min(1.0, fraction)) * 100)


class RowCaptions:
    """Per-row (caption, fraction) pairs, each made from one reading of the row's progress."""

    def __init__(self, interval_s: float = CAPTION_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._rows: dict[int, tuple[object, str, float, float]] = {}

    def read(
        self, row: int, state: object, fraction: float, make: Callable[[], str], now: float
    ) -> tuple[str, float, bool]:
        """(caption, fraction for the bar, whether the state changed since the last reading).

        `make` builds the caption from the same progress `fraction` was read from.
        """
        shown_state, caption, shown_fraction, at = self._rows.get(row, (None, "", 0.0, 0.0))
        changed = shown_state is not state
        if (
            changed
            or now - at >= self.interval_s
            or whole_percent(fraction) != whole_percent(shown_fraction)
        ):
            caption, shown_fraction = make(), fraction
            self._rows[row] = (state, caption, shown_fraction, now)
        return caption, shown_fraction, changed

    def keep(self, rows: Collection[int]) -> None:
        """Forget rows that are gone (their entity ids may be reused)."""
        if len(self._rows) > len(rows):
            alive = set(rows)
            self._rows = {k: v for k, v in self._rows.items() if k in alive}
