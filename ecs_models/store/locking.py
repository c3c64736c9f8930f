"""Cross-process file locks (flock) for the models directory, cancellable while waiting."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from ecs_models.errors import PullCancelledError, StoreLockedError


class FileLock:
    """An exclusive or shared flock on a file; each instance is one open file description.

    flock locks belong to the open file description, so two FileLock objects on the same path
    exclude each other even inside one process: the same lock serves threads and processes.
    """

    def __init__(self, path: Path, *, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        self._fd: int | None = None

    def acquire(
        self,
        *,
        timeout: float | None = 60.0,
        cancel: threading.Event | None = None,
        poll: float = 0.05,
    ) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        mode = (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                if cancel is not None and cancel.is_set():
                    os.close(fd)
                    raise PullCancelledError(
                        "The pull was cancelled while waiting for a lock."
                    ) from None
                if deadline is not None and time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreLockedError(
                        f"Another process has held {self.path.name} for over {timeout:.0f} s."
                    ) from None
                time.sleep(poll)
                continue
            self._fd = fd
            return

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; False when someone else holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held_elsewhere(self) -> bool:
        """True when someone holds the lock now; never creates the lock file to find out."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops a lock we may have just taken
        return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
