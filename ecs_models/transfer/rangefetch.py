"""The range engine: streams reading byte ranges of one blob, and the supervisor that steers them.

Each stream is a thread with one HTTP response at a time and its own sink (for a pull, a receive
-> hash -> write pipeline into `-partial`; for `fit`'s header reads and `mirror`'s relay, memory).
What it reads next comes from the blob's PartQueue: an unclaimed part, the tail of the range
that will finish last, or, at the very end, a race. A few times a second the supervisor (the
thread that called `run`) samples every stream's rate and
- sets how many streams run (streamcount.StreamCount): more while more raise the rate,
- replaces the connection of a straggler or of a connection whose rate collapsed
  (streamrate.to_replace) by a fresh one, which reads on from the same offset,
- calls back for progress reports.
At most `streams` connections are open at any moment: a stream closes its connection before
opening another, and a retired stream counts until its thread has ended.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import mmap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ecs_models.errors import RegistryError
from ecs_models.explain import connection_problem, connection_reason
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import RangeResponse, StallError
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import backoff_delay
from ecs_models.retry import RetryListener, RetryNotice
from ecs_models.transfer.partial import Part
from ecs_models.transfer.partqueue import Claim, LinkEstimate, PartQueue
from ecs_models.transfer.ratelimit import RateLimiter
from ecs_models.transfer.streamcount import CPU_BOUND_BUSY, MEASURE_S, StreamCount
from ecs_models.transfer.streamrate import StreamMeter, TypicalRate, to_replace

_log = logging.getLogger(__name__)
_TICK_S = 0.1
# A chunk filling slower than this is passed on as it is: on a crawling link its bytes still
# reach the sink (the disk, the hasher, the `-partial-N` state) promptly.
_CHUNK_MAX_S = 0.5
_REPORT_EVERY_S = 0.2
_SINK_WAIT_S = 0.005  # waiting longer than this for a sink buffer means the sink is behind
_LATENCY_WEIGHT = 0.3  # how much one new request's latency moves the running estimate

# A sink hands out page-aligned mmap buffers (the pull) or views of its own memory.
BufferT = TypeVar("BufferT", bound=mmap.mmap | memoryview)


class ChunkSink(Protocol[BufferT]):
    """Where one stream's received chunks go; `written(n)` reports them stored, in order."""

    @property
    def error(self) -> OSError | None: ...

    def chunk_end(self, offset: int, end: int) -> int: ...

    def take_buffer(self, offset: int, length: int) -> BufferT: ...

    def submit(
        self, buffer: BufferT, offset: int, length: int, written: Callable[[int], None]
    ) -> None: ...

    def give_back(self, buffer: BufferT) -> None: ...

    def drain(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How the engine behaves (PullOptions carries the same fields for pulls)."""

    streams: int
    min_split_bytes: int
    retries: int
    retry_base_delay: float
    retry_max_delay: float
    max_stalls: int


class SinkWriteError(Exception):
    """A sink could not store a chunk (ENOSPC, EIO...): never a network retry."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Aborted(Exception):
    """Another stream of the same fetch failed; this one stops quietly."""


class _Retired(Exception):
    """The supervisor runs fewer streams now: this one hands its range back and ends."""


class _Replaced(Exception):
    """The supervisor judged this stream's connection slow: read on over a fresh one."""


class _Stream(Generic[BufferT]):
    """One stream: its thread, the response it reads, its sink and its meter.

    The supervisor talks to it only through `retire` and `replace`, which also shut the socket
    down so that a stream blocked on a crawling or silent connection notices at once.
    """

    def __init__(
        self, meter: StreamMeter, *, from_end: bool, make_sink: Callable[[], ChunkSink[BufferT]]
    ):
        self.meter = meter
        self.from_end = from_end
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.fresh = False  # the next request goes out on a new connection
        self._make_sink = make_sink
        self._sink: ChunkSink[BufferT] | None = None
        self._body: RangeResponse | None = None
        self._lock = threading.Lock()
        self._request = 0  # counts requests: a judgement is about one of them
        self._replacing: int | None = None
        self.retiring = False

    @property
    def sink(self) -> ChunkSink[BufferT]:
        if self._sink is None:
            self._sink = self._make_sink()
        return self._sink

    @property
    def request(self) -> int:
        return self._request

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # -- the response ---------------------------------------------------------------------------
    def body_position(self) -> int | None:
        """Where the open response continues, if one is open with bytes left."""
        body = self._body
        return body.position if body is not None and body.remaining else None

    def body_at(self, offset: int) -> RangeResponse | None:
        """The open response if its next byte is `offset`, else None (closing a stale one)."""
        with self._lock:
            body = self._body
            if body is not None and (body.position != offset or not body.remaining):
                self._close_body()
            return self._body

    def attach(self, body: RangeResponse) -> RangeResponse:
        with self._lock:
            self._close_body()
            self._body = body
            self._request += 1
            self.meter.new_request(time.monotonic())
        return body

    def detach(self) -> None:
        """Drop the response after an error; its connection is closed, not pooled."""
        with self._lock:
            self._close_body(after_error=True)

    def _close_body(self, *, after_error: bool = False) -> None:
        if self._body is not None:
            # Fully read responses return their connection to the pool; others are closed.
            self._body.close(reusable=not after_error and not self._body.remaining)
            self._body = None

    def close(self) -> None:
        with self._lock:
            self._close_body()
        if self._sink is not None:
            self._sink.close()

    # -- the supervisor's orders ----------------------------------------------------------------
    def retire(self) -> None:
        with self._lock:
            self.retiring = True
            self._interrupt_io()

    def replace(self, request: int) -> None:
        """Replace the connection of `request` (if the stream is still on it)."""
        with self._lock:
            if request == self._request and not self.retiring:
                self._replacing = request
                self._interrupt_io()

    def stop_io(self) -> None:
        """Wake the stream from a blocked read (the pull is cancelled or has failed)."""
        with self._lock:
            self._interrupt_io()

    def _interrupt_io(self) -> None:
        if self._body is not None:
            self._body.interrupt()

    def interrupted(self) -> bool:
        return self.retiring or self._replacing == self._request

    def raise_if_interrupted(self) -> None:
        if self.retiring:
            raise _Retired()
        if self._replacing == self._request:
            with self._lock:
                self._replacing = None
                self._close_body(after_error=True)
            self.fresh = True
            raise _Replaced()


@dataclass(slots=True)
class _Supervision:
    """What the supervisor measures between ticks."""

    started: float
    count: StreamCount
    total: StreamMeter  # every stream's bytes together
    exited_bytes: int = 0
    busy: list[tuple[float, float]] = field(default_factory=list)  # (time, sink busy s)
    typical: TypicalRate = field(default_factory=TypicalRate)
    last_report: float = 0.0


class RangeFetch(Generic[BufferT]):
    """Fetch every incomplete part of `queue` with adaptive streams; `run` blocks until done.

    `make_sink(first)` gives each stream its sink (`first`: the stream started alone, which
    reads the front in long runs); `busy()` is the seconds the sink's consumer (the hasher)
    has been busy, which says when the fetch is CPU-bound; `written()` runs after every stored
    chunk and `report()` a few times a second; `check_cancel` raises the caller's cancel error.
    """

    def __init__(
        self,
        ranges: BlobRanges,
        queue: PartQueue,
        make_sink: Callable[[bool], ChunkSink[BufferT]],
        *,
        name: ModelName,
        settings: FetchSettings,
        limiter: RateLimiter | None,
        cancel: threading.Event,
        check_cancel: Callable[[], None],
        busy: Callable[[], float] = lambda: 0.0,
        written: Callable[[], None] = lambda: None,
        report: Callable[[], None] = lambda: None,
        on_retry: RetryListener | None = None,
    ) -> None:
        self.ranges = ranges
        self.queue = queue
        self.make_sink = make_sink
        self.name = name
        self.settings = settings
        self.limiter = limiter
        self.cancel = cancel
        self.check_cancel = check_cancel
        self.busy = busy
        self.after_write = written
        self.report = report
        self.on_retry = on_retry  # hears each retry before its back-off wait
        self.abort = threading.Event()
        self.wake = threading.Event()  # a stream ended
        self.link = LinkEstimate(0.0, 0.0, settings.min_split_bytes)
        self._latency: float | None = None
        self._alone = True  # one stream runs and no more are wanted

    def run(self) -> None:
        """Fetch until every part is complete; raises the first stream's real error, the
        caller's cancel error, or SinkWriteError."""
        self._download()

    def _download(self) -> None:
        queue = self.queue
        if not queue:
            return
        now = time.monotonic()
        watch = _Supervision(now, StreamCount(self.settings.streams, now), StreamMeter(now))
        streams: list[_Stream[BufferT]] = []
        failure: BaseException | None = None
        try:
            while True:
                self.wake.clear()
                now = time.monotonic()
                for stream in [s for s in streams if not s.alive]:
                    streams.remove(stream)
                    watch.exited_bytes += stream.meter.received
                    if stream.error is not None and not isinstance(stream.error, _Aborted):
                        failure = failure or stream.error
                if failure is not None or self.cancel.is_set():
                    break
                if not queue and not streams:
                    break
                self._steer(watch, streams, now)
                if now - watch.last_report >= _REPORT_EVERY_S:
                    watch.last_report = now
                    self.report()
                self.wake.wait(_TICK_S)
        finally:
            if failure is not None or self.cancel.is_set() or streams:
                self.abort.set()
                for stream in streams:
                    stream.stop_io()
            for stream in streams:
                assert stream.thread is not None
                stream.thread.join()
                if stream.error is not None and not isinstance(stream.error, _Aborted):
                    failure = failure or stream.error
        if failure is not None:
            raise failure
        self.check_cancel()
        if queue:
            raise RegistryError("The blob download stopped unexpectedly.")

    def _steer(self, watch: _Supervision, streams: list[_Stream[BufferT]], now: float) -> None:
        working = [s for s in streams if not s.retiring]
        requests = [s.request for s in working]
        for stream in streams:
            stream.meter.sample(now)
        watch.total.received = watch.exited_bytes + sum(s.meter.received for s in streams)
        watch.total.sample(now)
        latency = self._latency or 0.0
        self.link = LinkEstimate(
            watch.typical.update((s.meter for s in streams), now, latency),
            latency,
            self.settings.min_split_bytes,
        )
        # How many streams: a step is judged once each of its streams has bytes.
        settled = all(s.meter.received > 0 for s in working) and (
            len(working) >= watch.count.target or not self.queue.worth_another_stream(self.link)
        )
        busy = self._hasher_busy(watch, now)
        cpu_bound = busy >= CPU_BOUND_BUSY
        rate = watch.total.rate_over(now, MEASURE_S)
        target = watch.count.update(now, rate, busy=busy, settled=settled)
        _log.debug(
            "%.2f s: %d streams (target %d), %.1f MB/s, hasher %.0f %% busy, typical %.1f MB/s",
            now - watch.started,
            len(streams),
            target,
            rate / 1e6,
            100 * busy,
            self.link.stream_rate / 1e6,
        )
        for stream in working[target:]:
            stream.retire()
        while len(streams) < target and (not streams or self.queue.worth_another_stream(self.link)):
            streams.append(self._start_stream(from_end=bool(streams)))
        self._alone = target == 1 and len(streams) <= 1
        # Which connections to replace. Not under a rate limit: it sets every stream's pace.
        # The request numbers were read before the rates: a stream that has just sent a new
        # request is never replaced for what its last one did.
        if self.limiter is None:
            meters = [s.meter for s in working]
            for index in to_replace(
                meters, now, typical=self.link.stream_rate, latency=latency, cpu_bound=cpu_bound
            ):
                working[index].meter.replaced()
                working[index].replace(requests[index])

    def _hasher_busy(self, watch: _Supervision, now: float) -> float:
        """The share of the last moments the sink's consumer (the hasher) was busy."""
        watch.busy.append((now, self.busy()))
        while len(watch.busy) > 2 and now - watch.busy[1][0] >= MEASURE_S:
            watch.busy.pop(0)
        (t0, b0), (t1, b1) = watch.busy[0], watch.busy[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def _start_stream(self, *, from_end: bool) -> _Stream[BufferT]:
        make = functools.partial(self.make_sink, not from_end)
        stream = _Stream(StreamMeter(time.monotonic()), from_end=from_end, make_sink=make)
        stream.thread = threading.Thread(
            target=self._stream_main, args=(stream,), name="pull-stream", daemon=True
        )
        stream.thread.start()
        return stream

    # -- a stream -------------------------------------------------------------------------------
    def _stream_main(self, stream: _Stream[BufferT]) -> None:
        queue = self.queue
        try:
            while not stream.retiring:
                self._check_stop()
                claim = self._next_claim(stream)
                if claim is None:
                    return
                try:
                    self._download_claim(claim, stream)
                finally:
                    queue.release(claim)
                    self._save_progress(claim.part)
        except _Retired:
            pass
        except BaseException as exc:  # reported by the supervisor
            stream.error = exc
        finally:
            stream.close()
            stream.meter.finish(time.monotonic())
            self.wake.set()

    def _next_claim(self, stream: _Stream[BufferT]) -> Claim | None:
        queue = self.queue
        meter = stream.meter
        return (
            queue.take(meter, prefer=stream.body_position(), from_end=stream.from_end)
            or queue.steal(meter, self.link)
            or queue.race(meter, self.link)
        )

    def _download_claim(self, claim: Claim, stream: _Stream[BufferT]) -> None:
        opts = self.settings
        tries = 0
        stalls = 0
        while not claim.over:
            self._check_stop()
            before = claim.part.completed
            try:
                self._receive_claim(claim, stream)
            except _Replaced:
                continue
            except StallError:
                stalls += 1
                if stalls > opts.max_stalls:
                    tries = self._failed_try(tries, claim.part, "it stalled repeatedly")
            except (SinkWriteError, _Aborted, _Retired):
                raise
            except (OSError, http.client.HTTPException) as exc:
                tries = self._failed_try(
                    0 if claim.part.completed > before else tries, claim.part, _describe(exc)
                )
            except RegistryError as exc:
                if not exc.retryable:
                    raise
                tries = self._failed_try(
                    0 if claim.part.completed > before else tries, claim.part, str(exc)
                )

    def _receive_claim(self, claim: Claim, stream: _Stream[BufferT]) -> None:
        """Receive the rest of `claim`, on the stream's open response if it continues there."""
        queue = self.queue
        body = stream.body_at(claim.position)
        if body is None:
            start = queue.restart(claim)
            run_end = queue.run_end(claim, alone=self._alone)
            if start >= run_end:
                return  # a racer completed the range since the caller looked
            fresh, stream.fresh = stream.fresh, False
            asked = time.monotonic()
            body = stream.attach(self.ranges.open(start, run_end - 1, fresh=fresh))
            self._measured_latency(time.monotonic() - asked)
        try:
            self._receive(claim, body, stream)
        except (OSError, http.client.HTTPException, RegistryError):
            stream.detach()  # stopped mid-body: that connection cannot be reused
            if stream.interrupted():  # the supervisor shut the socket down on purpose
                stream.raise_if_interrupted()
            raise
        except BaseException:
            stream.detach()
            raise
        stream.raise_if_interrupted()

    def _receive(self, claim: Claim, body: RangeResponse, stream: _Stream[BufferT]) -> None:
        """Fill chunks from `body` and pass them on; returns with every received byte stored."""
        sink = stream.sink
        try:
            self._receive_chunks(claim, body, stream)
        finally:
            sink.drain()  # a retry resumes after the stored bytes, so it must count them all
            if sink.error is not None:
                raise SinkWriteError(sink.error)

    def _receive_chunks(self, claim: Claim, body: RangeResponse, stream: _Stream[BufferT]) -> None:
        queue = self.queue
        sink = stream.sink
        meter = stream.meter
        limiter = self.limiter
        cancel = self.cancel
        written = functools.partial(self._written, claim)
        offset = body.position
        while sink.error is None:
            self._check_stop()
            end = queue.reserve(claim, offset, sink.chunk_end)
            if end <= offset:
                return
            asked = time.monotonic()
            buffer = sink.take_buffer(offset, end - offset)
            if time.monotonic() - asked > _SINK_WAIT_S:
                meter.sink_waited_at = time.monotonic()
            length = end - offset
            filled = 0
            due = time.monotonic() + _CHUNK_MAX_S
            try:
                with memoryview(buffer) as view:
                    while filled < length:
                        want = length - filled
                        if limiter is not None:
                            want = limiter.take(want, cancel)
                        count = body.readinto(view[filled : filled + want])
                        if limiter is not None and count < want:
                            limiter.refund(want - count)
                        filled += count
                        meter.received += count
                        if (
                            not count  # the server sent a shorter range than asked
                            or stream.interrupted()
                            or claim.over
                            or time.monotonic() > due
                        ):
                            break
            finally:
                # Bytes received before a cut, a stall or a replacement are kept like any
                # chunk; those of a range another stream has completed meanwhile are not.
                if filled and not claim.over:
                    sink.submit(buffer, offset, filled, written)
                else:
                    sink.give_back(buffer)
            offset += filled
            if stream.interrupted() or not body.remaining:
                return  # a new request (on a fresh connection, if replaced) goes on

    def _written(self, claim: Claim, length: int) -> None:
        """A chunk of `claim` is stored (called in order, from the sink's thread)."""
        self.queue.written(claim, length)
        self.after_write()

    def _measured_latency(self, seconds: float) -> None:
        previous = self._latency
        self._latency = (
            seconds if previous is None else previous + _LATENCY_WEIGHT * (seconds - previous)
        )

    def _save_progress(self, part: Part) -> None:
        # Best effort: a stale record only means re-fetching some bytes on resume, and on a
        # full disk the write that matters is the blob's, whose error is the one to report.
        with contextlib.suppress(OSError):
            self.queue.save(part)

    def _failed_try(self, tries: int, part: Part, why: str) -> int:
        tries += 1
        opts = self.settings
        if tries > opts.retries:
            raise RegistryError(
                f"Downloading {self.name.display} from {self.name.host} failed {tries} times in a "
                f"row ({why}) — try again later; the download resumes where it stopped."
            )
        self._save_progress(part)
        delay = backoff_delay(tries, base=opts.retry_base_delay, cap=opts.retry_max_delay)
        if self.on_retry is not None:
            self.on_retry(RetryNotice(tries, opts.retries, delay, why))
        if self.cancel.wait(delay):
            self.check_cancel()
        return tries

    def _check_stop(self) -> None:
        self.check_cancel()
        if self.abort.is_set():
            raise _Aborted()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed mid-transfer"
    problem = connection_problem(exc)
    if problem is not None:
        return connection_reason(problem)
    text = str(exc).strip()
    return text or exc.__class__.__name__
