"""The app's own frame times, recorded by the Performance set, so the monitor can show its FPS."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW = 120  # about two seconds at 60 FPS: steady enough to read, quick to follow a stall


@dataclass(slots=True)
class FrameClock:
    """Wall time between consecutive frames (what the person sees), newest last."""

    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    last_frame_at: float | None = None
    frames: int = 0

    def tick(self, now: float) -> None:
        if self.last_frame_at is not None and now > self.last_frame_at:
            self.intervals.append(now - self.last_frame_at)
        self.last_frame_at = now
        self.frames += 1

    @property
    def fps(self) -> float | None:
        """Frames per second over the window; None until two frames were seen."""
        total = sum(self.intervals)
        return len(self.intervals) / total if total > 0 else None

    @property
    def frame_ms(self) -> float | None:
        """The mean frame interval in milliseconds."""
        fps = self.fps
        return 1000.0 / fps if fps else None
