"""The pull engine: manifests, blobs one by one (blobdownload), resume, disk checks, rate limit."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ecs_models.errors import (
    DigestMismatchError,
    InsufficientSpaceError,
    OperationCancelledError,
)
from ecs_models.formatting import human_bytes
from ecs_models.manifest import Layer, Manifest, unique_layers
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.client import RegistryClient
from ecs_models.registry.mirrors import MirrorTable
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.store.unused_layers import (
    REMOVING_STATUS,
    previous_manifest,
    remove_unused_layers,
)
from ecs_models.transfer.blobdownload import BlobDownload, PullContext
from ecs_models.transfer.partial import (
    PART_SIZE_MIN,
    load_parts,
    remove_partial,
)
from ecs_models.transfer.progress import PullProgress, PullState
from ecs_models.transfer.pullsources import PullSources
from ecs_models.transfer.ratelimit import RateLimiter
from ecs_models.transfer.streamcount import DEFAULT_STREAMS
from ecs_models.transfer.unfinished import forget_pull, record_pull

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class PullOptions:
    """How a pull behaves; the defaults follow Ollama where it has a number."""

    insecure: bool = False
    max_rate: float | None = None  # bytes per second over all streams; None = unlimited
    default_host: str = DEFAULT_HOST
    # Most connections one blob download opens at once; fewer run while more would not raise
    # the rate (streamcount).
    streams: int = DEFAULT_STREAMS
    part_size_min: int = PART_SIZE_MIN
    min_split_bytes: int = 1 << 20  # no range is split into pieces smaller than this
    retries: int = 6  # per part, reset whenever the part makes progress
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    stall_timeout: float = 30.0  # seconds without a byte before a part's connection is restarted
    max_stalls: int = 10  # restarts without spending a retry, per part
    disk_margin_bytes: int = 64 * 1000 * 1000
    limiter: RateLimiter | None = field(default=None, repr=False)  # share one across pulls
    # Mirrors per upstream host; None reads mirrors.json and ECS_MODELS_MIRRORS at pull time,
    # an empty table skips them (`pull --no-mirror`).
    mirrors: MirrorTable | None = None
    mirror_timeout: float = 3.0  # seconds a mirror (and the upstream's digest) may take to answer

    def rate_limiter(self) -> RateLimiter | None:
        """`max_rate` for this pull, within the shared `limiter` when there is one."""
        if self.max_rate:
            return RateLimiter(self.max_rate, parent=self.limiter)
        return self.limiter


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

    def work(ctx: PullContext) -> None:
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
    work: Callable[[PullContext], T],
) -> T:
    opts = options or PullOptions()
    label = name.display if isinstance(name, ModelName) else str(name)
    progress = progress if progress is not None else PullProgress(label)
    cancel = cancel if cancel is not None else threading.Event()
    own_registry = registry is None
    client = registry if registry is not None else RegistryClient(insecure=opts.insecure)
    pool = ConnectionPool(timeout=opts.stall_timeout, verify_tls=not client.insecure)
    sources: PullSources | None = None
    try:
        with progress.reporting(f"Pull of {label} failed"):
            parsed = (
                name
                if isinstance(name, ModelName)
                else parse_model_name(name, default_host=opts.default_host)
            )
            sources = PullSources.for_pull(parsed, client, opts)
            ctx = PullContext(
                parsed, store, client, progress, cancel, opts, pool, opts.rate_limiter(), sources
            )
            return work(ctx)
    finally:
        if sources is not None:
            sources.close()
        pool.close()
        if own_registry:
            client.close()


def _pull(ctx: PullContext) -> InstalledModel:
    progress = ctx.progress
    progress.set_state(PullState.RESOLVING, "pulling manifest")
    ctx.check_cancel()
    # As Ollama's PullHandler: each part of the name takes the case already on disk, so the
    # registry is asked for the installed spelling and the new manifest replaces that one.
    ctx.name = ctx.store.existing_name(ctx.name)
    try:
        if ctx.sources is not None:
            raw = ctx.sources.manifest(ctx)
        else:
            raw = ctx.registry.get_manifest(
                ctx.name, on_retry=progress.retrying, cancel=ctx.cancel
            )
    except OperationCancelledError:
        ctx.check_cancel()  # the pull's own cancel sentence
        raise
    manifest = Manifest.parse(raw)
    blobs = manifest.unique_blobs
    progress.set_layers([(b.digest, b.media_type, b.size) for b in blobs])
    # A partial blob names no model: the record lets a later start list this pull by name.
    record_pull(ctx.store, ctx.name, blobs)
    with ctx.store.pin(b.digest for b in blobs):
        _check_disk_space(ctx, blobs)
        progress.set_state(PullState.DOWNLOADING)
        for layer in blobs:
            _fetch_blob(ctx, layer)
        # Each blob was hashed while it arrived and renamed into place only once it matched.
        progress.set_state(PullState.VERIFYING, "verifying sha256 digest")
        ctx.check_cancel()
        progress.set_state(PullState.WRITING, "writing manifest")
        previous = previous_manifest(ctx.store, ctx.name)
        model = ctx.store.write_manifest(ctx.name, raw)
        # As Ollama: the replaced version's blobs nothing uses any more go (OLLAMA_NOPRUNE).
        unused = remove_unused_layers(ctx.store, previous, model)
        if unused.ran:
            progress.unused_layers_removed(REMOVING_STATUS, unused.bytes_freed)
    forget_pull(ctx.store, ctx.name)
    progress.set_state(PullState.DONE, "success")
    return model


def _check_disk_space(ctx: PullContext, blobs: list[Layer]) -> None:
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


def _fetch_blob(ctx: PullContext, layer: Layer) -> None:
    progress = ctx.progress
    if ctx.store.has_blob(layer):
        if ctx.sources is not None:
            progress.set_source(None)  # already here: it came from nowhere this time
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
            if ctx.sources is None or not ctx.sources.fetch_blob(ctx, layer):
                BlobDownload(ctx, layer).run()
        except DigestMismatchError as exc:
            # Bad bytes are never kept: start over once from the registry, then give up.
            _log.info("%s; downloading it again", exc)
            remove_partial(ctx.store.partial_path(layer.digest))
            try:
                BlobDownload(ctx, layer).run()
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
