"""One pass over manifests/: the readable models, the unreadable manifests, every digest named."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ecs_models.errors import ManifestError
from ecs_models.store.model_store import InstalledModel, ModelStore

_HEX_DIGEST_RE = re.compile(rb"sha256[:-]([0-9a-fA-F]{64})")


@dataclass(frozen=True, slots=True)
class UnreadableManifest:
    path: Path
    name: str  # host/namespace/model/tag as the path says
    reason: str


@dataclass(slots=True)
class StoreScan:
    models: list[InstalledModel] = field(default_factory=list)
    unreadable: list[UnreadableManifest] = field(default_factory=list)
    # Digests any manifest needs; an unreadable one protects every digest its bytes mention,
    # as ModelStore.referenced_digests does.
    referenced: set[str] = field(default_factory=set)


def scan_store(store: ModelStore) -> StoreScan:
    """Read every manifest once (config blobs through the store's per-instance cache)."""
    scan = StoreScan()
    for parts, path in store._manifest_files():
        try:
            model = store._load(parts, path)
        except ManifestError as exc:
            scan.unreadable.append(UnreadableManifest(path, "/".join(parts), str(exc)))
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            scan.referenced.update(
                "sha256:" + m.decode().lower() for m in _HEX_DIGEST_RE.findall(raw)
            )
            continue
        except OSError as exc:
            reason = f"the manifest cannot be read: {exc.strerror or exc}"
            scan.unreadable.append(UnreadableManifest(path, "/".join(parts), reason))
            continue
        scan.models.append(model)
        scan.referenced.update(layer.digest for layer in model.manifest.blobs)
    scan.models.sort(key=lambda m: m.display.lower())
    return scan
