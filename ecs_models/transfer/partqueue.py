"""Which range of a blob each download stream reads next, and how a free stream helps the others.

A stream that needs work gets, in this order:
1. An unclaimed part. The first stream takes them from the front and reads on into each next one
   on the same HTTP response (`run_end`): a request per part costs a round trip, a drained
   pipeline and the registry's per-request work. Streams added later take the far end, so they
   rarely cut the first stream's run short.
2. A steal (dynamic segmentation). When no part is unclaimed, the in-flight range that will
   finish last (remaining bytes over its stream's measured rate) is split: its owner's end moves
   in and the free stream takes the tail, cut so both should finish together. The split is a
   new `-partial-N` part (partial.split_part), so the state on disk stays Ollama's. Ranges too
   short to be worth a request are not split.
3. A race. In the last stretch, when nothing can be split, a range whose owner would finish far
   later than a fresh stream could is also read by that stream; whichever writes a byte first
   counts it, and the other stops when the part is complete.

Every part's `completed` counts the bytes on disk from its offset, whichever stream wrote them,
so a raced or stolen byte is counted once and resuming (ours or Ollama's) starts after them.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecs_models.transfer.partial import Part, save_part, split_part
from ecs_models.transfer.streamrate import StreamMeter

# A new request costs at least a round trip, so a split or a race must save more than this.
MIN_WORTH_S = 0.5
SAVE_EVERY_S = 0.5  # a part's `-partial-N` file trails its written bytes by at most this
RACE_IF_SLOWER = 2.0  # race a range whose owner needs this many times a fresh stream's time


@dataclass(eq=False, slots=True)
class Claim:
    """One stream's hold on one part: where it reads next and how far its bytes are on disk."""

    part: Part
    meter: StreamMeter
    position: int  # the next blob offset this stream receives
    reserved: int  # the end of the chunk it is filling: a split never cuts below it
    written_to: int  # this stream's bytes are on disk up to here (contiguous with the part's)
    racing: bool = False
    active: bool = True  # False once the stream let go of it

    @property
    def over(self) -> bool:
        """Nothing left for this stream to do here: the part is complete or the claim ended."""
        return not self.active or self.part.completed >= self.part.size


@dataclass(frozen=True, slots=True)
class LinkEstimate:
    """What the pull has measured of the link, for deciding whether a split or race pays."""

    stream_rate: float  # bytes/s a stream (typically) gets; 0 when not measured yet
    latency: float  # seconds from a request to its first byte
    min_split_bytes: int


