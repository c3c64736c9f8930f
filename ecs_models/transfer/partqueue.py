"""Which part of a blob each download stream takes next.

The first stream asks for all unclaimed parts from its part on (`run_end`) and, taking parts
left to right, reads each next one from the same HTTP response (transfer._Stream.body_at): a
new ranged request per part costs a round trip, a drained pipeline and the registry's
per-request work (about 25 ms each on loopback, a quarter of a second per GiB). Streams added
later take parts from the far end, so they rarely cut the first stream's run short.
"""

from __future__ import annotations

import threading
from collections import deque

from ecs_models.transfer.partial import Part


class PartQueue:
    """Unclaimed parts in offset order; safe to share between a blob's stream threads."""

    def __init__(self, parts: list[Part]) -> None:
        self._parts = deque(sorted((p for p in parts if not p.done), key=lambda p: p.offset))
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._parts)

    def take(self, *, from_end: bool) -> Part | None:
        """Claim the first unclaimed part, or the last one for a stream added later."""
        with self._lock:
            if not self._parts:
                return None
            return self._parts.pop() if from_end else self._parts.popleft()

    def run_end(self, part: Part) -> int:
        """Where the unclaimed, untouched parts continuing `part` end: one request's reach."""
        end = part.end
        with self._lock:
            for following in self._parts:
                if not self._starts_at(following, end):
                    break
                end = following.end
        return end

    @staticmethod
    def _starts_at(part: Part, offset: int) -> bool:
        return part.offset == offset and part.completed == 0
