"""Catalog data cached in memory (a TTLCache) and on disk with the time it was fetched."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import TTLCache

DEFAULT_TTL_S = 15 * 60.0
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """$XDG_CACHE_HOME/ecs_models, else ~/.cache/ecs_models (the platform cache directory)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "ecs_models"


@dataclass(frozen=True, slots=True)
class Cached:
    """A cached document and when its source produced it."""

    data: Any
    fetched_at: dt.datetime

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        reference = now if now is not None else dt.datetime.now(dt.UTC)
        return max(0.0, (reference - self.fetched_at).total_seconds())


class CatalogCache:
    """Thread-safe: the app refreshes from a worker while the UI thread reads."""

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, ttl: float = DEFAULT_TTL_S
    ) -> None:
        self.directory = (
            Path(directory) if directory is not None else default_cache_dir()
        ) / "catalog"
        self._memory: TTLCache[str, Cached] = TTLCache(maxsize=512, ttl=ttl)
        self._lock = threading.Lock()

    def fresh(self, key: str) -> Cached | None:
        """What was stored less than the TTL ago in this process, else None."""
        with self._lock:
            return self._memory.get(key)

    def load(self, key: str) -> Cached | None:
        """The newest copy we have at any age: memory first, then disk."""
        hit = self.fresh(key)
        if hit is not None:
            return hit
        try:
            doc = json.loads(self._path(key).read_text("utf-8"))
            fetched = dt.datetime.fromisoformat(doc["fetched_at"])
            if doc.get("key") != key:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: as if never cached
        return Cached(doc.get("data"), fetched)

    def store(self, key: str, data: Any, fetched_at: dt.datetime | None = None) -> Cached:
        cached = Cached(data, fetched_at or dt.datetime.now(dt.UTC))
        with self._lock:
            self._memory[key] = cached
        doc = {"key": key, "fetched_at": cached.fetched_at.isoformat(), "data": data}
        path = self._path(key)
        # The disk copy is a convenience: a read-only or full cache dir must not fail a search.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(doc, separators=(",", ":")), "utf-8")
            os.replace(tmp, path)
        return cached

    def forget(self, key: str) -> None:
        with self._lock:
            self._memory.pop(key, None)
        with contextlib.suppress(OSError):
            self._path(key).unlink()

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self.directory / f"{_SLUG.sub('_', key)[:60]}-{digest}.json"
