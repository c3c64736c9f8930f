"""Docker v2 / OCI image manifests as Ollama writes and reads them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ecs_models.errors import ManifestError

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
# Lists of manifests (per platform, or per runner in Ollama's newer format), not a model.
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.ollama.manifest.list.v2+json",
    }
)
OLLAMA_LAYER_PREFIX = "application/vnd.ollama.image."
MODEL_LAYER_TYPE = OLLAMA_LAYER_PREFIX + "model"
# What we ask registries for; registry.ollama.ai answers text/plain whatever we send.
MANIFEST_ACCEPT = ", ".join((MANIFEST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE))

_DIGEST_RE = re.compile(r"sha256[:-]([0-9a-fA-F]{64})")
_MENTIONED_RE = re.compile(rb"sha256[:-]([0-9a-fA-F]{64})")
# File names in blobs/: a blob, and a download in progress (`-partial`, with Ollama's
# `-partial-N` state of each part). Anything else there is not ours to judge.
BLOB_FILE_RE = re.compile(r"sha256-([0-9a-f]{64})")
PARTIAL_FILE_RE = re.compile(r"sha256-([0-9a-f]{64})-partial(?:-(\d+))?")


def normalize_digest(digest: str) -> str:
    """Return `sha256:<lowercase hex>`; ManifestError when it is not a sha256 digest."""
    match = _DIGEST_RE.fullmatch(digest) if isinstance(digest, str) else None
    if match is None:
        raise ManifestError(f"{str(digest)[:80]!r} is not a sha256 digest.")
    return "sha256:" + match.group(1).lower()


def blob_file_name(digest: str) -> str:
    """The file name Ollama gives a blob: `sha256-<hex>`."""
    return normalize_digest(digest).replace(":", "-")


def digests_mentioned(raw: bytes) -> set[str]:
    """Every sha256 digest written anywhere in `raw`: what an unreadable manifest protects."""
    return {"sha256:" + m.decode().lower() for m in _MENTIONED_RE.findall(raw)}


def unique_layers(layers: Iterable[Layer]) -> list[Layer]:
    """Layers once each by digest, in their first order."""
    seen: dict[str, Layer] = {}
    for layer in layers:
        seen.setdefault(layer.digest, layer)
    return list(seen.values())


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Layer:
    media_type: str
    digest: str
    size: int

    @property
    def kind(self) -> str:
        """Ollama's short layer kind: model, template, params, license, ... or the media type."""
        return self.media_type.removeprefix(OLLAMA_LAYER_PREFIX)


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed manifest that keeps the exact bytes it came from (its ID is their sha256)."""

    raw: bytes
    media_type: str
    config: Layer
    layers: tuple[Layer, ...]

    @property
    def digest(self) -> str:
        return sha256_digest(self.raw)

    @property
    def blobs(self) -> tuple[Layer, ...]:
        """Every blob the manifest needs, in Ollama's download order: layers, then config."""
        return (*self.layers, self.config)

    @property
    def unique_blobs(self) -> list[Layer]:
        """The blobs once each (a layer may repeat), layers first and config last."""
        return unique_layers(self.blobs)

    @property
    def total_size(self) -> int:
        return sum(layer.size for layer in self.blobs)

    def layer_of_kind(self, kind: str) -> Layer | None:
        for layer in self.layers:
            if layer.kind == kind:
                return layer
        return None

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            # UTF-8 only, as Ollama reads it (json.loads would also guess UTF-16 and UTF-32).
            doc = json.loads(raw.decode("utf-8"))
        # ValueError also covers bad UTF-8 and integers too long to convert; RecursionError
        # deep nesting.
        except (ValueError, RecursionError) as exc:
            raise ManifestError(
                f"The manifest is not valid JSON ({exc.__class__.__name__})."
            ) from exc
        if not isinstance(doc, dict):
            raise ManifestError("The manifest is not a JSON object.")
        if doc.get("schemaVersion") != 2:
            raise ManifestError(
                f"The manifest has schemaVersion {str(doc.get('schemaVersion'))[:40]!r}; "
                "only 2 is supported."
            )
        media_type = doc.get("mediaType", MANIFEST_MEDIA_TYPE)
        if not isinstance(media_type, str):
            raise ManifestError("The manifest's media type is not a string.")
        if media_type in INDEX_MEDIA_TYPES or "manifests" in doc:
            raise ManifestError(
                "The manifest is an index (a list of manifests for several platforms or "
                "runners), not a single model's manifest; this version does not handle those."
            )
        if media_type not in (MANIFEST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE):
            raise ManifestError(
                f"The manifest media type {media_type[:100]!r} is not a model image."
            )
        config = _parse_layer(doc.get("config"), "config")
        raw_layers = doc.get("layers")
        if not isinstance(raw_layers, list):
            raise ManifestError("The manifest has no layers list.")
        layers = tuple(_parse_layer(item, f"layer {i}") for i, item in enumerate(raw_layers))
        return cls(raw=raw, media_type=media_type, config=config, layers=layers)


def _parse_layer(item: Any, where: str) -> Layer:
    if not isinstance(item, dict):
        raise ManifestError(f"The manifest's {where} is not an object.")
    media_type = item.get("mediaType")
    size = item.get("size")
    if not isinstance(media_type, str):
        raise ManifestError(f"The manifest's {where} has no media type.")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"The manifest's {where} has an invalid size.")
    return Layer(media_type=media_type, digest=normalize_digest(item.get("digest", "")), size=size)
