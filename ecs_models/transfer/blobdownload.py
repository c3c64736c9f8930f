"""One blob of a pull: the range engine (rangefetch) writing into `-partial`, hashed in order.

Each stream's sink is a receive -> hash -> write pipeline (chunkpipe) into the blob's partial
file; the parts' `-partial-N` state is Ollama's, so Ollama resumes what we leave and we resume
what it leaves; the blob is renamed into place only once its sha256 matches.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecs_models.errors import (
    DigestMismatchError,
    EcsModelsError,
    InsufficientSpaceError,
    PullCancelledError,
    with_fix,
)
from ecs_models.manifest import Layer
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.blobfile import BlobFile
from ecs_models.transfer.chunkpipe import SMALL_CHUNK, SMALL_DEPTH, ChunkPipeline
from ecs_models.transfer.hashing import PrefixHasher
from ecs_models.transfer.partial import load_parts, plan_parts, remove_partial, save_part
from ecs_models.transfer.partqueue import PartQueue
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.rangefetch import FetchSettings, RangeFetch, SinkWriteError
from ecs_models.transfer.ratelimit import RateLimiter

if TYPE_CHECKING:
    import mmap

    from ecs_models.transfer.pull import PullOptions
    from ecs_models.transfer.pullsources import PullSources


@dataclass(slots=True)
class PullContext:
    """What every blob download of one pull shares."""

    name: ModelName
    store: ModelStore
    registry: RegistryClient
    progress: PullProgress
    cancel: threading.Event
    options: PullOptions
    pool: ConnectionPool
    limiter: RateLimiter | None
    sources: PullSources | None = None  # the upstream's mirrors, when it has any

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise PullCancelledError(
                f"The pull of {self.name.display} was cancelled; its partial download stays resumable."
            )


def fetch_settings(options: PullOptions) -> FetchSettings:
    return FetchSettings(
        streams=options.streams,
        min_split_bytes=options.min_split_bytes,
        retries=options.retries,
        retry_base_delay=options.retry_base_delay,
        retry_max_delay=options.retry_max_delay,
        max_stalls=options.max_stalls,
    )


class BlobDownload:
    """One blob: ranges fetched by adaptive streams into `-partial`, hashed in order."""

    def __init__(self, ctx: PullContext, layer: Layer, *, ranges: BlobRanges | None = None) -> None:
        """`ranges` reads the blob elsewhere than the pull's registry (a mirror)."""
        self.ctx = ctx
        self.layer = layer
        self.partial = ctx.store.partial_path(layer.digest)
        self.ranges = ranges or BlobRanges(ctx.registry, ctx.pool, ctx.name, layer.digest)

    def run(self) -> None:
        ctx = self.ctx
        total = self.layer.size
        parts = load_parts(self.partial, total) if self.partial.exists() else None
        if parts is None:
            remove_partial(self.partial)
            parts = plan_parts(total, part_size_min=ctx.options.part_size_min)
        digest = self.layer.digest
        with BlobFile(self.partial, total) as blob:
            # Written again even when resumed: load_parts may have repaired a split.
            for part in parts:
                save_part(self.partial, part)
            ctx.progress.layer_started(digest, sum(p.completed for p in parts))
            queue = PartQueue(parts, self.partial, lambda n: ctx.progress.advance(digest, n))
            hasher = PrefixHasher(blob.fd, total, queue.frontier)

            def make_sink(first: bool) -> ChunkPipeline:
                # The stream that reads the front in long runs gets the big buffers.
                if first:
                    return ChunkPipeline(blob, hasher)
                blob.buffered_only()  # streams may now share pages (races, handed-over ranges)
                return ChunkPipeline(blob, hasher, chunk=SMALL_CHUNK, depth=SMALL_DEPTH)

            fetch: RangeFetch[mmap.mmap] = RangeFetch(
                self.ranges,
                queue,
                make_sink,
                name=ctx.name,
                settings=fetch_settings(ctx.options),
                limiter=ctx.limiter,
                cancel=ctx.cancel,
                check_cancel=ctx.check_cancel,
                busy=lambda: hasher.busy_seconds,
                written=hasher.poke,
                report=lambda: ctx.progress.emit_layer(digest),
                on_retry=ctx.progress.retrying,
            )
            try:
                fetch.run()
            except SinkWriteError as exc:
                hasher.stop()
                raise _disk_error(ctx, exc.error) from exc
            except BaseException:
                hasher.stop()
                raise
            actual = hasher.finish()
        if actual != digest:
            raise DigestMismatchError(f"Blob {digest[7:19]} hashed to {actual[7:19]}.")
        os.replace(self.partial, ctx.store.blob_path(digest))
        remove_partial(self.partial)


def _disk_error(ctx: PullContext, error: OSError) -> EcsModelsError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        free = ctx.store.free_bytes()
        full = InsufficientSpaceError(
            f"The disk holding {ctx.store.root} filled up while downloading {ctx.name.display}.",
            needed=0,
            available=free,
        )
        return with_fix(full, "pull", ctx.name.display, purpose="to resume once space is free")
    return EcsModelsError(f"Writing {ctx.name.display} to disk failed: {error.strerror or error}.")
