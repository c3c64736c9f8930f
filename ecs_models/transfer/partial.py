"""Ollama's resumable download state: `sha256-<hex>-partial` plus `-partial-N` JSON per part."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

# Ollama's part sizing (server/download.go): total/16 clamped to [100 MB, 1 GB].
PARTS_TARGET = 16
PART_SIZE_MIN = 100 * 1000 * 1000
PART_SIZE_MAX = 1000 * 1000 * 1000


@dataclass(slots=True)
class Part:
    """One byte range of a blob and how much of it is on disk, counted from its start."""

    n: int
    offset: int
    size: int
    completed: int = 0

    @property
    def done(self) -> bool:
        return self.completed >= self.size

    @property
    def next_offset(self) -> int:
        return self.offset + self.completed

    @property
    def end(self) -> int:
        """Exclusive end offset."""
        return self.offset + self.size

    def to_json(self) -> bytes:
        return json.dumps(
            {"N": self.n, "Offset": self.offset, "Size": self.size, "Completed": self.completed},
            separators=(",", ":"),
        ).encode()


def plan_parts(total: int, *, part_size_min: int = PART_SIZE_MIN) -> list[Part]:
    size = min(max(total // PARTS_TARGET, part_size_min), PART_SIZE_MAX)
    size = max(size, 1)
    parts: list[Part] = []
    offset = 0
    while offset < total:
        length = min(size, total - offset)
        parts.append(Part(len(parts), offset, length))
        offset += length
    return parts or [Part(0, 0, 0)]


def part_path(partial: Path, n: int) -> Path:
    return partial.with_name(f"{partial.name}-{n}")


def load_parts(partial: Path, total: int) -> list[Part] | None:
    """Parts from `-partial-N` files (ours or Ollama's), or None when absent or inconsistent.

    Go's JSON decoding ignores key case, so Ollama may have written any capitalisation. The
    numbers must be 0..n-1 (Ollama deletes the files by index when it finishes) and the parts
    must tile the blob, except for the one state a split leaves when it is interrupted between
    its two writes (see `split_part`), which is repaired here; the caller saves the result.
    """
    parts: list[Part] = []
    for path in partial.parent.glob(partial.name + "-*"):
        suffix = path.name.removeprefix(partial.name + "-")
        if not suffix.isdigit():
            continue
        try:
            doc = {k.lower(): v for k, v in json.loads(path.read_bytes()).items()}
            part = Part(int(doc["n"]), int(doc["offset"]), int(doc["size"]), int(doc["completed"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if part.n != int(suffix) or part.size < 0 or not 0 <= part.completed <= part.size:
            return None
        parts.append(part)
    if not parts or sorted(p.n for p in parts) != list(range(len(parts))):
        return None
    parts.sort(key=lambda p: (p.offset, -p.size))
    _repair_interrupted_split(parts)
    expected = 0
    for part in parts:
        if part.offset != expected:
            return None
        expected = part.end
    if expected != total:
        return None
    return parts


def _repair_interrupted_split(parts: list[Part]) -> None:
    """Undo the overlap a split leaves when it was killed after writing only its new part.

    The new (highest-numbered so far) part then covers the tail of the part it was cut from,
    which still has its old size: shrink the old one back to where the new one starts.
    """
    for left, right in itertools.pairwise(parts):
        if left.offset < right.offset < left.end == right.end and right.n > left.n:
            if left.offset + left.completed > right.offset:
                return  # not a split's shape: leave it for the tiling check to refuse
            left.size = right.offset - left.offset


def split_part(partial: Path | None, parts: list[Part], part: Part, at: int) -> Part:
    """Cut `part` at offset `at`: it keeps [offset, at), a new part numbered len(parts) takes
    [at, end). Appends the new part to `parts` and records both on disk (unless `partial` is
    None: a fetch into memory keeps no state).

    Ollama's state has no way to change two files at once, so the order is chosen to leave
    something resumable at every instant: the new part is written first (a kill right then
    leaves an overlap that `load_parts` repairs), the old part's smaller size second. Between
    those two writes Ollama itself would count the tail twice and end in a digest mismatch;
    the window is two small writes long.
    """
    if not part.offset + part.completed <= at < part.end:
        raise ValueError(f"cannot split part {part.n} at {at}")
    tail = Part(len(parts), at, part.end - at)
    if partial is not None:
        save_part(partial, tail)
    part.size = at - part.offset
    if partial is not None:
        save_part(partial, part)
    parts.append(tail)
    return tail


def save_part(partial: Path, part: Part) -> None:
    """Record a part's progress in its `-partial-N` file.

    The few dozen bytes are overwritten in place, never truncated first: on a full disk a
    truncate-and-rewrite can lose the file's only block to another writer. A shorter text is
    padded with spaces, which JSON (Go's decoder included) allows after the value. A torn
    write only makes the part restart.
    """
    data = part.to_json()
    fd = os.open(part_path(partial, part.n), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        os.pwrite(fd, data.ljust(size, b" "), 0)
    finally:
        os.close(fd)


def remove_partial(partial: Path) -> None:
    for path in partial.parent.glob(partial.name + "-*"):
        if path.name.removeprefix(partial.name + "-").isdigit():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()


def contiguous_prefix(parts: list[Part]) -> int:
    """Bytes from offset 0 that are all on disk."""
    for part in parts:
        if not part.done:
            return part.next_offset
    return parts[-1].end if parts else 0
