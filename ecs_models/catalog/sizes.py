"""Exact download size of a tag before pulling it, and how much of it is already on disk."""

from __future__ import annotations

from dataclasses import dataclass

from ecs_models.manifest import Manifest
from ecs_models.names import ModelName
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore


@dataclass(frozen=True, slots=True)
class DownloadSize:
    """Bytes a pull of one manifest moves: its unique blobs minus those already present."""

    manifest_digest: str
    total: int  # every unique blob of the manifest
    present: int  # of which already in blobs/ (shared with installed models)
    blobs: int
    missing_blobs: int

    @property
    def to_download(self) -> int:
        return self.total - self.present


def size_of_manifest(manifest: Manifest, store: ModelStore | None) -> DownloadSize:
    unique = {layer.digest: layer for layer in manifest.blobs}
    present = [layer for layer in unique.values() if store is not None and store.has_blob(layer)]
    return DownloadSize(
        manifest_digest=manifest.digest,
        total=sum(layer.size for layer in unique.values()),
        present=sum(layer.size for layer in present),
        blobs=len(unique),
        missing_blobs=len(unique) - len(present),
    )


def download_size(
    name: ModelName, client: RegistryClient, store: ModelStore | None = None
) -> DownloadSize:
    """One manifest GET: the exact size, and what the store already holds of it."""
    return size_of_manifest(Manifest.parse(client.get_manifest(name)), store)
