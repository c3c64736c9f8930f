"""A blob's `-partial` file, written with O_DIRECT where the filesystem and alignment allow.

A buffered write copies every byte into the page cache and leaves a gigabyte of dirty pages for
the kernel's writeback threads: on this project's 2-core machine that copy cost as much CPU as
receiving the bytes, CPU a verified pull needs for sha256. O_DIRECT hands the (page-aligned)
buffer to the device instead. Unaligned pieces (a part's ragged edges, the blob's tail, bytes
saved after a cut connection) and filesystems without O_DIRECT (tmpfs on older kernels) use the
buffered descriptor; both see the same file. Linux asks that direct and buffered writes not
meet on one region at once, and two streams may write the same pages (a racer and the owner it
races), so once a second stream starts, every write goes through the page cache.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

ALIGN = 4096  # a multiple of every common logical block size


class BlobFile:
    """Positioned writes into one file through a buffered and (when possible) a direct fd."""

    def __init__(self, path: Path, total: int) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._direct_fd = -1
        self._direct_allowed = True
        try:
            if os.fstat(self.fd).st_size != total:
                os.ftruncate(self.fd, total)
            self._direct_fd = _open_direct(path)
        except BaseException:
            self.close()
            raise

    def write_at(self, data: memoryview, offset: int, *, direct: bool = True) -> None:
        """Write all of `data` at `offset`. Direct writes need `data` to start page-aligned;
        `direct=False` keeps the bytes in the page cache for someone about to read them."""
        written = 0
        size = len(data)
        while written < size:
            fd = self.fd
            if (
                direct
                and self._direct_allowed
                and self._direct_fd >= 0
                and (offset + written) % ALIGN == 0
                and (size - written) % ALIGN == 0
            ):
                fd = self._direct_fd
            try:
                written += os.pwrite(fd, data[written:], offset + written)
            except OSError as exc:
                if fd != self.fd and exc.errno == errno.EINVAL:
                    # The device wants a larger alignment than ours: buffered from now on.
                    self._close_direct()
                    continue
                raise

    def buffered_only(self) -> None:
        """From now on every write goes through the page cache (several writers may now meet
        on one page, which Linux asks not to do with O_DIRECT and buffered writes at once)."""
        self._direct_allowed = False

    def close(self) -> None:
        self._close_direct()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _close_direct(self) -> None:
        if self._direct_fd >= 0:
            os.close(self._direct_fd)
            self._direct_fd = -1

    def __enter__(self) -> BlobFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open_direct(path: Path) -> int:
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return -1
    try:
        return os.open(path, os.O_WRONLY | flag)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
            return -1
        raise
