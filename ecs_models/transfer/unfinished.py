"""Pulls that did not finish: remembered in the store's state dir, found again at start-up.

A partial blob (`blobs/sha256-<hex>-partial`) names only a blob, never the model it was for.
So a pull writes `.ecs-models/pulls/<key>.json` (the model's name and its blobs) as soon as
its manifest is known, and deletes it once the manifest is written. Whatever is left there,
and any partial blob no record explains (Ollama's, or one of ours from before the records),
is an unfinished download the window lists as paused. Pulling the name again resumes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ecs_models.manifest import PARTIAL_FILE_RE, Layer
from ecs_models.names import ModelName, parse_model_name
from ecs_models.store.cleanup import being_downloaded
from ecs_models.store.model_store import ModelStore
from ecs_models.store.scan import scan_store
from ecs_models.transfer.partial import load_parts

PULLS_DIR = "pulls"


@dataclass(frozen=True, slots=True)
class UnfinishedPull:
    """A download found on disk: the model (when known), its blobs and the bytes already here."""

    name: str | None  # the full model name; None when only a partial blob is known
    blobs: tuple[tuple[str, int], ...]  # (digest, size) of every blob the pull needs
    present: int  # complete blobs plus the completed parts of partial ones
    record: Path | None  # the record that named it, deleted when it is discarded

    @property
    def total(self) -> int:
        return sum(size for _, size in self.blobs)

    @property
    def digests(self) -> tuple[str, ...]:
        return tuple(digest for digest, _ in self.blobs)


def record_path(store: ModelStore, name: ModelName) -> Path:
    # Names are case-insensitive (as Ollama matches them): one record per model either way.
    key = hashlib.sha256(str(ModelName(*name.match_key)).encode()).hexdigest()[:32]
    return store.state_dir / PULLS_DIR / f"{key}.json"


def record_pull(store: ModelStore, name: ModelName, blobs: Iterable[Layer]) -> None:
    """Remember that `name` is being pulled and which blobs it needs (atomic, best effort)."""
    path = record_path(store, name)
    doc = {
        "name": str(name),
        "blobs": [{"digest": b.digest, "size": b.size} for b in blobs],
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    # A record that cannot be written costs only the name in tomorrow's downloads list.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)


def forget_pull(store: ModelStore, name: ModelName) -> None:
    """The pull finished, or its partial download was discarded: drop its record."""
    with contextlib.suppress(OSError):
        record_path(store, name).unlink()


def find_unfinished(store: ModelStore) -> list[UnfinishedPull]:
    """Unfinished downloads: recorded pulls with bytes on disk, then partial blobs no record
    explains (named after an installed model that needs the blob, when one does). Pulls
    running right now (their blob locks held, here or in another process) are left out;
    records of pulls that finished elsewhere or left nothing behind are deleted."""
    found: list[UnfinishedPull] = []
    explained: set[str] = set()
    for path, name, blobs in _records(store):
        explained.update(digest for digest, _ in blobs)
        if any(being_downloaded(store, digest) for digest, _ in blobs):
            continue
        present, partials = _present(store, blobs)
        installed = store.manifest_path(name).is_file()
        if not partials and (installed or present == 0):
            forget_pull(store, name)  # finished (by us, Ollama or the CLI) or never started
            continue
        found.append(UnfinishedPull(str(name), blobs, present, path))
    orphans = [
        digest
        for digest in _partial_digests(store)
        if digest not in explained and not being_downloaded(store, digest)
    ]
    if orphans:
        owners = _owners(store, orphans)
        for digest in orphans:
            size = _size(store.partial_path(digest))
            if _size(store.blob_path(digest)) == size:
                continue  # the blob is complete: that partial is litter for cleanup
            present, _ = _present(store, ((digest, size),))
            found.append(UnfinishedPull(owners.get(digest), ((digest, size),), present, None))
    return found


def _records(store: ModelStore) -> list[tuple[Path, ModelName, tuple[tuple[str, int], ...]]]:
    records = []
    with contextlib.suppress(OSError):
        for path in sorted((store.state_dir / PULLS_DIR).glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                name = parse_model_name(str(doc["name"]))
                blobs = tuple((str(b["digest"]), int(b["size"])) for b in doc["blobs"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not ours to judge; cleanup reports stray files
            records.append((path, name, blobs))
    return records


def _present(store: ModelStore, blobs: Iterable[tuple[str, int]]) -> tuple[int, bool]:
    """(bytes on disk, whether any blob has a partial download)."""
    present = 0
    partials = False
    for digest, size in blobs:
        if _size(store.blob_path(digest)) == size:
            present += size
            continue
        partial = store.partial_path(digest)
        if partial.exists():
            partials = True
            parts = load_parts(partial, size)
            present += sum(p.completed for p in parts) if parts else 0
    return present, partials


def _partial_digests(store: ModelStore) -> list[str]:
    digests = []
    with contextlib.suppress(OSError), os.scandir(store.blobs_dir) as entries:
        for entry in entries:
            match = PARTIAL_FILE_RE.fullmatch(entry.name)
            if match is not None and match.group(2) is None:  # the data file, not its state
                digests.append("sha256:" + match.group(1))
    return sorted(digests)


def _owners(store: ModelStore, digests: list[str]) -> dict[str, str]:
    """An installed model that needs each blob: pulling it again completes a repair."""
    wanted = set(digests)
    owners: dict[str, str] = {}
    for model in scan_store(store).models:
        for layer in model.manifest.blobs:
            if layer.digest in wanted:
                owners.setdefault(layer.digest, str(model.name))
    return owners


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
