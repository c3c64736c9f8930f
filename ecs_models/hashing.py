"""sha256 of a file's growing contiguous prefix: fed from memory as chunks arrive, else read back."""

from __future__ import annotations

import hashlib
import mmap
import threading
import time
from collections.abc import Callable

# Windows of the file are mapped, hashed and unmapped in turn: hashing costs no copy, and only
# one window of file pages counts toward the process's RSS at a time.
_WINDOW = 32 << 20
_STEP = 8 << 20  # hash at most this much per update so stop() is noticed promptly
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
        granularity = mmap.ALLOCATIONGRANULARITY
        while self._position < target and not self._stopped.is_set():
            start = self._position - self._position % granularity
            end = min(target, start + _WINDOW)
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            with mmap.mmap(
                self._fd, end - start, flags=flags, prot=mmap.PROT_READ, offset=start
            ) as window:
                view = memoryview(window)
                try:
                    while self._position < end and not self._stopped.is_set():
                        with self._lock:
                            started = time.perf_counter()
                            step = min(end, self._position + _STEP)
                            self._sha.update(view[self._position - start : step - start])
                            self._position = step
                            self.busy_seconds += time.perf_counter() - started
                finally:
                    view.release()
