"""Repair: download again only the blobs a health check found missing, short or corrupt."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from ecs_models.errors import EcsModelsError, OperationCancelledError
from ecs_models.manifest import Layer
from ecs_models.names import DEFAULT_HOST, ModelName
from ecs_models.registry.client import RegistryClient
from ecs_models.storage.health import HealthReport, check_health
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.pull import PullOptions, fetch_blobs


@dataclass(slots=True)
class RepairResult:
    """What was fetched again, what could not be fixed and why, and the check made afterwards."""

    fetched: dict[str, list[str]] = field(default_factory=dict)  # model -> digests
    unrepairable: dict[str, str] = field(default_factory=dict)  # model -> why
    after: HealthReport | None = None

    @property
    def ok(self) -> bool:
        return not self.unrepairable and (self.after is None or self.after.ok)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "fetched": self.fetched,
            "unrepairable": self.unrepairable,
            "after": self.after.to_json() if self.after is not None else None,
        }


def repair(
    store: ModelStore,
    names: Iterable[str | ModelName] | None = None,
    *,
    report: HealthReport | None = None,
    registry: RegistryClient | None = None,
    progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
    options: PullOptions | None = None,
    default_host: str = DEFAULT_HOST,
) -> RepairResult:
    """Fetch the damaged blobs of the models (all when names is None) from their registries.

    Uses `report` when given, else checks first. A damaged file is deleted before its
    download (the pull engine skips a blob that merely has the right size), each digest is
    fetched once even when several models share it, and the repaired models are checked
    again. Blocking: run it on a worker thread.
    """
    before = report or check_health(
        store, names, cancel=cancel, default_host=default_host, save=True
    )
    result = RepairResult()
    done: set[str] = set()
    # Models to check again: those fetched for, and those whose bad blobs another model's
    # repair already fetched (shared blobs), so their saved results do not stay "damaged".
    touched: list[str] = []
    for health in before.models:
        if health.ok:
            continue
        others = [f for f in health.findings if not f.repairable]
        if others:
            result.unrepairable[health.name] = "; ".join(f.detail for f in others)
        if health.digest is None:
            continue  # an unreadable manifest names no blob we could trust
        needed = [f for f in health.repairable if f.digest is not None and f.digest not in done]
        if not needed:
            if health.repairable:
                touched.append(health.name)
            continue
        if cancel is not None and cancel.is_set():
            raise OperationCancelledError("The repair was cancelled.")
        try:
            model = store.resolve(health.name)
        except EcsModelsError as exc:
            result.unrepairable[health.name] = str(exc)
            continue
        wanted = {f.digest for f in needed if f.digest is not None}
        layers: list[Layer] = [b for b in model.manifest.blobs if b.digest in wanted]
        layers = list({b.digest: b for b in layers}.values())
        with store.pin(b.digest for b in layers):
            for layer in layers:
                with contextlib.suppress(FileNotFoundError):
                    store.blob_path(layer.digest).unlink()
            try:
                fetch_blobs(
                    model.name,
                    layers,
                    store,
                    registry=registry,
                    progress=progress or PullProgress(model.display),
                    cancel=cancel,
                    options=options,
                )
            except OperationCancelledError:
                raise
            except EcsModelsError as exc:
                result.unrepairable[health.name] = str(exc)
                continue
        done.update(wanted)
        result.fetched[health.name] = sorted(wanted)
        touched.append(health.name)
    if touched:
        result.after = check_health(store, touched, cancel=cancel, save=True)
    return result
