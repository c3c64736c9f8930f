"""One pass over manifests/: the readable models, the unreadable manifests, every digest named.

The one place that walks manifests/ and decides which blobs a manifest keeps: listing,
removal, cleanup, prune, the storage report and health all read through here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecs_models.errors import ManifestError
from ecs_models.manifest import Manifest, digests_mentioned

if TYPE_CHECKING:
    from ecs_models.store.model_store import InstalledModel, ModelStore

ManifestParts = tuple[str, str, str, str]  # host, namespace, model, tag


@dataclass(frozen=True, slots=True)
class UnreadableManifest:
    path: Path
    name: str  # host/namespace/model/tag as the path says
    reason: str


@dataclass(slots=True)
class StoreScan:
    models: list[InstalledModel] = field(default_factory=list)
    unreadable: list[UnreadableManifest] = field(default_factory=list)
    # Digests any manifest needs; an unreadable one protects every digest its bytes mention.
    referenced: set[str] = field(default_factory=set)


def scan_store(store: ModelStore) -> StoreScan:
    """Read every manifest once (config blobs through the store's per-instance cache)."""
    scan = StoreScan()
    for parts, path in manifest_files(store.manifests_dir):
        try:
            model = store.load_manifest(parts, path)
        except ManifestError as exc:
            scan.unreadable.append(UnreadableManifest(path, "/".join(parts), str(exc)))
            with contextlib.suppress(OSError):
                scan.referenced.update(digests_mentioned(path.read_bytes()))
            continue
        except OSError as exc:
            reason = f"the manifest cannot be read: {exc.strerror or exc}"
            scan.unreadable.append(UnreadableManifest(path, "/".join(parts), reason))
            continue
        scan.models.append(model)
        scan.referenced.update(layer.digest for layer in model.manifest.blobs)
    scan.models.sort(key=lambda m: m.display.lower())
    return scan


def referenced_digests(manifests_dir: Path, *, excluding: Iterable[Path] = ()) -> set[str]:
    """Digests any manifest needs, without reading configs: what removal and prune keep.

    An unreadable manifest protects every digest it mentions, so a manifest we cannot parse
    (a newer Ollama's, a half-edited one) never costs its blobs.
    """
    skip = {p.resolve() for p in excluding}
    refs: set[str] = set()
    for _parts, path in manifest_files(manifests_dir):
        if path.resolve() in skip:
            continue
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        try:
            refs.update(layer.digest for layer in Manifest.parse(raw).blobs)
        except ManifestError:
            refs.update(digests_mentioned(raw))
    return refs


def manifest_files(manifests_dir: Path) -> Iterator[tuple[ManifestParts, Path]]:
    """Files exactly four levels under manifests/, the only ones Ollama lists."""
    for host in _subdirs(manifests_dir):
        for namespace in _subdirs(host):
            for model in _subdirs(namespace):
                with contextlib.suppress(OSError):
                    for tag in os.scandir(model):
                        if tag.is_file(follow_symlinks=False):
                            parts = (host.name, namespace.name, model.name, tag.name)
                            yield parts, Path(tag.path)


def _subdirs(path: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
