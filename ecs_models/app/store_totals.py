"""The installed models' bytes for the status bar: on disk (each shared blob once) and logical.

150 tags of one model share one blob: their sizes add up to 38 GB while the disk holds 253 MB.
Showing only the sum would mislead, so both figures are shown when they differ.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecs_models.app.config import ModelMetadata
from ecs_models.formatting import human_bytes


def on_disk_bytes(models: Iterable[ModelMetadata]) -> int:
    """Bytes of the blobs the models need, each digest counted once."""
    sizes: dict[str, int] = {}
    for model in models:
        sizes.update(model.blobs)
    return sum(sizes.values())


def totals_text(models: Iterable[ModelMetadata]) -> str:
    """'150 models: 253 MB on disk, 38.0 GB if unshared', or '6 models, 1.2 GB' unshared."""
    listed = list(models)
    count = f"{len(listed)} model{'s' if len(listed) != 1 else ''}"
    logical = sum(m.size for m in listed)
    # A model read before its blobs were listed counts its own size on disk.
    disk = on_disk_bytes(listed) + sum(m.size for m in listed if not m.blobs)
    if disk >= logical:
        return f"{count}, {human_bytes(logical)}"
    return f"{count}: {human_bytes(disk)} on disk, {human_bytes(logical)} if unshared"
