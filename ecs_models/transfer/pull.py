"""The pull engine: parallel ranged parts, hash-as-it-arrives, resume, retry, stall, rate limit."""

from __future__ import annotations

import contextlib
import errno
import functools
import http.client
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from ecs_models.errors import (
    DigestMismatchError,
    EcsModelsError,
    InsufficientSpaceError,
    PullCancelledError,
    RegistryError,
    with_fix,
)
from ecs_models.formatting import human_bytes
from ecs_models.manifest import Layer, Manifest, unique_layers
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.blobhttp import ConnectionPool, RangeResponse, StallError
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient, backoff_delay
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.transfer.blobfile import BlobFile
from ecs_models.transfer.chunkpipe import ChunkPipeline
from ecs_models.transfer.hashing import PrefixHasher
from ecs_models.transfer.partial import (
    PART_SIZE_MIN,
    Part,
    contiguous_prefix,
    load_parts,
    plan_parts,
    remove_partial,
    save_part,
)
from ecs_models.transfer.partqueue import PartQueue
from ecs_models.transfer.progress import PullProgress, PullState
from ecs_models.transfer.ratelimit import RateLimiter

T = TypeVar("T")

_SAVE_EVERY_S = 0.5
_REPORT_EVERY_S = 0.2
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(slots=True)
class PullOptions:
    """How a pull behaves; the defaults follow Ollama where it has a number."""

    insecure: bool = False
    max_rate: float | None = None  # bytes per second for the whole pull; None = unlimited
    default_host: str = DEFAULT_HOST
    streams: int = 8  # most ranged parts of one blob downloaded at once
    ramp_below_bytes_per_second: float = 150e6  # add streams only while slower than this
    part_size_min: int = PART_SIZE_MIN
    retries: int = 6  # per part, reset whenever the part makes progress
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    stall_timeout: float = 30.0  # seconds without a byte before a part's connection is restarted
    max_stalls: int = 10  # restarts without spending a retry, per part
    disk_margin_bytes: int = 64 * 1000 * 1000
    limiter: RateLimiter | None = field(default=None, repr=False)  # share one across pulls

    def rate_limiter(self) -> RateLimiter | None:
        if self.limiter is not None:
            return self.limiter
        return RateLimiter(self.max_rate) if self.max_rate else None


