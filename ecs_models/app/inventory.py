"""Reads the installed models for the ECS: a worker-side scan turning the store into metadata."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecs_models.app.config import ModelData, ModelMetadata
from ecs_models.store.model_store import InstalledModel, ModelStore


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    metadata: ModelMetadata
    data: ModelData


def _last_used(store: ModelStore, model: InstalledModel) -> dt.datetime | None:
    # Ollama keeps no usage log; a runner mmaps the largest blob, so its access time is the
    # best local evidence of the last use (relatime updates it at least daily).
    layers = model.manifest.layers
    if not layers:
        return None
    largest = max(layers, key=lambda layer: layer.size)
    try:
        atime = store.blob_path(largest.digest).stat().st_atime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(atime, tz=dt.UTC)


def metadata_of(store: ModelStore, model: InstalledModel) -> ModelMetadata:
    """Metadata of one installed model; stats one blob, so call it off the UI thread."""
    details = model.details
    return ModelMetadata(
        name=str(model.name),
        display=model.display,
        digest=model.digest,
        model_id=model.id,
        size=model.size,
        modified=model.modified,
        family=details.family,
        parameter_size=details.parameter_size,
        quantization=details.quantization_level,
        format=details.format,
        layer_count=len(model.manifest.layers),
        last_used=_last_used(store, model),
        blobs=tuple((blob.digest, blob.size) for blob in model.manifest.unique_blobs),
    )


def entry_of(store: ModelStore, model: InstalledModel) -> InventoryEntry:
    return InventoryEntry(
        metadata=metadata_of(store, model),
        data=ModelData(name=str(model.name), manifest=model.manifest.raw),
    )


def scan_inventory(store: ModelStore) -> list[InventoryEntry]:
    """Every installed model with its metadata: a disk scan, for the thread pool only."""
    return [entry_of(store, model) for model in store.list_models()]
