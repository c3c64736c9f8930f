"""What Ollama's /api/tags answers for the installed models, and `ollama list`'s order and filter.

Each entry is the model's ListModelResponse: name, model, modified_at, size, digest, then
`capabilities` and `details` with `context_length` and `embedding_length` when known. Those
come from the GGUF header read only up to the tokenizer arrays (where llama.cpp and Ollama write
the keys they need), so listing a thousand models reads kilobytes of each, not its vocabulary;
results are kept per manifest digest (TagsCache) so a second listing opens no model file.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecs_models.gguf.reader import GGUFError, MetadataValue, read_header
from ecs_models.show.capabilities import arch_key, model_capabilities
from ecs_models.show.facts import add_lengths, read_texts
from ecs_models.store.model_store import InstalledModel, ModelStore

CACHE_FILE = "tags-cache.json"
# Entries for models no longer installed are dropped once the cache holds this many.
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class TagsFacts:
    """What an /api/tags entry needs beyond the manifest and config: from the GGUF header."""

    capabilities: tuple[str, ...]
    context_length: int | None = None
    embedding_length: int | None = None
    remote_model: str = ""  # a remote (cloud) model's config names where it runs
    remote_host: str = ""
    cacheable: bool = True  # False when the model file could not be read (it may be repaired)

    def to_json(self) -> dict[str, Any]:
        return {
            "capabilities": list(self.capabilities),
            "context_length": self.context_length,
            "embedding_length": self.embedding_length,
            "remote_model": self.remote_model,
            "remote_host": self.remote_host,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TagsFacts:
        def length(key: str) -> int | None:
            value = doc.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        capabilities = doc.get("capabilities")
        if not isinstance(capabilities, list):
            raise ValueError("capabilities is not a list")
        return cls(
            tuple(str(c) for c in capabilities),
            length("context_length"),
            length("embedding_length"),
            _text(doc.get("remote_model")),
            _text(doc.get("remote_host")),
        )


def newest_first(models: Iterable[InstalledModel]) -> list[InstalledModel]:
    """ListHandler's order: most recently modified first, by whole seconds as Ollama compares
    them; models modified in the same second by name, where Ollama's order is a map's."""
    by_name = sorted(models, key=lambda m: m.display.lower())
    return sorted(by_name, key=lambda m: m.modified_ns // 1_000_000_000, reverse=True)


def matching_prefix(models: Iterable[InstalledModel], prefix: str | None) -> list[InstalledModel]:
    """`ollama list PREFIX`: the models whose shown name starts with it, ignoring case."""
    if not prefix:
        return list(models)
    folded = prefix.lower()
    return [m for m in models if m.display.lower().startswith(folded)]


def tags_facts(store: ModelStore, model: InstalledModel) -> TagsFacts:
    """Capabilities as show derives them, and the context and embedding lengths; reads the
    config, the text layers and the model file's header up to its tokenizer."""
    config = store.read_config(model)
    layers = model.manifest.layers
    model_layer = next((layer for layer in layers if layer.kind == "model"), None)
    metadata: dict[str, MetadataValue] | None = None
    cacheable = True
    if model_layer is not None:
        try:
            metadata = _header_metadata(store.blob_path(model_layer.digest))
        except GGUFError:
            cacheable = False
    capabilities = model_capabilities(
        metadata=metadata,
        template=read_texts(store, model).template,
        projector_count=sum(1 for layer in layers if layer.kind == "projector"),
        config=config,
    )
    lengths: dict[str, Any] = {}
    add_lengths(lengths, metadata or {})
    return TagsFacts(
        tuple(capabilities),
        lengths.get("context_length"),
        lengths.get("embedding_length"),
        _text(config.get("remote_model")),
        _text(config.get("remote_host")),
        cacheable,
    )


def _header_metadata(path: Path) -> dict[str, MetadataValue]:
    """The header's keys up to the tokenizer arrays; all of them (arrays stepped over) when the
    architecture's keys come after the tokenizer, as they rarely do."""
    header = read_header(path, shape_only=True)
    metadata = header.metadata
    key = arch_key(metadata, "context_length")
    if not header.complete and (key is None or key not in metadata):
        metadata = read_header(path, array_limit=0).metadata
    return metadata


def tags_entry(model: InstalledModel, facts: TagsFacts) -> dict[str, Any]:
    """One entry of /api/tags' "models", its keys in ListModelResponse's order."""
    base = model.to_api_dict()
    entry: dict[str, Any] = {"name": base["name"], "model": base["model"]}
    if facts.remote_model:
        entry["remote_model"] = facts.remote_model
    if facts.remote_host:
        entry["remote_host"] = facts.remote_host
    for key in ("modified_at", "size", "digest"):
        entry[key] = base[key]
    if facts.capabilities:
        entry["capabilities"] = list(facts.capabilities)
    details = base["details"]
    if facts.context_length:
        details["context_length"] = facts.context_length
    if facts.embedding_length:
        details["embedding_length"] = facts.embedding_length
    entry["details"] = details
    return entry


def api_tags(
    store: ModelStore, models: Sequence[InstalledModel], *, cache: TagsCache | None = None
) -> dict[str, Any]:
    """/api/tags' document for these models, in the order given."""
    cache = cache if cache is not None else TagsCache(store)
    entries = []
    for model in models:
        facts = cache.get(model)
        if facts is None:
            facts = tags_facts(store, model)
            cache.put(model, facts)
        entries.append(tags_entry(model, facts))
    cache.save(keep=[model.digest for model in models])
    return {"models": entries}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class TagsCache:
    """TagsFacts per manifest digest, in the store's state dir: a manifest digest names every
    blob of the model, so an entry stays true for as long as that manifest exists."""

    def __init__(self, store: ModelStore) -> None:
        self.path = store.state_dir / CACHE_FILE
        self._lock = threading.Lock()
        self._entries: dict[str, TagsFacts] = {}
        self._dirty = False
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            doc = {}  # missing or damaged: it is only a cache
        for digest, value in doc.items() if isinstance(doc, dict) else ():
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                self._entries[digest] = TagsFacts.from_json(value)

    def get(self, model: InstalledModel) -> TagsFacts | None:
        with self._lock:
            return self._entries.get(model.digest)

    def put(self, model: InstalledModel, facts: TagsFacts) -> None:
        if not facts.cacheable:
            return
        with self._lock:
            self._entries[model.digest] = facts
            self._dirty = True

    def save(self, keep: Sequence[str] = ()) -> None:
        """Write the cache if it changed (atomically; a failure only costs the next listing).

        Past _CACHE_LIMIT entries, only those of `keep` (the models listed) stay.
        """
        with self._lock:
            if len(self._entries) > _CACHE_LIMIT:
                wanted = set(keep)
                self._entries = {d: f for d, f in self._entries.items() if d in wanted}
                self._dirty = True
            if not self._dirty:
                return
            doc = {digest: facts.to_json() for digest, facts in self._entries.items()}
            self._dirty = False
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(doc, separators=(",", ":")), "utf-8")
            os.replace(tmp, self.path)
