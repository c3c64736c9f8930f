"""sha256 of a file's growing contiguous prefix, on its own thread, read from the page cache."""

from __future__ import annotations

import hashlib
import mmap
import threading
from collections.abc import Callable

# Windows of the file are mapped, hashed and unmapped in turn: hashing costs no copy, and only
# one window of file pages counts toward the process's RSS at a time.
_WINDOW = 32 << 20
_STEP = 8 << 20  # hash at most this much per update so stop() is noticed promptly
_MIN_BATCH = 4 << 20


class PrefixHasher:
    """Follows `frontier()` (bytes known to be on disk from offset 0) until `total` is hashed.

    hashlib releases the GIL for large updates, so this runs truly in parallel with the
    threads that receive and write the data: verification costs no second pass at the end.
    """

    def __init__(self, fd: int, total: int, frontier: Callable[[], int]) -> None:
        self._fd = fd
        self._total = total
        self._frontier = frontier
        self._sha = hashlib.sha256()
        self._position = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pull-hash", daemon=True)
        self._thread.start()

    @property
    def position(self) -> int:
        return self._position

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
                if target - self._position < _MIN_BATCH and target < self._total:
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
                        step = min(end, self._position + _STEP)
                        self._sha.update(view[self._position - start : step - start])
                        self._position = step
                finally:
                    view.release()
