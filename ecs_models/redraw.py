"""When the standalone window repaints: in the frame after any input, else a few times a second.

Every frame still runs the ECS schedule and pygame_gui's update (timers, hover state), but
painting 200 rows of widgets costs more than both together, and on two cores a pull competes
with it for CPU. So the window paints like a reactive UI toolkit does: at once after input
(and at full rate for a moment after it, so typing, scrolling and hover feedback stay smooth),
otherwise at IDLE_HZ, which shows progress bars, speed captions and the text cursor's blink
with at most a tenth of a second's delay.
"""

from __future__ import annotations

IDLE_HZ = 10.0
ACTIVE_S = 0.3  # after input, paint every frame for this long


class RedrawPolicy:
    def __init__(self, *, idle_hz: float = IDLE_HZ, active_s: float = ACTIVE_S) -> None:
        self._idle_interval = 1.0 / idle_hz
        self._active_s = active_s
        self._last_paint = float("-inf")
        self._last_input = float("-inf")

    def note_input(self, now: float) -> None:
        """An event arrived (mouse, key, window exposed or resized...)."""
        self._last_input = now

    def should_paint(self, now: float) -> bool:
        """Whether this frame paints; if so, it counts as painted."""
        if (
            now - self._last_input <= self._active_s
            or now - self._last_paint >= self._idle_interval
        ):
            self._last_paint = now
            return True
        return False
