"""The model cache: an LRU cache sized in bytes whose eviction unloads a loaded model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from cachetools import Cache, LRUCache


class RuntimeHandle(Protocol):
    """A model loaded by a runtime; unload() frees it (called once, on any thread it allows)."""

    def unload(self) -> None: ...


class CacheEntry(Protocol):
    """What the cache needs of its values (config.ModelData meets it)."""

    @property
    def manifest(self) -> bytes: ...

    @property
    def runtime(self) -> Any: ...


Entry = TypeVar("Entry", bound=CacheEntry)


def unload_now(handle: RuntimeHandle) -> None:
    handle.unload()


class ModelCache(LRUCache[str, Entry]):
    """LRUCache whose removal of a loaded entry (eviction, pop, del, clear) unloads its handle.

    `unloader` decides where unloading happens: at once by default; the app hands it to the
    runtime worker so freeing a model never stalls a frame and never races a benchmark.
    Replacing an entry with the same manifest keeps the loaded handle: an inventory rescan
    refreshes metadata without unloading what the person loaded.
    """

    def __init__(self, maxsize: int, getsizeof: Callable[[Entry], int] | None = None) -> None:
        super().__init__(maxsize, getsizeof)
        self.unloader: Callable[[RuntimeHandle], None] = unload_now
        self.evicted: list[str] = []  # names unloaded by eviction, newest last (bounded)
        self.version = 0  # grows on every change, so a UI can compare one number per frame

    def __setitem__(self, key: str, value: Entry) -> None:
        old = self.get_quiet(key)
        if old is not None and old.runtime is not None and old.runtime is not value.runtime:
            if value.runtime is None and old.manifest == value.manifest:
                value = _carry_over(old, value)
            else:
                self.unloader(old.runtime)
        super().__setitem__(key, value)
        self.version += 1

    def __delitem__(self, key: str) -> None:
        old = self.get_quiet(key)
        super().__delitem__(key)
        self.version += 1
        if old is not None and old.runtime is not None:
            self.unloader(old.runtime)

    def popitem(self) -> tuple[str, Entry]:
        key, value = super().popitem()
        if value.runtime is not None:
            self.evicted = [*self.evicted[-15:], key]
        return key, value

    def clear(self) -> None:
        # LRUCache.clear bypasses __delitem__: unload explicitly.
        handles = [v.runtime for v in self.values() if v.runtime is not None]
        super().clear()
        self.version += 1
        for handle in handles:
            self.unloader(handle)

    def get_quiet(self, key: str) -> Entry | None:
        """The entry without touching its recency."""
        if key not in self:
            return None
        # Cache.__getitem__ skips LRUCache's move-to-end: looking is not using.
        value: Entry = Cache.__getitem__(self, key)
        return value

    def loaded(self) -> list[tuple[str, Entry]]:
        """Loaded entries, least recently used first."""
        return [(k, v) for k, v in self.items_by_recency() if v.runtime is not None]

    def items_by_recency(self) -> list[tuple[str, Entry]]:
        # LRUCache keeps its recency order private; iterating the cache gives insertion order.
        order = self._LRUCache__order  # type: ignore[attr-defined]
        return [(k, v) for k in order if (v := self.get_quiet(k)) is not None]

    def evict_for(self, needed: int) -> list[str]:
        """Evict least recently used entries until `needed` more bytes fit; the names of the
        loaded models among them (whose unloading has been handed to `unloader`)."""
        unloaded: list[str] = []
        while self and self.currsize + needed > self.maxsize:
            key, value = self.popitem()
            if value.runtime is not None:
                unloaded.append(key)
        return unloaded


def _carry_over(old: Any, new: Any) -> Any:
    keep = {"runtime": old.runtime}
    for name in ("estimated_bytes", "gguf"):
        if hasattr(new, name) and getattr(new, name) in (None, 0):
            keep[name] = getattr(old, name)
    return dataclasses.replace(new, **keep)