class _DiskWriteError(Exception):
    """Writing a received chunk failed (ENOSPC, EIO...): never a network retry."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Aborted(Exception):
    """Another part of the same blob failed; this one stops quietly."""


@dataclass(slots=True)
class _Pull:
    """What every blob download of one pull shares."""

    name: ModelName
    store: ModelStore
    registry: RegistryClient
    progress: PullProgress
    cancel: threading.Event
    options: PullOptions
    pool: ConnectionPool
    limiter: RateLimiter | None


def pull_model(
    name: str | ModelName,
    store: ModelStore,
    *,
    registry: RegistryClient | None = None,
    progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
    options: PullOptions | None = None,
) -> InstalledModel:
    """Install a model from its registry into the store. Blocking: call it on a worker thread.

    Raises EcsModelsError subclasses with one-sentence messages; the progress object ends in
    DONE, FAILED or CANCELLED. A failed or cancelled pull leaves a resumable partial and never
    a manifest.
    """
    return _run(name, store, registry, progress, cancel, options, _pull)


def fetch_blobs(
    name: str | ModelName,
    layers: list[Layer],
    store: ModelStore,
    *,
    registry: RegistryClient | None = None,
    progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
    options: PullOptions | None = None,
) -> None:
    """Download some blobs of a model from its registry, with the pull engine's guarantees.

    Used to repair a store: missing or damaged blobs come back verified; manifests are left as
    they are. Blobs already present with the right size are skipped, so delete a damaged one
    first.
    """

    def work(ctx: _Pull) -> None:
        blobs = unique_layers(layers)
        ctx.progress.set_layers([(b.digest, b.media_type, b.size) for b in blobs])
        with ctx.store.pin(b.digest for b in blobs):
            _check_disk_space(ctx, blobs)
            ctx.progress.set_state(PullState.DOWNLOADING)
            for layer in blobs:
                _fetch_blob(ctx, layer)
        ctx.progress.set_state(PullState.DONE, "success")

    _run(name, store, registry, progress, cancel, options, work)


def _run(
    name: str | ModelName,
    store: ModelStore,
    registry: RegistryClient | None,
    progress: PullProgress | None,
    cancel: threading.Event | None,
    options: PullOptions | None,
    work: Callable[[_Pull], T],
) -> T:
    opts = options or PullOptions()
    label = name.display if isinstance(name, ModelName) else str(name)
    progress = progress if progress is not None else PullProgress(label)
    cancel = cancel if cancel is not None else threading.Event()
    own_registry = registry is None
    client = registry if registry is not None else RegistryClient(insecure=opts.insecure)
    pool = ConnectionPool(timeout=opts.stall_timeout, verify_tls=not client.insecure)
    try:
        with progress.reporting(f"Pull of {label} failed"):
            parsed = (
                name
                if isinstance(name, ModelName)
                else parse_model_name(name, default_host=opts.default_host)
            )
            ctx = _Pull(parsed, store, client, progress, cancel, opts, pool, opts.rate_limiter())
            return work(ctx)
    finally:
        pool.close()
        if own_registry:
            client.close()


def _pull(ctx: _Pull) -> InstalledModel:
    progress = ctx.progress
    progress.set_state(PullState.RESOLVING, "pulling manifest")
    _check_cancel(ctx)
    raw = ctx.registry.get_manifest(ctx.name)
    manifest = Manifest.parse(raw)
    blobs = manifest.unique_blobs
    progress.set_layers([(b.digest, b.media_type, b.size) for b in blobs])
    with ctx.store.pin(b.digest for b in blobs):
        _check_disk_space(ctx, blobs)
        progress.set_state(PullState.DOWNLOADING)
        for layer in blobs:
            _fetch_blob(ctx, layer)
        # Each blob was hashed while it arrived and renamed into place only once it matched.
        progress.set_state(PullState.VERIFYING, "verifying sha256 digest")
        _check_cancel(ctx)
        progress.set_state(PullState.WRITING, "writing manifest")
        model = ctx.store.write_manifest(ctx.name, raw)
    progress.set_state(PullState.DONE, "success")
    return model


def _check_cancel(ctx: _Pull) -> None:
    if ctx.cancel.is_set():
        raise PullCancelledError(
            f"The pull of {ctx.name.display} was cancelled; its partial download stays resumable."
        )


def _check_disk_space(ctx: _Pull, blobs: list[Layer]) -> None:
    """Refuse before the first byte when what is still missing cannot fit."""
    needed = 0
    for layer in blobs:
        if ctx.store.has_blob(layer):
            continue
        parts = load_parts(ctx.store.partial_path(layer.digest), layer.size)
        needed += layer.size - (sum(p.completed for p in parts) if parts else 0)
    if needed == 0:
        return
    free = ctx.store.free_bytes()
    margin = ctx.options.disk_margin_bytes
    if free < needed + margin:
        raise InsufficientSpaceError(
            f"Not enough disk space for {ctx.name.display}: it needs {human_bytes(needed)} more "
            f"(plus a {human_bytes(margin)} margin) but only {human_bytes(free)} is free in {ctx.store.root}.",
            needed=needed + margin,
            available=free,
        )


def _fetch_blob(ctx: _Pull, layer: Layer) -> None:
    progress = ctx.progress
    if ctx.store.has_blob(layer):
        progress.layer_started(layer.digest, layer.size)
        return
    # One download per blob across threads and processes: a second pull waits here, then
    # finds the blob complete.
    lock = ctx.store.blob_lock(layer.digest)
    lock.acquire(timeout=None, cancel=ctx.cancel)
    try:
        if ctx.store.has_blob(layer):
            progress.layer_started(layer.digest, layer.size)
            return
        try:
            _BlobDownload(ctx, layer).run()
        except DigestMismatchError:
            # Bad bytes are never kept: start over once from the registry, then give up.
            remove_partial(ctx.store.partial_path(layer.digest))
            try:
                _BlobDownload(ctx, layer).run()
            except DigestMismatchError as exc:
                remove_partial(ctx.store.partial_path(layer.digest))
                raise DigestMismatchError(
                    f"Blob {layer.digest[7:19]} of {ctx.name.display} did not match its sha256 digest "
                    "twice; the registry is serving corrupt data."
                ) from exc
        # Only a complete blob's lock file goes: anyone still waiting on the old file finds
        # the blob present, while a failed download keeps one lock for its resumers.
        with contextlib.suppress(FileNotFoundError):
            lock.path.unlink()
    finally:
        lock.release()
    progress.emit_layer(layer.digest)


class _BlobDownload:
    """One blob: parts fetched in parallel into `-partial`, hashed in order as they arrive."""

    def __init__(self, ctx: _Pull, layer: Layer) -> None:
        self.ctx = ctx
        self.layer = layer
        self.partial = ctx.store.partial_path(layer.digest)
        self.ranges = BlobRanges(ctx.registry, ctx.pool, ctx.name, layer.digest)
        self.abort = threading.Event()
        self.parts: list[Part] = []
        self.blob: BlobFile | None = None
        self.hasher: PrefixHasher | None = None

    def run(self) -> None:
        total = self.layer.size
        parts = load_parts(self.partial, total) if self.partial.exists() else None
        if parts is None:
            remove_partial(self.partial)
            parts = plan_parts(total, part_size_min=self.ctx.options.part_size_min)
            fresh = True
        else:
            fresh = False
        self.parts = parts
        with BlobFile(self.partial, total) as blob:
            self.blob = blob
            if fresh:
                for part in parts:
                    save_part(self.partial, part)
            self.ctx.progress.layer_started(self.layer.digest, sum(p.completed for p in parts))
            self.hasher = PrefixHasher(blob.fd, total, lambda: contiguous_prefix(self.parts))
            try:
                self._download_parts()
            except BaseException:
                self.hasher.stop()
                raise
            actual = self.hasher.finish()
        if actual != self.layer.digest:
            raise DigestMismatchError(f"Blob {self.layer.digest[7:19]} hashed to {actual[7:19]}.")
        target = self.ctx.store.blob_path(self.layer.digest)
        os.replace(self.partial, target)
        remove_partial(self.partial)

    def _download_parts(self) -> None:
        """Run the missing parts on a pool of streams that grows only while it helps.

        One stream saturates loopback and LAN links, and on two cores more streams only
        compete with the hasher; a slow path (a CDN capping each connection) gets another
        stream every second until `streams` is reached or the aggregate rate is high enough.
        """
        queue = PartQueue(self.parts)
        if not queue:
            return
        opts = self.ctx.options
        progress = self.ctx.progress

        def worker(from_end: bool) -> None:
            with self._stream() as stream:
                part = queue.take(from_end=from_end)
                while part is not None:
                    self._download_part(part, stream, queue)
                    part = queue.take(from_end=from_end)

        with ThreadPoolExecutor(
            max_workers=max(1, opts.streams), thread_name_prefix="pull-part"
        ) as pool:
            futures: list[Future[None]] = [pool.submit(worker, False)]
            last_added = time.monotonic()
            try:
                while True:
                    done, not_done = wait(
                        futures, timeout=_REPORT_EVERY_S, return_when=FIRST_EXCEPTION
                    )
                    progress.emit_layer(self.layer.digest)
                    if any(f.exception() is not None for f in done) or not not_done:
                        break
                    now = time.monotonic()
                    if (
                        len(futures) < opts.streams
                        and queue
                        and self.ctx.limiter is None
                        and now - last_added >= 1.0
                        and progress.snapshot().bytes_per_second < opts.ramp_below_bytes_per_second
                    ):
                        futures.append(pool.submit(worker, True))
                        last_added = now
            finally:
                if (
                    any(f.done() and f.exception() is not None for f in futures)
                    or self.ctx.cancel.is_set()
                ):
                    self.abort.set()
        errors = [e for f in futures if (e := f.exception()) is not None]
        real = [e for e in errors if not isinstance(e, _Aborted)]
        if real:
            raise _translate(self.ctx, real[0])
        _check_cancel(self.ctx)
        if errors or any(not p.done for p in self.parts):
            raise RegistryError("The blob download stopped unexpectedly.")

    def _stream(self) -> _Stream:
        assert self.blob is not None and self.hasher is not None
        return _Stream(ChunkPipeline(self.blob, self.hasher))

    def _download_part(self, part: Part, stream: _Stream, queue: PartQueue) -> None:
        opts = self.ctx.options
        tries = 0
        stalls = 0
        try:
            while not part.done:
                self._check_stop()
                before = part.completed
                try:
                    self._receive_part(part, stream, queue)
                except StallError:
                    stalls += 1
                    if stalls > opts.max_stalls:
                        tries = self._failed_try(tries, part, "it stalled repeatedly")
                except (_DiskWriteError, PullCancelledError, _Aborted):
                    raise
                except (OSError, http.client.HTTPException) as exc:
                    tries = self._failed_try(
                        0 if part.completed > before else tries, part, _describe(exc)
                    )
                except RegistryError as exc:
                    if not exc.retryable:
                        raise
                    tries = self._failed_try(
                        0 if part.completed > before else tries, part, str(exc)
                    )
        finally:
            self._save_progress(part)

    def _save_progress(self, part: Part) -> None:
        # Best effort: a stale record only means re-fetching some bytes on resume, and on a
        # full disk the write that matters is the blob's, whose error is the one to report.
        with contextlib.suppress(OSError):
            save_part(self.partial, part)

    def _failed_try(self, tries: int, part: Part, why: str) -> int:
        tries += 1
        opts = self.ctx.options
        if tries > opts.retries:
            raise RegistryError(
                f"Downloading {self.ctx.name.display} from {self.ctx.name.host} failed {tries} times in a row ({why})."
            )
        self._save_progress(part)
        delay = backoff_delay(tries, base=opts.retry_base_delay, cap=opts.retry_max_delay)
        if self.ctx.cancel.wait(delay):
            _check_cancel(self.ctx)
        return tries

    def _check_stop(self) -> None:
        _check_cancel(self.ctx)
        if self.abort.is_set():
            raise _Aborted()

    def _receive_part(self, part: Part, stream: _Stream, queue: PartQueue) -> None:
        """Receive the rest of `part`, on the stream's open response if it is already there."""
        body = stream.body_at(part.next_offset)
        if body is None:
            # Ask for every following part nobody has claimed: this stream takes them next
            # and reads on into them without another request.
            body = stream.attach(self.ranges.open(part.next_offset, queue.run_end(part) - 1))
        try:
            self._receive(part, body, stream.pipe)
        except BaseException:
            stream.detach()  # stopped mid-body: that connection cannot be reused
            raise

    def _receive(self, part: Part, body: RangeResponse, pipe: ChunkPipeline) -> None:
        """Fill chunks from `body` and pass them on; returns with every received byte written."""
        try:
            self._receive_chunks(part, body, pipe)
        finally:
            pipe.drain()  # a retry resumes at `completed`, so it must count every saved byte
            if pipe.error is not None:
                raise _DiskWriteError(pipe.error)

    def _receive_chunks(self, part: Part, body: RangeResponse, pipe: ChunkPipeline) -> None:
        ctx = self.ctx
        limiter = ctx.limiter
        written = functools.partial(self._written, part)
        offset = part.next_offset
        last_save = time.monotonic()
        while offset < part.end and pipe.error is None:
            self._check_stop()
            buffer = pipe.take_buffer()
            length = ChunkPipeline.chunk_end(offset, part.end) - offset
            filled = 0
            try:
                with memoryview(buffer) as view:
                    while filled < length:
                        want = length - filled
                        if limiter is not None:
                            want = limiter.take(want, ctx.cancel)
                        count = body.readinto(view[filled : filled + want])
                        if limiter is not None and count < want:
                            limiter.refund(want - count)
                        filled += count
            finally:
                # Bytes received before a cut or a stall are kept, like every other chunk.
                if filled:
                    pipe.submit(buffer, offset, filled, written)
                else:
                    pipe.give_back(buffer)
            offset += filled
            now = time.monotonic()
            if now - last_save >= _SAVE_EVERY_S:
                self._save_progress(part)
                last_save = now

    def _written(self, part: Part, length: int) -> None:
        """A chunk of `part` is on disk (called in order, from a pipeline thread)."""
        part.completed += length
        self.ctx.progress.advance(self.layer.digest, length)
        if self.hasher is not None:
            self.hasher.poke()


