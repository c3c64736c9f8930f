"""One entity per installed model, carrying its metadata."""

from __future__ import annotations

from dataclasses import dataclass

from ecs_models.app.config import ModelMetadata


@dataclass(slots=True)
class InstalledModelEntry:
    """Marks an installed model's entity; `metadata` is what the list and details show."""

    metadata: ModelMetadata
