"""Byte ranges of a registry blob read into memory with the pull's range engine.

`fit` reads a GGUF header this way before a model is installed: the same streams, retries,
straggler replacement and rate limit as a pull, with each stream receiving straight into the
one result buffer (no copy, no thread besides the stream's own).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ecs_models.errors import OperationCancelledError
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.transfer.partial import Part
from ecs_models.transfer.partqueue import PartQueue
from ecs_models.transfer.rangefetch import FetchSettings, RangeFetch
from ecs_models.transfer.ratelimit import RateLimiter

CHUNK = 1 << 20  # a stream reports its bytes (and may be interrupted) at least this often


class MemorySink:
    """One stream's chunks land in a slice of a shared buffer that starts at blob offset `base`.

    Storing is receiving: a chunk is reported stored as soon as it is submitted.
    """

    def __init__(self, target: memoryview, base: int) -> None:
        self._target = target
        self._base = base

    @property
    def error(self) -> OSError | None:
        return None

    def chunk_end(self, offset: int, end: int) -> int:
        return min(end, offset + CHUNK)

    def take_buffer(self, offset: int, length: int) -> memoryview:
        start = offset - self._base
        return self._target[start : start + length]

    def submit(
        self, buffer: memoryview, offset: int, length: int, written: Callable[[int], None]
    ) -> None:
        buffer.release()
        written(length)

    def give_back(self, buffer: memoryview) -> None:
        buffer.release()

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


def read_range(
    ranges: BlobRanges,
    start: int,
    end: int,
    *,
    settings: FetchSettings,
    limiter: RateLimiter | None = None,
    cancel: threading.Event | None = None,
) -> bytes:
    """Bytes [start, end] (inclusive) of the blob; the caller keeps `end` within the blob."""
    size = end - start + 1
    if size <= 0:
        return b""
    result = bytearray(size)
    stop = cancel if cancel is not None else threading.Event()

    def check_cancel() -> None:
        if stop.is_set():
            raise OperationCancelledError("The read was cancelled.")

    with memoryview(result) as target:
        queue = PartQueue([Part(0, start, size)], None, lambda _n: None)
        fetch: RangeFetch[memoryview] = RangeFetch(
            ranges,
            queue,
            lambda _first: MemorySink(target, start),
            name=ranges.name,
            settings=settings,
            limiter=limiter,
            cancel=stop,
            check_cancel=check_cancel,
        )
        fetch.run()
    return bytes(result)
