"""The GGUF header of a model still in its registry, fetched with ranged GETs before download."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ecs_models.errors import EcsModelsError
from ecs_models.gguf.reader import GGUFError, GGUFInfo, NeedMoreBytes, read_gguf_info_bytes
from ecs_models.manifest import Layer, Manifest
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient
from ecs_models.transfer.rangeread import read_range

FIRST_RANGE = 256 << 10
MIN_STEP = 512  # the parser's own estimate of the rest decides; this only rules out a crawl
MAX_HEADER = 512 << 20  # no real GGUF header comes near this: stop instead of downloading it all
MAX_REQUESTS = 64


@dataclass(frozen=True, slots=True)
class RemoteHeader:
    """A remote model's GGUF facts and what fetching them cost."""

    name: ModelName
    manifest: Manifest
    model_layer: Layer
    info: GGUFInfo
    bytes_transferred: int  # body bytes of the blob's ranged GETs (the manifest not counted)
    requests: int
    seconds: float

    @property
    def weights_bytes(self) -> int:
        """Model blob plus vision/audio projectors: what a runtime loads as weights."""
        return self.model_layer.size + sum(
            layer.size for layer in self.manifest.layers if layer.kind == "projector"
        )


def model_layer(manifest: Manifest, name: ModelName) -> Layer:
    layer = manifest.layer_of_kind("model")
    if layer is None:
        raise EcsModelsError(f"{name.display} has no GGUF model layer to read a header from.")
    return layer


def fetch_remote_header(
    name: ModelName,
    registry: RegistryClient,
    *,
    manifest: Manifest | None = None,
    shape_only: bool = False,
    pool: ConnectionPool | None = None,
    first_range: int = FIRST_RANGE,
) -> RemoteHeader:
    """Read the model blob's GGUF header with ranged GETs that grow until it parses.

    Each request asks only for bytes not fetched yet; the next range comes from what the parser
    says it needs (the rest of a string array or of the tensor table, estimated from the part
    already seen), so the total stays close to the header's own size. The ranges are read with
    the pull's engine (rangeread): retries, and more streams or a fresh connection on a slow
    link.
    """
    from ecs_models.transfer.blobdownload import fetch_settings
    from ecs_models.transfer.pull import PullOptions

    settings = fetch_settings(PullOptions())
    started = time.monotonic()
    if manifest is None:
        manifest = Manifest.parse(registry.get_manifest(name))
    layer = model_layer(manifest, name)
    own_pool = pool is None
    pool = pool or ConnectionPool(timeout=registry.timeout, verify_tls=not registry.insecure)
    ranges = BlobRanges(registry, pool, name, layer.digest)
    buffer = bytearray()
    want = min(first_range, layer.size)
    requests = 0
    try:
        while True:
            if want > len(buffer):
                requests += 1
                chunk = read_range(ranges, len(buffer), want - 1, settings=settings)
                if not chunk:
                    raise GGUFError(
                        f"{name.host} sent no bytes of the model blob of {name.display}."
                    )
                buffer += chunk
            try:
                info = read_gguf_info_bytes(buffer, shape_only=shape_only)
            except NeedMoreBytes as exc:
                want = _next_size(exc, len(buffer), layer.size, name, requests)
                continue
            return RemoteHeader(
                name=name,
                manifest=manifest,
                model_layer=layer,
                info=info,
                bytes_transferred=len(buffer),
                requests=requests,
                seconds=time.monotonic() - started,
            )
    finally:
        if own_pool:
            pool.close()


def _next_size(
    exc: NeedMoreBytes, have: int, blob_size: int, name: ModelName, requests: int
) -> int:
    if exc.required > blob_size:
        raise GGUFError(
            f"The model blob of {name.display} is not a complete GGUF file: its header claims "
            f"{exc.required} bytes but the blob has {blob_size}."
        )
    if exc.required > MAX_HEADER or requests >= MAX_REQUESTS:
        raise GGUFError(
            f"The GGUF header of {name.display} is larger than {MAX_HEADER >> 20} MiB; "
            "refusing to fetch more of it before download."
        )
    return min(blob_size, max(exc.hint, exc.required, have + MIN_STEP))
