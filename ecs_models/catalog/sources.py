"""Catalog sources behind one small interface: ollama.com's pages, any OCI registry, the snapshot."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import httpx

from ecs_models.catalog.errors import CatalogOfflineError, CatalogUnavailableError
from ecs_models.catalog.model import CatalogEntry, TagInfo
from ecs_models.catalog.ollama_pages import parse_listing, parse_tags_page
from ecs_models.catalog.sizes import DownloadSize, download_size
from ecs_models.catalog.snapshot import load_snapshot
from ecs_models.errors import EcsModelsError, InvalidNameError, ModelNotFoundError
from ecs_models.explain import connection_problem, connection_reason
from ecs_models.names import DEFAULT_NAMESPACE, ModelName, parse_model_name
from ecs_models.registry.client import USER_AGENT, RegistryClient
from ecs_models.registry.tls import lazy_tls_client
from ecs_models.store.model_store import ModelStore

OLLAMA_WEB_URL = "https://ollama.com"
# Lets a mirror (or a test server holding saved pages) stand in for ollama.com.
OLLAMA_WEB_URL_ENV = "ECS_MODELS_CATALOG_URL"
_WEB_NAME = re.compile(r"^[A-Za-z0-9_][\w.-]*(?:/[A-Za-z0-9_][\w.-]*)?$")


class CatalogSource(Protocol):
    """What every source offers: the models it lists, and one model with its tags."""

    label: str

    def list_models(self) -> list[CatalogEntry]: ...

    def model_tags(self, name: str) -> CatalogEntry: ...


class SnapshotSource:
    """The shipped snapshot: always there, never current."""

    label = "snapshot"

    def list_models(self) -> list[CatalogEntry]:
        return list(load_snapshot().entries)

    def model_tags(self, name: str) -> CatalogEntry:
        wanted = name.lower().removeprefix("library/")
        for entry in load_snapshot().entries:
            if entry.name.lower() == wanted:
                return entry
        raise ModelNotFoundError(f"Model {name} is not in the catalog snapshot.")


class OllamaWebSource:
    """ollama.com's HTML pages (it has no search API); every failure is one clear sentence."""

    label = "ollama.com"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 8.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(OLLAMA_WEB_URL_ENV) or OLLAMA_WEB_URL).rstrip(
            "/"
        )
        self._client = client or lazy_tls_client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 4.0)),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html"},
        )

    def close(self) -> None:
        self._client.close()

    def list_models(self) -> list[CatalogEntry]:
        return parse_listing(self._get("/library", {"sort": "popular"}))

    def search(self, query: str, capability: str | None = None) -> list[CatalogEntry]:
        """ollama.com's own search (`/search?q=...&c=<capability>`), in its order."""
        params = {"q": query}
        if capability:
            params["c"] = capability
        return parse_listing(self._get("/search", params))

    def model_tags(self, name: str) -> CatalogEntry:
        model = name.split(":", 1)[0].removeprefix("library/")
        if not _WEB_NAME.match(model):
            raise InvalidNameError(f"{name!r} is not a model name ollama.com lists.")
        path = f"/library/{model}/tags" if "/" not in model else f"/{model}/tags"
        return parse_tags_page(self._get(path, None, what=model), model)

    def _get(self, path: str, params: dict[str, str] | None, *, what: str | None = None) -> str:
        try:
            response = self._client.get(self.base_url + path, params=params)
        except httpx.HTTPError as exc:
            problem = connection_problem(exc)
            detail = connection_reason(problem) if problem else str(exc).strip() or "no answer"
            raise CatalogOfflineError(f"Could not reach ollama.com ({detail}).") from exc
        if response.status_code == 404 and what is not None:
            raise ModelNotFoundError(f"ollama.com has no model named {what}.")
        if response.status_code != 200:
            raise CatalogUnavailableError(
                f"Could not read ollama.com: it answered HTTP {response.status_code} for {path}."
            )
        return response.text


class RegistrySource:
    """An OCI registry's `/v2/_catalog` and tags lists, sizes read from each tag's manifest."""

    def __init__(self, client: RegistryClient, host: str, *, workers: int = 4) -> None:
        self.client = client
        self.host = host
        self.label = host
        self.workers = workers

    def _name(self, repository: str, tag: str = "latest") -> ModelName:
        return parse_model_name(f"{self.host}/{repository}:{tag}", default_host=self.host)

    def repositories(self) -> list[str]:
        probe = ModelName(self.host, DEFAULT_NAMESPACE, "catalog", "latest")
        # Ollama names have exactly namespace/model; deeper repositories cannot be pulled.
        return [r for r in self.client.catalog(probe) if r.count("/") == 1 and _valid(self, r)]

    def list_models(self) -> list[CatalogEntry]:
        """Every repository with its tag names (sizes cost a manifest each: see model_tags)."""
        repositories = self.repositories()

        def entry(repository: str) -> CatalogEntry | None:
            try:
                tags = self.client.tags(self._name(repository))
            except EcsModelsError:
                return None  # listed but unreadable (deleted since, or no access): skip it
            return CatalogEntry(
                name=f"{self.host}/{repository}",
                tag_count=len(tags),
                tags=tuple(TagInfo(name=t) for t in tags),
                source=self.host,
            )

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            found = list(pool.map(entry, repositories))
        return [e for e in found if e is not None]

    def download_sizes(
        self, name: str, store: ModelStore | None = None
    ) -> list[tuple[str, DownloadSize | None]]:
        """Every tag with the exact size of its manifest and what `store` already holds of it
        (None for a tag whose manifest cannot be read)."""
        parsed = parse_model_name(name, default_host=self.host)
        tags = self.client.tags(parsed)

        def sized(tag: str) -> tuple[str, DownloadSize | None]:
            try:
                return tag, download_size(parsed.with_tag(tag), self.client, store)
            except EcsModelsError:
                return tag, None

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(sized, tags))

    def model_tags(self, name: str) -> CatalogEntry:
        parsed = parse_model_name(name, default_host=self.host)
        infos = tuple(
            TagInfo(name=tag)
            if size is None
            else TagInfo(
                name=tag,
                size=size.total,
                size_exact=True,
                digest_prefix=size.manifest_digest.removeprefix("sha256:")[:12],
            )
            for tag, size in self.download_sizes(name)
        )
        return CatalogEntry(
            name=f"{parsed.host}/{parsed.repository}",
            tag_count=len(infos),
            tags=infos,
            source=self.host,
        )


def _valid(source: RegistrySource, repository: str) -> bool:
    try:
        source._name(repository)
    except InvalidNameError:
        return False
    return True
