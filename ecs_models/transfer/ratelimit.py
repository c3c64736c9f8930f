"""A token bucket shared by every stream of a pull (or of all pulls) to cap bandwidth."""

from __future__ import annotations

import threading
import time

from ecs_models.errors import PullCancelledError


class RateLimiter:
    """Grants byte budgets at `bytes_per_second`; bursts are limited to a tenth of a second.

    With a `parent` (the cap shared by all pulls) a budget must come from both, so a pull with
    a cap of its own still counts against the shared one.
    """

    def __init__(self, bytes_per_second: float, *, parent: RateLimiter | None = None) -> None:
        if bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be positive")
        self.parent = parent
        self.rate = float(bytes_per_second)
        self.burst = max(16 * 1024, self.rate / 10)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, wanted: int, cancel: threading.Event | None = None) -> int:
        """Wait until some budget is available and return how many bytes (1..wanted) to read."""
        granted = self._take_own(wanted, cancel)
        if self.parent is not None:
            allowed = self.parent.take(granted, cancel)
            self._refund_own(granted - allowed)
            granted = allowed
        return granted

    def refund(self, unused: int) -> None:
        """Give back budget a read did not use (the socket returned fewer bytes)."""
        self._refund_own(unused)
        if self.parent is not None:
            self.parent.refund(unused)

    def _take_own(self, wanted: int, cancel: threading.Event | None) -> int:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    granted = int(min(wanted, self._tokens))
                    self._tokens -= granted
                    return granted
                wait = (min(wanted, self.burst) - self._tokens) / self.rate
            if cancel is not None:
                if cancel.wait(min(wait, 0.25)):
                    raise PullCancelledError("The pull was cancelled.")
            else:
                time.sleep(min(wait, 0.25))

    def _refund_own(self, unused: int) -> None:
        if unused > 0:
            with self._lock:
                self._tokens = min(self.burst, self._tokens + unused)