class PartQueue:
    """The parts of one blob and the streams' claims on them; shared by the stream threads.

    All bookkeeping, and every `-partial-N` write, happens under one lock, so a split can never
    interleave with a progress save of the part it cuts. Without a `partial` path (a fetch into
    memory) nothing is written. With `in_order`, every stream takes the first unclaimed part
    (a relay that hands bytes on in order).
    """

    def __init__(
        self,
        parts: list[Part],
        partial: Path | None,
        advance: Callable[[int], None],
        *,
        align: int = 4096,
        in_order: bool = False,
    ) -> None:
        self._parts = parts  # every part, numbered 0..n-1 in this order
        self._by_offset = sorted(parts, key=lambda p: p.offset)
        self._partial = partial
        self._advance = advance
        self._align = align
        self._in_order = in_order
        self._lock = threading.Lock()
        self._unclaimed: list[Part] = [p for p in self._by_offset if not p.done]
        self._owners: dict[int, Claim] = {}  # part number -> claim of the stream reading it
        self._racers: dict[int, Claim] = {}
        self._saved_at: dict[int, float] = {}  # part number -> when its file was last written
        self._complete_prefix = 0  # this many parts from the front are complete

    # -- state ----------------------------------------------------------------------------------
    def __bool__(self) -> bool:
        """True while some part is not complete."""
        with self._lock:
            return any(not p.done for p in self._by_offset)

    @property
    def part_count(self) -> int:
        return len(self._parts)

    def frontier(self) -> int:
        """Where the bytes stored contiguously from the first part's offset end: how far the
        hasher may read back, or a relay hand on."""
        with self._lock:
            parts = self._by_offset
            # Parts never become incomplete again, and splits only cut incomplete ones.
            while self._complete_prefix < len(parts) and parts[self._complete_prefix].done:
                self._complete_prefix += 1
            if self._complete_prefix < len(parts):
                return parts[self._complete_prefix].next_offset
            return parts[-1].end if parts else 0

    # -- claiming work --------------------------------------------------------------------------
    def take(self, meter: StreamMeter, *, prefer: int | None, from_end: bool) -> Claim | None:
        """Claim an unclaimed part: the one starting at `prefer` (where the stream's open
        response continues), else the first, or the last for a stream added later."""
        with self._lock:
            if not self._unclaimed:
                return None
            index = -1 if from_end and not self._in_order else 0
            if prefer is not None:
                at = bisect.bisect_right(self._unclaimed, prefer, key=lambda p: p.offset) - 1
                if at >= 0 and self._unclaimed[at].next_offset == prefer:
                    index = at
            part = self._unclaimed.pop(index)
            return self._own(part, meter)

    def steal(self, meter: StreamMeter, link: LinkEstimate) -> Claim | None:
        """Split the in-flight range that will finish last and claim its tail, if worth it."""
        with self._lock:
            thief_rate = meter.rate or link.stream_rate
            ranked = sorted(
                (c for n, c in self._owners.items() if n not in self._racers and not c.over),
                key=lambda c: self._finish_s(c, link.stream_rate),
                reverse=True,
            )
            for victim in ranked:
                at = self._split_point(victim, thief_rate, link)
                if at is None:
                    continue
                tail = split_part(self._partial, self._parts, victim.part, at)
                bisect.insort(self._by_offset, tail, key=lambda p: p.offset)
                return self._own(tail, meter)
            return None

    def race(self, meter: StreamMeter, link: LinkEstimate) -> Claim | None:
        """Read a second copy of the range whose owner lags most, when that pays."""
        with self._lock:
            racer_rate = meter.rate or link.stream_rate
            if racer_rate <= 0:
                return None
            best: Claim | None = None
            best_gain = 0.0
            for n, claim in self._owners.items():
                if n in self._racers or claim.over:
                    continue
                gain = self._race_gain(claim, racer_rate, link)
                if gain > best_gain:
                    best, best_gain = claim, gain
            if best is None:
                return None
            part = best.part
            start = part.next_offset
            racer = Claim(part, meter, start, start, start, racing=True)
            self._racers[part.n] = racer
            return racer

    def worth_another_stream(self, link: LinkEstimate) -> bool:
        """Would a new stream find something to do (a part, a split or a race)?"""
        with self._lock:
            if self._unclaimed:
                return True
            rate = link.stream_rate
            for n, claim in self._owners.items():
                if n in self._racers or claim.over:
                    continue
                if self._split_point(claim, rate, link) is not None:
                    return True
                if rate > 0 and self._race_gain(claim, rate, link) > 0:
                    return True
            return False

    # -- reading a claim ------------------------------------------------------------------------
    def run_end(self, claim: Claim, *, alone: bool) -> int:
        """Where one request for `claim` should end: through the unclaimed, untouched parts that
        continue it, which this stream will take next (`take(prefer=...)`). In order, streams
        that are not `alone` take turns at the next part: a request then covers one part and
        its connection can be reused."""
        with self._lock:
            end = claim.part.end
            if claim.racing or (self._in_order and not alone):
                return end
            for part in self._unclaimed:
                if part.offset == end and part.completed == 0:
                    end = part.end
                elif part.offset > end:
                    break
            return end

    def restart(self, claim: Claim) -> int:
        """Where the stream's next request for `claim` starts: after every byte on disk."""
        with self._lock:
            start = max(claim.written_to, claim.part.next_offset)
            claim.position = claim.reserved = claim.written_to = start
            return start

    def reserve(self, claim: Claim, offset: int, chunk_end: Callable[[int, int], int]) -> int:
        """The end of the next chunk the stream may receive at `offset` (its part's end may have
        moved in since the last one), or `offset` when there is nothing more to receive."""
        with self._lock:
            part = claim.part
            if claim.over or offset >= part.end:
                return offset
            end = chunk_end(offset, part.end)
            claim.position = offset
            claim.reserved = end
            return end

    def written(self, claim: Claim, length: int) -> None:
        """`length` more bytes of `claim` are on disk (in order, from a pipeline thread).

        The part's file follows within SAVE_EVERY_S; an error writing it is left to the next
        save (a stale record only means fetching some bytes again on resume).
        """
        with self._lock:
            claim.written_to += length
            claim.position = max(claim.position, claim.written_to)
            part = claim.part
            completed = min(part.size, max(part.completed, claim.written_to - part.offset))
            delta = completed - part.completed
            part.completed = completed
            now = time.monotonic()
            if now - self._saved_at.get(part.n, 0.0) >= SAVE_EVERY_S:
                with contextlib.suppress(OSError):
                    self._save_locked(part, now)
        if delta:
            self._advance(delta)

    def release(self, claim: Claim) -> None:
        """The stream is done with `claim`; an unfinished part goes to its racer or back to the
        unclaimed ones."""
        with self._lock:
            if not claim.active:
                return
            claim.active = False
            part = claim.part
            if claim.racing:
                self._racers.pop(part.n, None)
                return
            self._owners.pop(part.n, None)
            racer = self._racers.pop(part.n, None)
            if part.done:
                if racer is not None:
                    racer.active = False
                return
            if racer is not None:
                racer.racing = False  # the racer carries on as the owner
                self._owners[part.n] = racer
                return
            bisect.insort(self._unclaimed, part, key=lambda p: p.offset)

    def save(self, part: Part) -> None:
        """Record a part's progress in its `-partial-N` file."""
        with self._lock:
            self._save_locked(part, time.monotonic())

    # -- internals (lock held) ------------------------------------------------------------------
    def _save_locked(self, part: Part, now: float) -> None:
        self._saved_at[part.n] = now
        if self._partial is not None:
            save_part(self._partial, part)

    def _own(self, part: Part, meter: StreamMeter) -> Claim:
        start = part.next_offset
        claim = Claim(part, meter, start, start, start)
        self._owners[part.n] = claim
        return claim

    @staticmethod
    def _finish_s(claim: Claim, typical_rate: float) -> float:
        rate = claim.meter.rate or typical_rate
        left = claim.part.end - claim.position
        return left / rate if rate > 0 else float("inf")

    def _race_gain(self, claim: Claim, racer_rate: float, link: LinkEstimate) -> float:
        """Seconds a racer at `racer_rate` would save on `claim`'s range; 0 when a race does not
        pay (the owner is not far enough behind, or the saving is less than a request)."""
        part = claim.part
        owner_s = self._finish_s(claim, link.stream_rate)
        racer_s = link.latency + (part.end - part.next_offset) / racer_rate
        if owner_s > RACE_IF_SLOWER * racer_s and owner_s - racer_s > MIN_WORTH_S:
            return owner_s - racer_s
        return 0.0

    def _split_point(self, victim: Claim, thief_rate: float, link: LinkEstimate) -> int | None:
        """Where to cut `victim` so that its owner and a new stream finish together, or None
        when the pieces would be too small to pay for a request."""
        part = victim.part
        cut_from = max(victim.reserved, part.next_offset)
        end = part.end
        owner_rate = victim.meter.rate or link.stream_rate
        min_bytes = link.min_split_bytes
        if end - cut_from < 2 * min_bytes:
            return None
        if owner_rate > 0 and thief_rate > 0:
            # Owner from its position and thief after one request's latency end together:
            # (at - position) / owner = latency + (end - at) / thief.
            at = (victim.position / owner_rate + link.latency + end / thief_rate) / (
                1 / owner_rate + 1 / thief_rate
            )
            if (end - at) / thief_rate < MIN_WORTH_S:
                return None
        else:
            at = (cut_from + end) / 2
        at = min(max(int(at), cut_from + min_bytes), end - min_bytes)
        at -= at % self._align
        if at <= cut_from or end - at < min_bytes:
            return None
        return at
