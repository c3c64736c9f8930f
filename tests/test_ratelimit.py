"""The bandwidth cap: a pull's own cap never lets it past the one shared by all pulls."""

from __future__ import annotations

import threading
import time

from ecs_models.transfer.ratelimit import RateLimiter

MB = 1_000_000


def drain(limiter: RateLimiter, total: int) -> None:
    taken = 0
    while taken < total:
        taken += limiter.take(total - taken)


def test_a_pulls_own_cap_counts_against_the_shared_one() -> None:
    shared = RateLimiter(4 * MB)
    own = RateLimiter(100 * MB, parent=shared)  # generous on its own, but inside the shared cap
    other = RateLimiter(100 * MB, parent=shared)
    started = time.monotonic()
    threads = [threading.Thread(target=drain, args=(lim, MB)) for lim in (own, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # 2 MB together at 4 MB/s, less the shared cap's first burst (a tenth of a second).
    assert elapsed >= (2 * MB - shared.burst) / shared.rate
