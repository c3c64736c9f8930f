"""Where a pull's bytes come from: the upstream's mirrors in order, then the upstream itself.

The model keeps its canonical name (the manifest is stored under the upstream's host, so
Ollama sees it as pulled directly); only the bytes come from the nearest copy. A mirror is
untrusted:
- its manifest must be the one the upstream names: the upstream is asked for the tag's digest
  with one quick HEAD (no body), and the mirror's answer for the tag must hash to it (a stale
  copy is asked again by that digest). When the upstream does not answer (air-gapped, down),
  the mirror's manifest for the tag is taken after the same checks as any pulled manifest
  (manifest_policy): then the mirror is trusted for which manifest a tag names, never for
  the bytes that manifest names;
- every blob is hashed as always; a blob that does not match is deleted and fetched from the
  next source.
A mirror that is missing something (404), fails or does not answer within `mirror_timeout`
hands over to the next source; one that failed outright is not asked again during the pull.
Each source has its own registry client, and credentials are looked up by each source's own
host, so one host's credentials never go to another.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecs_models.errors import DigestMismatchError, EcsModelsError, ModelNotFoundError, RegistryError
from ecs_models.manifest import Layer, normalize_digest, sha256_digest
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool, RangeNotSupportedError
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient
from ecs_models.registry.mirrors import Mirror, MirrorTable
from ecs_models.transfer.blobdownload import BlobDownload, PullContext
from ecs_models.transfer.partial import remove_partial

if TYPE_CHECKING:
    from ecs_models.transfer.pull import PullOptions

_log = logging.getLogger(__name__)
# A mirror's blob connection that sends nothing for this long is given up (the upstream's own
# stall timeout is longer: it is the last resort).
MIRROR_STALL_S = 10.0
# Tries per part on a mirror before the next source takes over; its partial data is kept.
MIRROR_RETRIES = 2


@dataclass(slots=True)
class _Source:
    mirror: Mirror
    name: ModelName  # the model's address on the mirror
    client: RegistryClient
    pool: ConnectionPool
    down: bool = False  # failed outright: not asked again during this pull


class PullSources:
    """The mirrors of one pull's upstream, asked in order before the upstream."""

    def __init__(
        self,
        upstream: RegistryClient,
        name: ModelName,
        mirrors: Sequence[Mirror],
        options: PullOptions,
    ) -> None:
        self.upstream = upstream
        self.options = options
        stall = min(options.stall_timeout, MIRROR_STALL_S)
        self._sources = [
            _Source(
                mirror,
                mirror.name_for(name),
                # Plain http only where the person wrote http:// (every byte is hashed anyway).
                upstream.sibling(
                    insecure=upstream.insecure or mirror.scheme == "http",
                    timeout=options.mirror_timeout,
                    retries=0,
                ),
                ConnectionPool(timeout=stall, verify_tls=not upstream.insecure),
            )
            for mirror in mirrors
        ]
        self._blob_options = dataclasses.replace(
            options,
            retries=min(options.retries, MIRROR_RETRIES),
            max_stalls=min(options.max_stalls, 1),
            stall_timeout=stall,
        )
        self._first = 0  # blobs are asked of the mirrors from the one that served the manifest

    @classmethod
    def for_pull(
        cls, name: ModelName, upstream: RegistryClient, options: PullOptions
    ) -> PullSources | None:
        """The sources of a pull of `name`, or None when its host has no mirrors (or the pull
        skips them). Reads the config when the options carry no table."""
        table = options.mirrors if options.mirrors is not None else MirrorTable.from_environment()
        mirrors = table.for_host(name.host)
        return cls(upstream, name, mirrors, options) if mirrors else None

    def close(self) -> None:
        for source in self._sources:
            source.pool.close()
            source.client.close()

    # -- the manifest ----------------------------------------------------------------------
    def manifest(self, ctx: PullContext) -> bytes:
        """The manifest's exact bytes from the first mirror that serves the right one, else
        from the upstream."""
        pinned = self._upstream_digest(ctx.name)
        for index, source in enumerate(self._sources):
            ctx.check_cancel()
            try:
                raw = self._mirror_manifest(source, ctx.name, pinned)
            except (EcsModelsError, OSError) as exc:
                after = _next_label(self._sources[index + 1 :], ctx.name)
                ctx.progress.set_source(after, _handover(source, "the manifest", exc, after))
                continue
            self._first = index
            ctx.progress.set_source(source.mirror.label)
            return raw
        self._first = len(self._sources)
        return ctx.registry.get_manifest(
            ctx.name, on_retry=ctx.progress.retrying, cancel=ctx.cancel
        )

    def _upstream_digest(self, name: ModelName) -> str | None:
        """The digest the upstream gives the tag, asked once without retries; None when it
        does not answer in time or does not say."""
        quick = self.upstream.sibling(timeout=self.options.mirror_timeout, retries=0)
        try:
            announced = quick.manifest_digest(name)
            return normalize_digest(announced) if announced else None
        except EcsModelsError as exc:
            _log.info("the upstream did not give the digest of %s: %s", name.display, exc)
            return None
        finally:
            quick.close()

    @staticmethod
    def _mirror_manifest(source: _Source, name: ModelName, pinned: str | None) -> bytes:
        """Asked by tag first: a pull-through cache then learns the tag, and can answer it
        once the upstream is out of reach. A stale copy is asked again by the pinned digest."""
        try:
            raw = source.client.fetch_manifest(source.name).raw
            if pinned is None or sha256_digest(raw) == pinned:
                return raw
        except ModelNotFoundError:
            if pinned is None:
                raise
        raw = source.client.fetch_manifest(source.name, reference=pinned).raw
        if sha256_digest(raw) != pinned:
            raise DigestMismatchError(
                f"{source.mirror.label} sent a manifest for {name.display} whose sha256 is not "
                f"{pinned[7:19]}, the one {name.host} names."
            )
        return raw

    # -- blobs -------------------------------------------------------------------------------
    def fetch_blob(self, ctx: PullContext, layer: Layer) -> bool:
        """Download a blob from the first mirror that has a good copy; False when none did
        and the upstream must serve it (any partial data they left is kept for it)."""
        candidates = [s for s in self._sources[self._first :] if not s.down]
        for index, source in enumerate(candidates):
            ctx.check_cancel()
            ctx.progress.set_source(source.mirror.label)
            ranges = BlobRanges(source.client, source.pool, source.name, layer.digest)
            mirror_ctx = dataclasses.replace(ctx, options=self._blob_options)
            try:
                BlobDownload(mirror_ctx, layer, ranges=ranges).run()
                return True
            except DigestMismatchError as exc:
                remove_partial(ctx.store.partial_path(layer.digest))  # its bytes are not kept
                error: Exception = exc
            except (ModelNotFoundError, RangeNotSupportedError) as exc:
                error = exc  # not there, or not stored yet (a cache still fetching it)
            except RegistryError as exc:
                source.down = True
                error = exc
            after = _next_label(candidates[index + 1 :], ctx.name)
            what = f"blob {layer.digest[7:19]}"
            ctx.progress.set_source(after, _handover(source, what, error, after))
        ctx.progress.set_source(ctx.name.host)
        return False


def _next_label(rest: Sequence[_Source], name: ModelName) -> str:
    return rest[0].mirror.label if rest else name.host


def _handover(source: _Source, what: str, error: BaseException, after: str) -> str:
    """One line for progress: why a mirror was passed over, and who serves it instead."""
    label = source.mirror.label
    if isinstance(error, ModelNotFoundError):
        why = f"has no copy of {what}"
    elif isinstance(error, RangeNotSupportedError):
        why = f"has not stored {what} yet"
    elif isinstance(error, DigestMismatchError):
        why = f"sent a copy of {what} that does not match its sha256 digest"
    else:
        why = f"failed ({str(error).strip().rstrip('.') or error.__class__.__name__})"
    _log.info("mirror %s %s: %s", label, why, error)
    return f"{label} {why}; it comes from {after}"
