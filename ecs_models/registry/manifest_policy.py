"""What a manifest from a registry must be before anything it names is downloaded.

Anyone can type any host, so the registry may be an attacker. These checks bound what a
manifest can make us hold in memory or write to disk and refuse what is not an Ollama model.
They apply to manifests fetched from a registry; manifests already in the store are read as
tolerantly as Ollama reads them (unknown layer types are kept and ignored).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ecs_models.errors import ManifestError
from ecs_models.manifest import (
    CONFIG_MEDIA_TYPE,
    OCI_CONFIG_MEDIA_TYPE,
    OLLAMA_LAYER_PREFIX,
    Manifest,
)
from ecs_models.registry.bounded_body import MIB, human_limit

# The OCI distribution spec lets registries refuse larger manifests and containerd will not
# read one past this; an Ollama manifest is about 1 KiB.
MANIFEST_LIMIT = 4 * MIB
# Config blobs are parsed whole in memory (model details, health checks); Ollama's are < 1 KiB.
CONFIG_LIMIT = 4 * MIB
# A GGUF model has a handful of layers; a safetensors model one per tensor (about 1,200 for a
# 405B model). Each layer costs a lock file, a progress row and a request.
LAYER_LIMIT = 10_000
# Ollama reads sizes as int64: a larger one would make the stored manifest unreadable to it.
_MAX_BLOB_SIZE = (1 << 63) - 1
IMAGE_CONFIG_TYPES = frozenset({CONFIG_MEDIA_TYPE, OCI_CONFIG_MEDIA_TYPE})
# RFC 6838 as the OCI image spec writes it: also keeps terminal escapes out of `show`.
_MEDIA_TYPE_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


def check_pulled_manifest(manifest: Manifest, host: str) -> None:
    """Raise ManifestError (naming the rule broken) unless the manifest is safe to pull."""
    source = f"The manifest from {host}"
    repeated = _repeated_key(manifest.raw)
    if repeated is not None:
        # Go's JSON decoder matches keys case-insensitively and keeps the last: Ollama would
        # read other layers than the ones we check and download.
        raise ManifestError(f"{source} repeats the key {repeated[:40]!r}; refusing it.")
    config = manifest.config
    for layer in manifest.blobs:
        if _MEDIA_TYPE_RE.fullmatch(layer.media_type) is None:
            raise ManifestError(
                f"{source} has a malformed media type {layer.media_type[:60]!r}; refusing it."
            )
    if config.media_type not in IMAGE_CONFIG_TYPES:
        raise ManifestError(
            f"{source} has config media type {config.media_type!r}, not an image config "
            "(this is not a model); refusing it."
        )
    if config.size > CONFIG_LIMIT:
        raise ManifestError(
            f"{source} declares a config blob of {config.size} bytes, more than the "
            f"{human_limit(CONFIG_LIMIT)} limit; refusing it."
        )
    if len(manifest.layers) > LAYER_LIMIT:
        raise ManifestError(
            f"{source} lists {len(manifest.layers):,} layers, more than the limit of "
            f"{LAYER_LIMIT:,}; refusing it."
        )
    if not any(layer.media_type.startswith(OLLAMA_LAYER_PREFIX) for layer in manifest.layers):
        raise ManifestError(
            f"{source} has no Ollama layer ({OLLAMA_LAYER_PREFIX}*), so it is not an Ollama "
            "model; refusing it."
        )
    sizes: dict[str, int] = {}
    for layer in manifest.blobs:
        if layer.size > _MAX_BLOB_SIZE:
            raise ManifestError(
                f"{source} declares a blob of {layer.size} bytes, more than any file can "
                "hold; refusing it."
            )
        if sizes.setdefault(layer.digest, layer.size) != layer.size:
            raise ManifestError(
                f"{source} lists blob {layer.digest[7:19]} twice with different sizes; refusing it."
            )


def _repeated_key(raw: bytes) -> str | None:
    """The first key an object of the document repeats, compared as Go compares them."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in items:
            folded = key.casefold()
            if folded in seen and not found:
                found.append(key)
            seen.add(folded)
        return dict(items)

    json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)  # Manifest.parse read it already
    return found[0] if found else None
