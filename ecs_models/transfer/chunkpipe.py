"""One stream's received chunks, hashed and written on two threads while the next is received.

Receiving, hashing and writing a chunk each take about as long as the others on a fast link,
so doing them in turn would take three times as long as the slowest. Here the receiving thread
fills page-aligned buffers from the socket and hands each one to a hash thread (which feeds
the blob's PrefixHasher from memory) and a write thread (BlobFile, O_DIRECT where possible).
A buffer returns to the pool when both are done with it. Chunks are reported written strictly
in order, so a part's `completed` count never covers a byte that is not on disk.

Only chunks the hasher takes from memory are written with O_DIRECT. The others (a stream
working ahead of the hashed prefix) go through the page cache, where the hasher reads them
back when the prefix reaches them, instead of from the disk.
"""

from __future__ import annotations

import mmap
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ecs_models.transfer.blobfile import ALIGN, BlobFile
from ecs_models.transfer.hashing import PrefixHasher

CHUNK = 2 << 20
DEPTH = 4  # buffers per stream: 8 MiB of memory, enough to keep all three stages busy
# Streams added on slow links each hold less: 16 streams must stay far below 150 MB of RSS.
SMALL_CHUNK = 1 << 20
SMALL_DEPTH = 3


@dataclass(slots=True)
class _Chunk:
    buffer: mmap.mmap
    offset: int
    length: int
    written: Callable[[int], None]
    direct: bool
    stages_left: int = 2
    failed: bool = False


class ChunkPipeline:
    """Hash-and-write workers for one stream; each chunk's `written` callback runs in order."""

    def __init__(
        self, blob: BlobFile, hasher: PrefixHasher, *, chunk: int = CHUNK, depth: int = DEPTH
    ) -> None:
        self._blob = blob
        self._hasher = hasher
        self.chunk = chunk
        self._depth = depth
        self._in_order_end = -1  # where this stream's last chunk that continued the prefix ended
        self._free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
        self._allocated = 0
        self._to_hash: queue.SimpleQueue[_Chunk | None] = queue.SimpleQueue()
        self._to_write: queue.SimpleQueue[_Chunk | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._error: OSError | None = None
        self._reports_stopped = False  # set at the first failed chunk, in submission order
        self._threads = [
            threading.Thread(target=self._hash_loop, name="pull-chunk-hash", daemon=True),
            threading.Thread(target=self._write_loop, name="pull-chunk-write", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def chunk_end(self, offset: int, end: int) -> int:
        """Where a chunk starting at `offset` stops: `chunk` long, ending on an aligned offset."""
        return min(end, offset - offset % ALIGN + self.chunk)

    @property
    def error(self) -> OSError | None:
        """The write error that stopped this pipeline, if any."""
        return self._error

    def take_buffer(self, offset: int = 0, length: int = 0) -> mmap.mmap:
        """A free buffer of `chunk` bytes (whatever the chunk's place and length); waits while
        all `depth` are in use."""
        with self._lock:
            if self._allocated < self._depth and self._free.empty():
                self._allocated += 1
                return mmap.mmap(-1, self.chunk)
        return self._free.get()

    def give_back(self, buffer: mmap.mmap) -> None:
        """Return a buffer that received nothing."""
        self._free.put(buffer)

    def submit(
        self, buffer: mmap.mmap, offset: int, length: int, written: Callable[[int], None]
    ) -> None:
        """Hash (if it continues the prefix) and write buffer[:length] at `offset`.

        `written(length)` is called once the chunk is on disk, after every earlier chunk's.
        """
        # Guessed now, without waiting for the hasher: a wrong guess costs speed, never bytes.
        in_order = offset in (self._hasher.position, self._in_order_end)
        self._in_order_end = offset + length if in_order else -1
        chunk = _Chunk(buffer, offset, length, written, direct=in_order)
        with self._lock:
            self._in_flight += 1
        self._to_hash.put(chunk)
        self._to_write.put(chunk)

    def drain(self) -> None:
        """Wait until every submitted chunk is written (or dropped after a write error)."""
        with self._idle:
            while self._in_flight:
                self._idle.wait()

    def close(self) -> None:
        self.drain()
        self._to_hash.put(None)
        self._to_write.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> ChunkPipeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _hash_loop(self) -> None:
        while (chunk := self._to_hash.get()) is not None:
            with memoryview(chunk.buffer) as view:
                self._hasher.offer(chunk.offset, view[: chunk.length])
            self._stage_done(chunk)

    def _write_loop(self) -> None:
        while (chunk := self._to_write.get()) is not None:
            if self._error is None:
                try:
                    with memoryview(chunk.buffer) as view:
                        self._blob.write_at(view[: chunk.length], chunk.offset, direct=chunk.direct)
                except OSError as exc:
                    self._error = exc
            # After a failure later chunks are dropped, so `completed` stays contiguous.
            chunk.failed = self._error is not None
            self._stage_done(chunk)

    def _stage_done(self, chunk: _Chunk) -> None:
        # Both threads take chunks in submission order, so the one finishing a chunk's last
        # stage does so after every earlier chunk's: reports below arrive in order.
        with self._lock:
            chunk.stages_left -= 1
            if chunk.stages_left:
                return
        # Chunks written before the failure still count, whichever thread finishes them.
        self._reports_stopped = self._reports_stopped or chunk.failed
        if not self._reports_stopped:
            chunk.written(chunk.length)
        self._free.put(chunk.buffer)
        with self._idle:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.notify_all()
