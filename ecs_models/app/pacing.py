"""How often the standalone window runs and paints: fully while a person uses it, less when not.

Every frame runs the ECS schedule and pygame_gui's update (timers, hover state), but painting
200 rows of widgets costs more than both together, and on two cores a pull competes with the
window for CPU (and for the GIL, between its chunks). So the window behaves like a reactive UI
toolkit: it paints in the frame after any input and at full rate for a moment after it, so
typing, scrolling and hover feedback stay smooth; otherwise it paints at IDLE_PAINT_HZ, which
shows progress bars, speed captions and the text cursor's blink within a tenth of a second. With
no input for IDLE_AFTER_S, frames run at IDLE_FPS: the first event then waits at most 33 ms.
"""

from __future__ import annotations

ACTIVE_FPS = 60
IDLE_FPS = 30
IDLE_AFTER_S = 1.0
IDLE_PAINT_HZ = 10.0
PAINT_ALL_AFTER_INPUT_S = 0.3


class FramePacing:
    def __init__(
        self,
        *,
        idle_paint_hz: float = IDLE_PAINT_HZ,
        paint_all_s: float = PAINT_ALL_AFTER_INPUT_S,
        idle_after_s: float = IDLE_AFTER_S,
    ) -> None:
        self._paint_interval = 1.0 / idle_paint_hz
        self._paint_all_s = paint_all_s
        self._idle_after_s = idle_after_s
        self._last_paint = float("-inf")
        self._last_input = float("-inf")

    def note_input(self, now: float) -> None:
        """An event arrived (mouse, key, window exposed or resized...)."""
        self._last_input = now

    def should_paint(self, now: float) -> bool:
        """Whether this frame paints; if so, it counts as painted."""
        recent_input = now - self._last_input <= self._paint_all_s
        if recent_input or now - self._last_paint >= self._paint_interval:
            self._last_paint = now
            return True
        return False

    def frame_rate(self, now: float) -> int:
        """Frames per second to run at from now: full rate only while input is recent."""
        return ACTIVE_FPS if now - self._last_input <= self._idle_after_s else IDLE_FPS
