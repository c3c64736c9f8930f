"""One place to ask for catalog data: live when reachable, else the cache, else the snapshot.

Every method blocks on the network at worst: call them from a worker (refresh_async hands one
to an executor), never from a UI frame. Results say where their data came from and how old it
is, so an offline user sees "cached, 3 days old" rather than a silently stale list.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Executor, Future

from ecs_models.catalog.cache import Cached, CatalogCache
from ecs_models.catalog.errors import CatalogUnavailableError
from ecs_models.catalog.model import CatalogEntry, CatalogResult
from ecs_models.catalog.snapshot import load_snapshot
from ecs_models.catalog.sources import OllamaWebSource, RegistrySource
from ecs_models.errors import EcsModelsError, ModelNotFoundError, RegistryError
from ecs_models.registry.client import RegistryClient

# Cached listings younger than this are used without asking the network again.
DEFAULT_MAX_AGE_S = 6 * 3600.0
LIBRARY_KEY = "ollama.com/library"


def _entries(data: object) -> tuple[CatalogEntry, ...]:
    items = data if isinstance(data, list) else []
    return tuple(CatalogEntry.from_json(d) for d in items if isinstance(d, dict))


def merge_with_snapshot(live: list[CatalogEntry]) -> list[CatalogEntry]:
    """Live listing facts, with tag lists (the listing has none) from the snapshot.

    Models only the snapshot knows follow the live ones, so nothing vanishes from search
    because one page was shorter.
    """
    try:
        saved = {e.name: e for e in load_snapshot().entries}
    except CatalogUnavailableError:
        saved = {}
    merged = [e if e.tags or e.name not in saved else e.with_tags(saved[e.name].tags) for e in live]
    names = {e.name for e in live}
    merged += [e for name, e in saved.items() if name not in names]
    return merged


class Catalog:
    """Catalog data for the app and the command line, cached in memory and on disk."""

    def __init__(
        self,
        *,
        cache: CatalogCache | None = None,
        web: OllamaWebSource | None = None,
        max_age: float = DEFAULT_MAX_AGE_S,
        offline: bool = False,
    ) -> None:
        self.cache = cache if cache is not None else CatalogCache()
        self._web = web
        self.max_age = max_age
        self.offline = offline

    @property
    def web(self) -> OllamaWebSource:
        if self._web is None:
            self._web = OllamaWebSource()
        return self._web

    def close(self) -> None:
        if self._web is not None:
            self._web.close()

    # -- ollama.com ----------------------------------------------------------------------------
    def library(self, *, refresh: bool = False) -> CatalogResult:
        """The whole library: fresh cache, else ollama.com, else older cache, else the snapshot."""
        fresh = None if refresh else self.cache.fresh(LIBRARY_KEY)
        if fresh is not None:
            return CatalogResult(_entries(fresh.data), "cache", "ollama.com", fresh.fetched_at)
        saved = self.cache.load(LIBRARY_KEY)
        if saved is not None and not refresh and saved.age_seconds() < self.max_age:
            return CatalogResult(_entries(saved.data), "cache", "ollama.com", saved.fetched_at)
        problem = "offline mode is on" if self.offline else None
        if not self.offline:
            try:
                live = merge_with_snapshot(self.web.list_models())
            except EcsModelsError as exc:
                problem = str(exc).rstrip(".")
            else:
                stored = self.cache.store(LIBRARY_KEY, [e.to_json() for e in live])
                return CatalogResult(tuple(live), "live", "ollama.com", stored.fetched_at)
        return self._fallback(saved, problem)

    def _fallback(self, saved: Cached | None, problem: str | None) -> CatalogResult:
        why = f"{problem}; " if problem else ""
        if saved is not None:
            result = CatalogResult(_entries(saved.data), "cache", "ollama.com", saved.fetched_at)
            notice = f"{why}showing the cached catalog ({result.age_text()})."
        else:
            snapshot = load_snapshot()
            result = snapshot
            notice = (
                f"{why}showing the catalog snapshot of {snapshot.extra.get('snapshot_date')} "
                f"({snapshot.age_text()})."
            )
        return CatalogResult(
            result.entries,
            result.origin,
            result.source,
            result.fetched_at,
            notice[0].upper() + notice[1:],
            result.extra,
        )

    def model_tags(self, name: str, *, refresh: bool = False) -> CatalogResult:
        """One model's tags with sizes from its ollama.com tags page, or saved data offline."""
        model = name.split(":", 1)[0].removeprefix("library/").lower()
        key = f"ollama.com/tags/{model}"
        fresh = None if refresh else self.cache.fresh(key)
        if fresh is not None:
            return CatalogResult(_entries(fresh.data), "cache", "ollama.com", fresh.fetched_at)
        problem = "offline mode is on"
        if not self.offline:
            try:
                entry = self.web.model_tags(model)
            except ModelNotFoundError:
                raise
            except EcsModelsError as exc:
                problem = str(exc).rstrip(".")
            else:
                stored = self.cache.store(key, [entry.to_json()])
                return CatalogResult((entry,), "live", "ollama.com", stored.fetched_at)
        saved = self.cache.load(key)
        if saved is not None:
            return self._fallback(saved, problem)
        snapshot = load_snapshot()
        for entry in snapshot.entries:
            if entry.name.lower() == model:
                fallback = self._fallback(None, problem)
                return CatalogResult(
                    (entry,),
                    "snapshot",
                    "ollama.com",
                    fallback.fetched_at,
                    fallback.notice,
                    fallback.extra,
                )
        raise ModelNotFoundError(
            f"Model {model} is not in the catalog snapshot and ollama.com is unavailable "
            f"({problem})."
        )

    # -- OCI registries ------------------------------------------------------------------------
    def registry_models(
        self, host: str, client: RegistryClient, *, refresh: bool = False
    ) -> CatalogResult:
        """Repositories and tags of a registry's /v2/_catalog, with the cache as fallback."""
        key = f"registry/{host.lower()}/catalog"
        fresh = None if refresh else self.cache.fresh(key)
        if fresh is not None:
            return CatalogResult(_entries(fresh.data), "cache", host, fresh.fetched_at)
        try:
            entries = RegistrySource(client, host).list_models()
        except RegistryError as exc:
            saved = self.cache.load(key)
            if saved is None:
                raise
            result = CatalogResult(_entries(saved.data), "cache", host, saved.fetched_at)
            why = str(exc).strip()  # a sentence: "Can't connect to h:5000 — is the registry running?"
            why += "" if why.endswith((".", "?", "!")) else "."
            notice = f"{why} Showing the cached list ({result.age_text()})."
            return CatalogResult(result.entries, "cache", host, saved.fetched_at, notice)
        stored = self.cache.store(key, [e.to_json() for e in entries])
        return CatalogResult(tuple(entries), "live", host, stored.fetched_at)

    def registry_tags(self, host: str, name: str, client: RegistryClient) -> CatalogResult:
        """A repository's tags, each sized from its manifest."""
        key = f"registry/{host.lower()}/tags/{name.lower()}"
        try:
            entry = RegistrySource(client, host).model_tags(name)
        except RegistryError as exc:
            saved = self.cache.load(key)
            if saved is None:
                raise
            result = CatalogResult(_entries(saved.data), "cache", host, saved.fetched_at)
            notice = f"{str(exc).rstrip('.')}; showing cached tags ({result.age_text()})."
            return CatalogResult(result.entries, "cache", host, saved.fetched_at, notice)
        stored = self.cache.store(key, [entry.to_json()])
        return CatalogResult((entry,), "live", host, stored.fetched_at)

    # -- background refresh ----------------------------------------------------------------------
    def refresh_async(self, executor: Executor) -> Future[CatalogResult]:
        """Refresh the library on a worker; the future's result is what the UI shows next."""
        return executor.submit(self.library, refresh=True)

    def snapshot_age(self, now: dt.datetime | None = None) -> float:
        return load_snapshot().age_seconds(now)
