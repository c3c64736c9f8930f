"""How many streams a blob download runs: more while more raise the aggregate rate.

Whatever the absolute rate, a link that caps each connection (a CDN edge) gets faster with every
stream, and a link that is simply full does not. So the count starts at one and the first step
goes as far as the hasher leaves room for (to the maximum when it is idle: a capped link then
runs at full speed within half a second, and on a full link the extra streams are dropped after
one measurement); later steps multiply by four while the last paid off nearly in proportion and
by two when it paid off a little, and a step that did not pay is undone and waits before trying
again, longer each time. The sha256 hasher bounds what any step can gain (a pull cannot outrun
its hash): a pull whose hasher is busy half the time never grows, since streams would only
compete for the same cores and scatter the bytes the hasher wants in order, and one whose
hasher is a third busy grows by two.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_STREAMS = 16  # Ollama's number of parts in flight
MAX_STREAMS = 64  # the most `--streams` accepts
MEASURE_S = 0.2  # a rate is compared over this long once every stream of a step has its bytes
SETTLE_TIMEOUT_S = 2.0  # judge a step anyway if its new streams have not all started by then
CPU_BOUND_BUSY = 0.5  # the hasher busy this share of the time: the pull is CPU-bound
PROPORTIONAL = 0.6  # a step that delivered this share of its ideal gain grows fast again
WORTHWHILE_GAIN = 1.1  # less than this more bytes per second and the step is undone
FIRST_HOLD_S = 2.0
MAX_HOLD_S = 30.0


@dataclass(slots=True)
class _Step:
    previous: int
    baseline: float  # aggregate bytes/s before the step
    started: float
    settled_at: float | None = None


class StreamCount:
    """The target stream count of one blob download; `update` is called a few times a second."""

    def __init__(self, maximum: int, now: float) -> None:
        self.maximum = max(1, maximum)
        self.target = 1
        self._factor = self.maximum
        self._step: _Step | None = None
        self._measured_since: float | None = None  # the count has received bytes since then
        self._hold_until = now
        self._hold = FIRST_HOLD_S

    def update(self, now: float, rate: float, *, busy: float, settled: bool) -> int:
        """The new target, given the aggregate `rate` over the last MEASURE_S, the share of
        that time the hasher was busy, and whether every stream of the count has bytes."""
        if self._measured_since is None:
            if rate <= 0:
                return self.target
            self._measured_since = now  # a rate is judged on a window of received bytes
        step = self._step
        if step is not None:
            if step.settled_at is None:
                if not settled and now - step.started < SETTLE_TIMEOUT_S:
                    return self.target
                step.settled_at = now
            if now - step.settled_at < MEASURE_S:
                return self.target
            self._judge(step, rate, now)
            return self.target
        # What more streams could gain at most, with the hasher as it is.
        factor = min(self._factor, int(1 / max(busy, 1 / self._factor)))
        if (
            busy < CPU_BOUND_BUSY
            and factor >= 2
            and self.target < self.maximum
            and now >= self._hold_until
            and now - self._measured_since >= MEASURE_S
        ):
            self._step = _Step(self.target, rate, now)
            self.target = min(self.maximum, self.target * factor)
        return self.target

    def _judge(self, step: _Step, rate: float, now: float) -> None:
        self._step = None
        self._measured_since = now
        gain = rate / step.baseline if step.baseline > 0 else 1.0
        ideal = self.target / step.previous
        if gain >= 1 + PROPORTIONAL * (ideal - 1):
            self._factor = 4
            self._hold = FIRST_HOLD_S
            self._measured_since = now - MEASURE_S  # this very measurement is the next baseline
        elif gain >= WORTHWHILE_GAIN:
            self._factor = 2
            self._hold_until = now + FIRST_HOLD_S / 2
        else:
            self.target = step.previous
            self._factor = 2
            self._hold_until = now + self._hold
            self._hold = min(MAX_HOLD_S, self._hold * 2)