class _Stream:
    """One download stream's chunk pipeline and the response it is reading, if any."""

    def __init__(self, pipe: ChunkPipeline) -> None:
        self.pipe = pipe
        self._body: RangeResponse | None = None

    def body_at(self, offset: int) -> RangeResponse | None:
        """The open response if its next byte is `offset`, else None (closing a stale one)."""
        if self._body is not None and (self._body.position != offset or not self._body.remaining):
            self._close_body()
        return self._body

    def attach(self, body: RangeResponse) -> RangeResponse:
        self._close_body()
        self._body = body
        return body

    def detach(self) -> None:
        """Drop the response after an error; its connection is closed, not pooled."""
        self._close_body(after_error=True)

    def _close_body(self, *, after_error: bool = False) -> None:
        if self._body is not None:
            # Fully read responses return their connection to the pool; others are closed.
            self._body.close(reusable=not after_error and not self._body.remaining)
            self._body = None

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close_body()
        self.pipe.close()


def _translate(ctx: _Pull, exc: BaseException) -> BaseException:
    if isinstance(exc, _DiskWriteError):
        error = exc.error
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            free = ctx.store.free_bytes()
            full = InsufficientSpaceError(
                f"The disk holding {ctx.store.root} filled up while downloading {ctx.name.display}.",
                needed=0,
                available=free,
            )
            return with_fix(full, "pull", ctx.name.display, purpose="to resume once space is free")
        return EcsModelsError(
            f"Writing {ctx.name.display} to disk failed: {error.strerror or error}."
        )
    return exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed mid-transfer"
    text = str(exc).strip()
    return text or exc.__class__.__name__
