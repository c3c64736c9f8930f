"""Ollama's "removing unused layers": after a re-pull writes a tag's new manifest, the blobs of
the old version that nothing uses any more are deleted (server/images.go, PullModel).

As in Ollama this is skipped when `OLLAMA_NOPRUNE` is set. Beyond Ollama, a pinned model
(store/history.py) keeps its old blobs, and so does any blob an operation in flight has pinned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ecs_models.errors import EcsModelsError
from ecs_models.manifest import Manifest
from ecs_models.names import ModelName
from ecs_models.store.history import is_pinned, pinned_models
from ecs_models.store.model_store import BlobRef, InstalledModel, ModelStore
from ecs_models.store.scan import referenced_digests

NOPRUNE_ENV = "OLLAMA_NOPRUNE"
# The status Ollama's /api/pull stream sends for this step.
REMOVING_STATUS = "removing unused layers"
# Go's strconv.ParseBool false values; anything else that is set (even unparsable) means true.
_GO_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def no_prune(environ: Mapping[str, str] | None = None) -> bool:
    """Ollama's envconfig.NoPrune: `OLLAMA_NOPRUNE`, trimmed of spaces and quotes, set to
    anything but a Go false value (an unparsable value counts as set, as in Ollama)."""
    env = os.environ if environ is None else environ
    value = env.get(NOPRUNE_ENV, "").strip().strip("\"'")
    return bool(value) and value not in _GO_FALSE


@dataclass(frozen=True, slots=True)
class UnusedLayers:
    """What a re-pull did with the blobs of the version it replaced."""

    # Blobs of the old version the new one does not name: what Ollama considers deleting.
    candidates: tuple[str, ...] = ()
    removed: tuple[BlobRef, ...] = ()
    # Why none were deleted although some were candidates: OLLAMA_NOPRUNE, a pin.
    kept_because: str | None = None

    @property
    def bytes_freed(self) -> int:
        return sum(blob.size for blob in self.removed)

    @property
    def ran(self) -> bool:
        """True when Ollama would have said "removing unused layers" for this pull."""
        return bool(self.candidates) and self.kept_because is None


def previous_manifest(store: ModelStore, name: ModelName) -> Manifest | None:
    """The manifest installed under `name` (any case) before a pull replaces it; None when
    there is none or it is unreadable (Ollama then has nothing to clean up either)."""
    try:
        return store.resolve(name).manifest
    except (EcsModelsError, OSError):
        return None


def remove_unused_layers(
    store: ModelStore,
    previous: Manifest | None,
    model: InstalledModel,
    *,
    environ: Mapping[str, str] | None = None,
) -> UnusedLayers:
    """Delete the blobs of `previous` that `model` (just written over it) and every other
    manifest no longer need. Call it once the new manifest is written."""
    if previous is None:
        return UnusedLayers()
    current = {layer.digest for layer in model.manifest.blobs}
    candidates = tuple(
        dict.fromkeys(layer.digest for layer in previous.blobs if layer.digest not in current)
    )
    if not candidates:
        return UnusedLayers()
    if no_prune(environ):
        return UnusedLayers(candidates, kept_because=f"{NOPRUNE_ENV} is set")
    pinned = _pinned_because(store, model.name, previous)
    if pinned is not None:
        return UnusedLayers(candidates, kept_because=pinned)
    removed: list[BlobRef] = []
    # Under the store lock, as `rm` deletes: no manifest can appear meanwhile, and pins taken
    # by pulls already in flight are read again here.
    with store.lock():
        keep = referenced_digests(store.manifests_dir) | store.pinned_digests()
        for digest in candidates:
            if digest in keep:
                continue
            path = store.blob_path(digest)
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(BlobRef(digest, size, path))
    return UnusedLayers(candidates, tuple(removed))


def _pinned_because(store: ModelStore, name: ModelName, previous: Manifest) -> str | None:
    """Why a pin keeps the old version's blobs, or None when nothing pins them."""
    try:
        if is_pinned(store, name):
            return f"{name.display} is pinned"
        if any(pin.digest == previous.digest for pin in pinned_models(store).values()):
            return "another name pins the old version"
    except (EcsModelsError, ValueError, KeyError):
        return "the pins file cannot be read"  # keeping the blobs is the safe side
    return None
