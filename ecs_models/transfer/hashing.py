"""sha256 of a file's growing contiguous prefix: fed from memory as chunks arrive, else read back."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

# Read back with pread into one reusable buffer (4 MiB of RSS, where a mapped window was
# 32 MiB). An offer may take the prefix past the bytes a read was for: those are then dropped,
# so the prefix only ever moves forward and no byte is hashed twice.
_STEP = 4 << 20  # read and hash at most this much at a time, so stop() is noticed promptly
_MIN_BATCH = 4 << 20


class PrefixHasher:
    """Hashes bytes 0..total in order, from whichever source has them first.

    A chunk that continues the hashed prefix is `offer`ed straight from the receive buffer, so
    in a plain download every byte is hashed while still in memory. Anything else (a resumed
    partial, parts fetched ahead by other streams) is read back from the file by this object's
    own thread once `frontier()` (bytes on disk from offset 0) covers it. hashlib releases the
    GIL for large updates, so hashing runs in parallel with receiving and writing.
    """

    def __init__(self, fd: int, total: int, frontier: Callable[[], int]) -> None:
        self._fd = fd
        self._total = total
        self._frontier = frontier
        self._sha = hashlib.sha256()
        self._position = 0
        self._lock = threading.Lock()  # offer() and the read-back thread never both advance
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self.busy_seconds = 0.0  # wall time spent hashing: how close the pull is to CPU-bound
        self._buffer: bytearray | None = None  # for reading back, made on first use
        self._thread = threading.Thread(target=self._run, name="pull-hash", daemon=True)
        self._thread.start()

    @property
    def position(self) -> int:
        return self._position

    def offer(self, offset: int, data: memoryview) -> bool:
        """Hash `data` if it starts exactly where the hashed prefix ends; else leave it.

        A refused chunk is read back from the file after it is written, so callers must call
        this before counting the chunk as written (the read-back never passes unwritten bytes,
        and an offered chunk is never already covered by it).
        """
        with self._lock:
            if offset != self._position or self._stopped.is_set():
                return False
            started = time.perf_counter()
            self._sha.update(data)
            self._position += len(data)
            self.busy_seconds += time.perf_counter() - started
            return True

    def poke(self) -> None:
        """New bytes may be on disk: wake the hasher."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join()

    def finish(self) -> str:
        """Wait until the whole file is hashed and return `sha256:<hex>`."""
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._position != self._total:
            raise RuntimeError(f"hashed {self._position} of {self._total} bytes")
        return "sha256:" + self._sha.hexdigest()

    def _run(self) -> None:
        try:
            while self._position < self._total and not self._stopped.is_set():
                target = min(self._frontier(), self._total)
                # Offered chunks run ahead of the frontier; read back only what they skipped.
                if target <= self._position or (
                    target - self._position < _MIN_BATCH and target < self._total
                ):
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                self._hash_range(target)
        except BaseException as exc:  # surfaced to the pulling thread by finish()
            self._error = exc

    def _hash_range(self, target: int) -> None:
        if self._buffer is None:
            self._buffer = bytearray(_STEP)
        with memoryview(self._buffer) as view:
            while self._position < target and not self._stopped.is_set():
                start = self._position
                started = time.perf_counter()
                count = os.preadv(self._fd, [view[: min(_STEP, target - start)]], start)
                if count <= 0:
                    raise OSError(f"the partial file ended at {start} of {self._total} bytes")
                with self._lock:
                    # An offered chunk may have moved the prefix on while this was read.
                    skip = self._position - start
                    if 0 <= skip < count:
                        self._sha.update(view[skip:count])
                        self._position = start + count
                    self.busy_seconds += time.perf_counter() - started
