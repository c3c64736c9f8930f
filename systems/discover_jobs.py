"""The Discover area's blocking work, run on the chores pool: never called inside a frame."""

from __future__ import annotations

from dataclasses import dataclass

from ecs_models.app.config import ManagerSettings
from ecs_models.catalog import (
    Catalog,
    CatalogEntry,
    RegistrySource,
    SearchIndex,
    fit_for,
    recommend,
)
from ecs_models.catalog.updates import UpdateChecker, UpdateStatus
from ecs_models.components.discover import OLLAMA_SOURCE, CatalogLoad, TagRow, TagsView
from ecs_models.gguf.memory import MachineMemory, measure_machine
from ecs_models.names import DEFAULT_HOST, parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.history import pin_model, unpin_model
from ecs_models.store.model_store import ModelStore

# A check or a catalog listing must not sit through the pull engine's long back-off.
CHECK_RETRIES = 1
CHECK_TIMEOUT_S = 15.0
RECOMMENDATIONS = 12


def quick_client(settings: ManagerSettings) -> RegistryClient:
    return RegistryClient(
        insecure=settings.insecure, retries=CHECK_RETRIES, timeout=CHECK_TIMEOUT_S
    )


def load_catalog(
    catalog: Catalog, source: str, settings: ManagerSettings, *, refresh: bool, quick: bool = False
) -> CatalogLoad:
    """The listing (live, cached or the snapshot), its search index, and picks for this machine.

    `quick` reads only saved data (ollama.com's cache or the snapshot), so it never waits on the
    network; the caller refreshes afterwards when that data is stale.
    """
    if source == OLLAMA_SOURCE and quick:
        # The cache or the snapshot, no network: the tab is useful at once, refresh follows.
        result = Catalog(cache=catalog.cache, offline=True, max_age=catalog.max_age).library()
    elif source == OLLAMA_SOURCE:
        result = catalog.library(refresh=refresh)
    else:
        with quick_client(settings) as client:
            result = catalog.registry_models(source, client, refresh=refresh)
    memory = measure_machine()
    picks = recommend(result.entries, memory, limit=RECOMMENDATIONS)
    return CatalogLoad(result, SearchIndex(result.entries), memory, tuple(picks))


def pull_reference(entry: CatalogEntry, tag: str) -> str:
    """The full name to pull: ollama.com entries live on Ollama's registry, whatever the default."""
    if entry.source == OLLAMA_SOURCE:
        path = entry.name if "/" in entry.name else f"library/{entry.name}"
        return f"{DEFAULT_HOST}/{path}:{tag}"
    return f"{entry.name}:{tag}"


@dataclass(frozen=True, slots=True)
class _Local:
    digest: str
    size: int


def _installed(store: ModelStore) -> dict[tuple[str, str, str, str], _Local]:
    return {m.name.match_key: _Local(m.digest, m.size) for m in store.list_models()}


def load_tags(
    catalog: Catalog,
    entry: CatalogEntry,
    store: ModelStore,
    settings: ManagerSettings,
    memory: MachineMemory,
) -> TagsView:
    """Every tag of `entry` with its size, the bytes already here and the fit for `memory`."""
    installed = _installed(store)
    rows: list[TagRow] = []
    if entry.source != OLLAMA_SOURCE:
        # A registry entry: each tag's manifest gives the exact size and the blobs we have.
        with quick_client(settings) as client:
            sizes = RegistrySource(client, entry.source).download_sizes(entry.name, store)
        for tag_name, size in sizes:
            reference = pull_reference(entry, tag_name)
            local = installed.get(parse_model_name(reference).match_key)
            rows.append(
                TagRow(
                    name=tag_name,
                    reference=reference,
                    size=size.total if size else None,
                    size_exact=size is not None,
                    present=size.present if size else None,
                    installed=local is not None
                    and size is not None
                    and local.digest == size.manifest_digest,
                    fit=fit_for(size.total, memory) if size else None,
                )
            )
        return TagsView(entry.name, tuple(rows))
    result = catalog.model_tags(entry.name)
    found = result.entries[0] if result.entries else entry
    for tag in found.tags or entry.tags:
        reference = pull_reference(entry, tag.name)
        local = installed.get(parse_model_name(reference).match_key)
        # Offline, the blobs of a tag are unknown until its manifest is read: an installed tag
        # is wholly here, any other counts as unknown rather than as nothing.
        rows.append(
            TagRow(
                name=tag.name,
                reference=reference,
                size=local.size if local is not None else tag.size,
                size_exact=local is not None or tag.size_exact,
                present=local.size if local is not None else None,
                installed=local is not None,
                fit=fit_for(tag.size, memory) if tag.size is not None else None,
                cloud=tag.cloud,
            )
        )
    return TagsView(entry.name, tuple(rows), result.notice)


def check_updates(
    checker: UpdateChecker, store: ModelStore, settings: ManagerSettings, *, fresh: bool
) -> list[UpdateStatus]:
    if fresh:
        checker.forget()
    with quick_client(settings) as client:
        return checker.check(store, client)


def after_update(
    checker: UpdateChecker,
    store: ModelStore,
    settings: ManagerSettings,
    model_name: str,
    freed: int,
) -> tuple[int, list[UpdateStatus]]:
    """Check the model again; `freed` is what the pull's cleanup of the old version freed."""
    name = parse_model_name(model_name)
    checker.forget(name)
    model = store.resolve(name)
    with quick_client(settings) as client:
        return freed, checker.check(store, client, [model])


def set_pin(store: ModelStore, model_name: str, pinned: bool) -> tuple[str, bool]:
    name = parse_model_name(model_name)
    if pinned:
        pin_model(store, store.resolve(name))
    else:
        unpin_model(store, name)
    return model_name, pinned
