"""Receive → hash → write pipeline and the blob file under it, on real files and a full tmpfs."""

from __future__ import annotations

import errno
import functools
import hashlib
import mmap
import os
from pathlib import Path

from support.faults import SmallFilesystemFactory

from ecs_models.transfer.blobfile import ALIGN, BlobFile
from ecs_models.transfer.chunkpipe import CHUNK, ChunkPipeline
from ecs_models.transfer.hashing import PrefixHasher
from ecs_models.transfer.partial import Part, load_parts, save_part

MIB = 1 << 20


def record(reported: list[tuple[int, int]], offset: int, length: int) -> None:
    reported.append((offset, length))


def feed(pipe: ChunkPipeline, data: bytes, reported: list[tuple[int, int]]) -> None:
    """Submit `data` as a stream would: aligned chunks, each reporting (offset, length)."""
    offset = 0
    while offset < len(data):
        buffer = pipe.take_buffer()
        end = pipe.chunk_end(offset, len(data))
        buffer[: end - offset] = data[offset:end]
        pipe.submit(buffer, offset, end - offset, functools.partial(record, reported, offset))
        offset = end


def test_mixed_aligned_and_ragged_writes_land_exactly(tmp_path: Path) -> None:
    total = 3 * MIB + 123
    expected = os.urandom(total)
    path = tmp_path / "blob-partial"
    buffer = mmap.mmap(-1, 2 * MIB)
    pieces = [
        (5 * ALIGN, 5 * ALIGN + 2 * MIB),
        (0, 100),
        (100, 5 * ALIGN),
        (5 * ALIGN + 2 * MIB, total),
    ]
    with BlobFile(path, total) as blob:
        for start, end in pieces:
            buffer[: end - start] = expected[start:end]
            with memoryview(buffer) as view:
                blob.write_at(view[: end - start], start)
    assert path.stat().st_size == total
    assert path.read_bytes() == expected


def test_chunks_are_hashed_from_memory_and_reported_in_order(tmp_path: Path) -> None:
    total = 5 * CHUNK + 777
    data = os.urandom(total)
    path = tmp_path / "blob-partial"
    reported: list[tuple[int, int]] = []
    with BlobFile(path, total) as blob:
        hasher = PrefixHasher(blob.fd, total, lambda: sum(n for _, n in reported))
        with ChunkPipeline(blob, hasher) as pipe:
            feed(pipe, data, reported)
        digest = hasher.finish()
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    offsets = [0]
    for _, length in reported:
        offsets.append(offsets[-1] + length)
    assert [o for o, _ in reported] == offsets[:-1] and offsets[-1] == total
    assert path.read_bytes() == data


def test_a_prefix_already_on_disk_is_read_back_before_new_chunks(tmp_path: Path) -> None:
    total = 4 * CHUNK
    data = os.urandom(total)
    path = tmp_path / "blob-partial"
    path.write_bytes(data[: 2 * CHUNK] + bytes(total - 2 * CHUNK))  # a resumed half
    reported: list[tuple[int, int]] = []
    with BlobFile(path, total) as blob:
        hasher = PrefixHasher(blob.fd, total, lambda: 2 * CHUNK + sum(n for _, n in reported))
        with ChunkPipeline(blob, hasher) as pipe:
            offset = 2 * CHUNK
            while offset < total:
                buffer = pipe.take_buffer()
                buffer[:CHUNK] = data[offset : offset + CHUNK]
                pipe.submit(buffer, offset, CHUNK, functools.partial(record, reported, offset))
                offset += CHUNK
        assert hasher.finish() == "sha256:" + hashlib.sha256(data).hexdigest()


def test_a_full_disk_stops_reports_at_the_last_written_chunk(
    small_fs: SmallFilesystemFactory,
) -> None:
    root = small_fs(3 * CHUNK)
    total = 8 * CHUNK
    data = os.urandom(total)
    reported: list[tuple[int, int]] = []
    with BlobFile(root / "blob-partial", total) as blob:
        hasher = PrefixHasher(blob.fd, total, lambda: sum(n for _, n in reported))
        with ChunkPipeline(blob, hasher) as pipe:
            feed(pipe, data, reported)
            pipe.drain()
            error = pipe.error
        hasher.stop()
        written = sum(n for _, n in reported)
        on_disk = os.pread(blob.fd, written, 0)
    assert error is not None and error.errno == errno.ENOSPC
    assert 0 < written < total
    assert on_disk == data[:written]  # every reported byte is really there


def test_part_records_are_rewritten_in_place_and_stay_readable(tmp_path: Path) -> None:
    partial = tmp_path / "sha256-00-partial"
    part = Part(0, 0, 10_000_000, completed=9_999_999)
    save_part(partial, part)
    part.completed = 0  # a shorter record over a longer one
    save_part(partial, part)
    parts = load_parts(partial, 10_000_000)
    assert parts is not None and parts[0].completed == 0


def test_offers_racing_the_read_back_hash_every_byte_once(tmp_path: Path) -> None:
    # A file already on disk, read back by the hasher's thread while chunks of it are offered
    # from memory as fast as they are taken: whoever moves the prefix on, and however far one
    # offer takes it past what the read-back was working on, no byte counts twice.
    total = 80 * MIB
    data = os.urandom(total)
    path = tmp_path / "blob-partial"
    path.write_bytes(data)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    fd = os.open(path, os.O_RDONLY)
    try:
        with memoryview(data) as view:
            for size in (3 * MIB, 5 * MIB, 7 * MIB) * 3:
                hasher = PrefixHasher(fd, total, lambda: total)
                while (position := hasher.position) < total:
                    hasher.offer(position, view[position : position + size])
                assert hasher.finish() == expected
    finally:
        os.close(fd)
