"""Retries people can see, and how many a failed connection deserves.

A refused connection means nothing listens at that address: waiting 15 s of back-off only
delays the answer ("is the registry running?"), so it gets one quick retry (a server that is
restarting) and then fails. A host name DNS does not know will not appear in a few seconds
either: no retry at all. Everything else (timeouts, cut connections, HTTP 5xx) keeps the
caller's full back-off schedule, and every retry is announced as a RetryNotice so the window
and the command line can say "retrying 2/6 in 4 s".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ecs_models.explain import ConnectionProblem

REFUSED_RETRY_DELAY_S = 0.5


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """One retry about to happen: the `attempt`-th of at most `attempts`, after `delay_s`."""

    attempt: int
    attempts: int
    delay_s: float
    reason: str  # plain words: "the connection was cut", "HTTP 503"
    at: float = field(default_factory=time.monotonic)  # when it was announced

    def remaining_s(self, now: float | None = None) -> float:
        moment = time.monotonic() if now is None else now
        return max(0.0, self.at + self.delay_s - moment)

    def text(self, now: float | None = None) -> str:
        """'retrying 2/6 in 4 s', counting down; 'retrying 2/6 now' once the wait is over."""
        left = self.remaining_s(now)
        when = f"in {math.ceil(left)} s" if left > 0.05 else "now"
        return f"retrying {self.attempt}/{self.attempts} {when}"


RetryListener = Callable[[RetryNotice], None]


def retry_budget(problem: ConnectionProblem | None, retries: int) -> int:
    """How many of `retries` a failure of this kind gets (see the module's docstring)."""
    if problem is ConnectionProblem.NAME_UNKNOWN:
        return 0
    if problem is ConnectionProblem.REFUSED:
        return min(1, retries)
    return retries
