"""Is an installed model out of date, by how many bytes, and bring it (or all) up to date.

A check costs one HEAD per model (the registry's Docker-Content-Digest), plus one manifest GET
for a model whose digest changed, run concurrently and remembered for a few minutes. Updates
run one after another through the normal pull engine. All of it blocks: call it on a worker.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cachetools import TTLCache

from ecs_models.catalog.sizes import DownloadSize, size_of_manifest
from ecs_models.errors import (
    EcsModelsError,
    ModelNotFoundError,
    OperationCancelledError,
)
from ecs_models.manifest import Manifest, sha256_digest
from ecs_models.names import DEFAULT_HOST, ModelName
from ecs_models.registry.client import RegistryClient
from ecs_models.store.history import (
    HistoryRecord,
    history,
    pin_model,
    pinned_models,
    record_install,
    unpin_model,
)
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.pull import PullOptions, pull_model

__all__ = [
    "HistoryRecord",
    "UpdateChecker",
    "UpdateOutcome",
    "UpdateStatus",
    "check_updates",
    "history",
    "pin_model",
    "pinned_models",
    "record_install",
    "unpin_model",
    "update_models",
]

CHECK_TTL_S = 300.0
CHECK_WORKERS = 4

CURRENT = "current"
OUTDATED = "update available"
UNKNOWN = "unknown"
MISSING = "not on registry"


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    model: InstalledModel
    state: str  # CURRENT, OUTDATED, UNKNOWN (could not ask) or MISSING
    remote_digest: str | None
    change: DownloadSize | None  # for OUTDATED: what the update downloads
    pinned: bool
    error: str | None
    checked_at: dt.datetime

    @property
    def outdated(self) -> bool:
        return self.state == OUTDATED

    @property
    def change_bytes(self) -> int | None:
        return self.change.to_download if self.change is not None else None


@dataclass(frozen=True, slots=True)
class _Remote:
    digest: str
    manifest: Manifest | None  # fetched only when the digest differs from ours


class UpdateChecker:
    """Remembers what each registry said for CHECK_TTL_S; share one across checks in the app."""

    def __init__(self, *, ttl: float = CHECK_TTL_S, workers: int = CHECK_WORKERS) -> None:
        self._cache: TTLCache[str, _Remote] = TTLCache(maxsize=4096, ttl=ttl)
        self._lock = threading.Lock()
        self.workers = workers

    def forget(self, name: ModelName | None = None) -> None:
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(str(name), None)

    def _remote(self, model: InstalledModel, client: RegistryClient) -> _Remote:
        key = str(model.name)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and (cached.digest == model.digest or cached.manifest is not None):
            return cached
        digest = client.manifest_digest(model.name)
        manifest = None
        if digest is None or digest != model.digest:
            # Some registries omit the header on HEAD; the manifest's own hash always tells.
            raw = client.get_manifest(model.name)
            manifest = Manifest.parse(raw)
            digest = sha256_digest(raw)
        remote = _Remote(digest, manifest if digest != model.digest else None)
        with self._lock:
            self._cache[key] = remote
        return remote

    def check(
        self,
        store: ModelStore,
        client: RegistryClient,
        models: Sequence[InstalledModel] | None = None,
    ) -> list[UpdateStatus]:
        """One status per model (all installed ones by default); a failure is a status, not
        an exception, so one unreachable registry does not hide the others' updates."""
        chosen = list(models) if models is not None else store.list_models()
        pins = pinned_models(store)

        def one(model: InstalledModel) -> UpdateStatus:
            now = dt.datetime.now(dt.UTC)
            pinned = _pin_key(model.name) in pins
            try:
                remote = self._remote(model, client)
            except ModelNotFoundError as exc:
                return UpdateStatus(model, MISSING, None, None, pinned, str(exc), now)
            except EcsModelsError as exc:
                return UpdateStatus(model, UNKNOWN, None, None, pinned, str(exc), now)
            if remote.digest == model.digest or remote.manifest is None:
                return UpdateStatus(model, CURRENT, remote.digest, None, pinned, None, now)
            change = size_of_manifest(remote.manifest, store)
            return UpdateStatus(model, OUTDATED, remote.digest, change, pinned, None, now)

        if not chosen:
            return []
        with ThreadPoolExecutor(max_workers=min(self.workers, len(chosen))) as pool:
            return list(pool.map(one, chosen))


def _pin_key(name: ModelName) -> str:
    return "/".join(name.match_key[:3]) + ":" + name.match_key[3]


def check_updates(
    store: ModelStore,
    client: RegistryClient,
    models: Sequence[InstalledModel] | None = None,
) -> list[UpdateStatus]:
    return UpdateChecker().check(store, client, models)


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    name: str
    result: str  # "updated", "current", "pinned", "failed", "cancelled" or "skipped"
    old_digest: str
    new_digest: str | None = None
    downloaded: int = 0  # bytes of new blobs the update needed
    freed: int = 0  # bytes of the old version's blobs nothing uses any more
    error: str | None = None


def update_models(
    store: ModelStore,
    client: RegistryClient,
    names: Iterable[ModelName] | None = None,
    *,
    default_host: str = DEFAULT_HOST,
    options: PullOptions | None = None,
    progress_for: Callable[[InstalledModel], PullProgress] | None = None,
    on_outcome: Callable[[UpdateOutcome], None] | None = None,
    cancel: threading.Event | None = None,
    checker: UpdateChecker | None = None,
) -> list[UpdateOutcome]:
    """Update the named models (all installed ones when None), one at a time.

    Pinned models are skipped, named or not: unpin first. Every name is resolved before the
    first download, so a typo updates nothing. A cancel stops after the current pull (which
    stays resumable) and the rest are reported "cancelled". The pull itself deletes the old
    version's blobs nothing else uses (unless OLLAMA_NOPRUNE is set); `freed` says how much.
    """
    if names is None:
        models = store.list_models()
    else:
        models = [store.resolve(name, default_host=default_host) for name in names]
    unique = list({str(m.name): m for m in models}.values())
    statuses = (checker or UpdateChecker()).check(store, client, unique)
    opts = options or PullOptions(default_host=default_host, insecure=client.insecure)
    stop = cancel or threading.Event()
    outcomes: list[UpdateOutcome] = []

    def report(outcome: UpdateOutcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    for status in statuses:
        model = status.model
        label = model.display
        if stop.is_set():
            report(UpdateOutcome(label, "cancelled", model.digest))
            continue
        if status.pinned and status.outdated:
            report(UpdateOutcome(label, "pinned", model.digest, status.remote_digest))
            continue
        if not status.outdated:
            result = "current" if status.state == CURRENT else "failed"
            report(
                UpdateOutcome(label, result, model.digest, status.remote_digest, error=status.error)
            )
            continue
        progress = progress_for(model) if progress_for is not None else PullProgress(label)
        try:
            updated = pull_model(
                model.name, store, registry=client, progress=progress, cancel=stop, options=opts
            )
        except OperationCancelledError as exc:
            stop.set()
            report(UpdateOutcome(label, "cancelled", model.digest, error=str(exc)))
            continue
        except EcsModelsError as exc:
            report(UpdateOutcome(label, "failed", model.digest, error=str(exc)))
            continue
        record_install(store, updated, action="update")
        freed = progress.snapshot().freed_bytes
        if checker is not None:
            checker.forget(model.name)
        change = status.change_bytes or 0
        report(UpdateOutcome(label, "updated", model.digest, updated.digest, change, freed))
    return outcomes
