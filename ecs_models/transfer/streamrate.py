"""How fast each download stream goes, what a fresh connection can expect, and whom to replace.

Real links are uneven: a CDN edge may serve one connection at a crawl while its neighbours run
at full speed, or throttle a connection after its first megabytes. A stream only counts its own
bytes; the pull's supervisor samples every stream's count a few times a second into a rate per
request, and compares each with what requests typically get and with its own best.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable, Sequence

RATE_WINDOW_S = 0.5  # a stream's rate is measured over this much of its recent past
# A request is judged once it has run for this many request latencies (TCP's slow start must
# not look like a straggler), within these bounds, and twice as long after each replacement
# that did not help.
JUDGE_AFTER_LATENCIES = 8.0
MIN_JUDGE_AFTER_S = 0.6
MAX_JUDGE_AFTER_S = 16.0
SLOWER_THAN_TYPICAL = 4.0  # a straggler: this many times slower than requests typically are
COLLAPSED_FROM_PEAK = 4.0  # a collapse: this many times slower than the request once was
MIN_TYPICAL_RATE = 256 * 1024  # slower than this, "typical" says nothing about the link
_KEEP_S = 2.0
_MIN_REQUEST_S = 0.2  # shorter requests say little about their connection's speed


class StreamMeter:
    """One stream's received bytes and, sampled from them, the rate of its current request.

    `received` is written only by the stream's own thread (an int add per socket read), which
    also calls `new_request` and `finish`; the rest belongs to the supervisor's `sample`.
    """

    def __init__(self, now: float) -> None:
        self.received = 0
        self.rate = 0.0
        self.peak = 0.0  # the best RATE_WINDOW_S rate of the current request
        self.connected_at = now
        self.replacements = 0  # replaced in a row without the new connection proving better
        self.sink_waited_at = float("-inf")  # when the stream last waited for its sink to free up
        self._replaced_rate = 0.0  # the rate that got the last connection replaced
        self._request_start = (now, 0)
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])
        self._reset_pending = False
        self._finished: list[float] = []  # average rates of ended requests, for `typical`

    def new_request(self, now: float) -> None:
        """The stream sent a new request: judge it on its own."""
        self._record_request(now)
        self._request_start = (now, self.received)
        self._reset_pending = True

    def finish(self, now: float) -> None:
        """The stream ended: its last request counts toward `typical` too."""
        self._record_request(now)

    def sample(self, now: float) -> None:
        received = self.received
        if self._reset_pending:
            self._reset_pending = False
            self.connected_at = self._request_start[0]
            self.peak = 0.0
            self._samples.clear()
            self._samples.append(self._request_start)
        self._samples.append((now, received))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _KEEP_S:
            self._samples.popleft()
        self.rate = self.rate_over(now, RATE_WINDOW_S)
        if now - self.connected_at >= RATE_WINDOW_S / 2:
            self.peak = max(self.peak, self.rate)
        if self.replacements and self.peak > SLOWER_THAN_TYPICAL * self._replaced_rate:
            self.replacements = 0  # the fresh connection was better: replacing pays here

    def replaced(self) -> None:
        """The supervisor replaces this stream's connection (judged slow at `rate`)."""
        self.replacements += 1
        self._replaced_rate = self.rate

    def take_finished(self) -> list[float]:
        finished, self._finished = self._finished, []
        return finished

    def rate_over(self, now: float, window: float) -> float:
        """Bytes per second over about the last `window` seconds (0 before two samples)."""
        if len(self._samples) < 2:
            return 0.0
        end_t, end_b = self._samples[-1]
        start_t, start_b = self._samples[0]
        for t, b in reversed(self._samples):
            if end_t - t >= window:
                start_t, start_b = t, b
                break
        span = end_t - start_t
        return (end_b - start_b) / span if span > 0 else 0.0

    def judged(self, now: float, latency: float) -> bool:
        """Has the current request run long enough to be judged, on a link whose requests
        take `latency` seconds to answer?"""
        patience = max(MIN_JUDGE_AFTER_S, JUDGE_AFTER_LATENCIES * latency)
        patience = min(MAX_JUDGE_AFTER_S, patience * 2.0**self.replacements)
        return now - self.connected_at >= patience

    def _record_request(self, now: float) -> None:
        started, before = self._request_start
        received = self.received
        if now - started >= _MIN_REQUEST_S and received > before:
            self._finished.append((received - before) / (now - started))


class TypicalRate:
    """What a fresh request can expect: the median rate of the recent ones, ended or running.

    Ended requests count once each, so when only stragglers are left their peers' speed is
    still remembered.
    """

    def __init__(self, keep: int = 16) -> None:
        self._ended: deque[float] = deque(maxlen=keep)

    def update(self, meters: Iterable[StreamMeter], now: float, latency: float) -> float:
        running: list[float] = []
        young: list[float] = []  # requests too new to judge: a first guess, nothing better yet
        for meter in meters:
            self._ended.extend(meter.take_finished())
            if meter.judged(now, latency):
                running.append(meter.rate)
            elif meter.rate > 0:
                young.append(meter.rate)
        rates = [*self._ended, *running] or young
        return statistics.median(rates) if rates else 0.0


def to_replace(
    meters: Sequence[StreamMeter],
    now: float,
    *,
    typical: float,
    latency: float,
    cpu_bound: bool,
) -> list[int]:
    """Indexes of the streams whose connection should be replaced by a fresh one.

    A straggler is far slower than requests typically are; a collapse is a request far slower
    than it was itself, which says something about the connection only when the pull is not
    CPU-bound (then the pull's own CPU sets every stream's pace). A stream judged healthy is
    forgiven its past replacements, and so is one whose new connection proved faster.
    """
    chosen: list[int] = []
    for index, meter in enumerate(meters):
        # A stream that waited for its sink (a full relay window, a busy hasher) was slow by
        # our doing, not its connection's.
        if not meter.judged(now, latency) or now - meter.sink_waited_at < 2 * RATE_WINDOW_S:
            continue
        straggler = typical >= MIN_TYPICAL_RATE and meter.rate * SLOWER_THAN_TYPICAL < typical
        collapsed = not cpu_bound and meter.rate * COLLAPSED_FROM_PEAK < meter.peak
        if straggler or collapsed:
            chosen.append(index)
        else:
            meter.replacements = 0
    return chosen
