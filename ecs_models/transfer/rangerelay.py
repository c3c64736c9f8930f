"""A blob relayed in order from a registry through a bounded window, fetched by the range engine.

`mirror` copies a model that is not installed from one registry to another without storing it:
the pull's streams (rangefetch) fill a ring of WINDOW bytes ahead of the upload, which takes the
bytes out in order. A stream about to run more than WINDOW ahead of the upload waits for room,
so memory stays bounded whatever the blob's size; on a source that caps each connection the
relay gets as many streams as help, and stragglers are replaced as in a pull.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ecs_models.errors import OperationCancelledError
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.transfer.partial import Part
from ecs_models.transfer.partqueue import PartQueue
from ecs_models.transfer.rangefetch import FetchSettings, RangeFetch
from ecs_models.transfer.rangeread import MemorySink

WINDOW = 64 << 20
CHUNK = 1 << 20
_CLOSED = "The relay was closed."


class RelayWindow:
    """Bytes [start, end) of a blob passing through a ring of `window` bytes.

    Streams write anywhere in [position, position + window); the reader takes the stored bytes
    at `position` in order (`read`, then `consumed`), which makes room for the writers.
    """

    def __init__(self, start: int, end: int, *, window: int = WINDOW) -> None:
        self.start = start
        self.end = end
        self.window = window
        self.ring = memoryview(bytearray(window))
        self._position = start
        self._cond = threading.Condition()
        self._stored_to: Callable[[], int] = lambda: start
        self._abandoned: Callable[[], bool] = lambda: False
        self._error: BaseException | None = None
        self._closed = False
        self.waited_seconds = 0.0  # writers' time spent waiting for the reader to make room

    @property
    def position(self) -> int:
        return self._position

    # -- the reader ---------------------------------------------------------------------------
    def read(self, limit: int) -> memoryview:
        """Up to `limit` stored bytes at `position`, waiting for the first of them. Valid until
        `consumed` is called."""
        with self._cond:
            while True:
                stored = self._stored_to()
                if stored > self._position:
                    break
                if self._error is not None:
                    raise self._error
                if self._closed:
                    raise OperationCancelledError(_CLOSED)
                self._cond.wait(0.5)
            at = (self._position - self.start) % self.window
            count = min(limit, stored - self._position, self.window - at)
            return self.ring[at : at + count]

    def consumed(self, count: int) -> None:
        with self._cond:
            self._position += count
            self._cond.notify_all()

    # -- the fetch ----------------------------------------------------------------------------
    def attach(self, stored_to: Callable[[], int], abandoned: Callable[[], bool]) -> None:
        """`stored_to`: where the bytes stored contiguously from `start` end (the fetch's
        PartQueue); `abandoned`: whether the fetch has stopped, so writers must not wait."""
        self._stored_to = stored_to
        self._abandoned = abandoned

    def stored(self) -> None:
        """A writer stored a chunk: wake the reader."""
        with self._cond:
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._cond:
            self._error = error
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def slice_for(self, offset: int, length: int) -> memoryview:
        """Room for bytes [offset, offset + length), once the reader is near enough."""
        with self._cond:
            started = time.monotonic()
            while offset + length > self._position + self.window:
                if self._closed or self._abandoned():
                    raise OperationCancelledError(_CLOSED)
                self._cond.wait(0.1)
            self.waited_seconds += time.monotonic() - started
        at = (offset - self.start) % self.window
        return self.ring[at : at + length]

    def chunk_end(self, offset: int, end: int) -> int:
        """Chunks never wrap around the ring's end."""
        at = (offset - self.start) % self.window
        return min(end, offset + CHUNK, offset + self.window - at)


class WindowSink(MemorySink):
    """One stream's chunks, received straight into the relay's ring."""

    def __init__(self, relay: RelayWindow) -> None:
        super().__init__(relay.ring, relay.start)
        self._relay = relay

    def chunk_end(self, offset: int, end: int) -> int:
        return self._relay.chunk_end(offset, end)

    def take_buffer(self, offset: int, length: int) -> memoryview:
        return self._relay.slice_for(offset, length)


class BlobRelay:
    """Bytes [start, end) of one blob, fetched on a thread of its own, read in order."""

    def __init__(self, ranges: BlobRanges, start: int, end: int, settings: FetchSettings) -> None:
        self.window = RelayWindow(start, end)
        # Parts small enough that every stream has one inside the window.
        size = max(CHUNK, self.window.window // max(1, settings.streams))
        parts = [
            Part(n, offset, min(size, end - offset))
            for n, offset in enumerate(range(start, end, size))
        ]
        self._queue = PartQueue(parts, None, lambda _n: None, in_order=True)
        self._cancel = threading.Event()
        self._fetch: RangeFetch[memoryview] = RangeFetch(
            ranges,
            self._queue,
            lambda _first: WindowSink(self.window),
            name=ranges.name,
            settings=settings,
            limiter=None,
            cancel=self._cancel,
            check_cancel=self._check_cancel,
            # Writers waiting for room: the upload is the bottleneck, more streams cannot help.
            busy=lambda: self.window.waited_seconds,
            written=self.window.stored,
        )
        fetch = self._fetch
        self.window.attach(
            self._queue.frontier, lambda: self._cancel.is_set() or fetch.abort.is_set()
        )
        self._thread = threading.Thread(target=self._run, name="relay-fetch", daemon=True)
        self._thread.start()

    @property
    def position(self) -> int:
        return self.window.position

    def read(self, limit: int) -> memoryview:
        """Up to `limit` bytes at `position`, waiting for the first; raises the fetch's error."""
        return self.window.read(limit)

    def consumed(self, count: int) -> None:
        self.window.consumed(count)

    def close(self) -> None:
        """Stop fetching (the upload is done, failed or went elsewhere) and wait for it."""
        self._cancel.set()
        self.window.close()
        self._thread.join()

    def _run(self) -> None:
        try:
            self._fetch.run()
        except BaseException as exc:  # handed to the reader
            self.window.fail(exc)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise OperationCancelledError(_CLOSED)
