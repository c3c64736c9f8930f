"""Per-model install history and update pins, kept in the store's state dir (never blobs/)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecs_models.errors import EcsModelsError
from ecs_models.names import ModelName
from ecs_models.store.locking import FileLock
from ecs_models.store.model_store import InstalledModel, ModelStore

HISTORY_FILE = "history.json"
PINS_FILE = "update-pins.json"
# A model's history keeps this many versions: enough to say what changed, never unbounded.
HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    digest: str
    installed_at: dt.datetime
    size: int
    action: str  # "install", "update" or "found" (installed before we kept history)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "installed_at": self.installed_at.isoformat(),
            "size": self.size,
            "action": self.action,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HistoryRecord:
        return cls(
            digest=str(doc["digest"]),
            installed_at=dt.datetime.fromisoformat(str(doc["installed_at"])),
            size=int(doc.get("size", 0)),
            action=str(doc.get("action", "install")),
        )


@dataclass(frozen=True, slots=True)
class PinRecord:
    digest: str
    pinned_at: dt.datetime


def _key(name: ModelName) -> str:
    # Ollama matches names case-insensitively; so do history and pins.
    return "/".join(name.match_key[:3]) + ":" + name.match_key[3]


class _StateFile:
    """A JSON document in the state dir, changed under a lock and replaced atomically."""

    def __init__(self, store: ModelStore, file_name: str) -> None:
        self.path: Path = store.state_dir / file_name
        self.lock_path = store.state_dir / (file_name + ".lock")

    def read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise EcsModelsError(
                f"The state file {self.path} is unreadable ({exc.__class__.__name__}); "
                "move it aside to start it afresh."
            ) from exc
        return doc if isinstance(doc, dict) else {}

    def update(self, change: Any) -> dict[str, Any]:
        with FileLock(self.lock_path):
            doc = self.read()
            change(doc)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), "utf-8")
            os.replace(tmp, self.path)
            return doc


def record_install(
    store: ModelStore,
    model: InstalledModel,
    *,
    action: str | None = None,
    when: dt.datetime | None = None,
) -> HistoryRecord:
    """Note that `model` is now installed at its digest; call after every pull or update.

    Pulling the digest already recorded last changes nothing: history lists versions. With
    no `action`, a new digest of a model with history is an "update", else an "install".
    """
    at = when or dt.datetime.now(dt.UTC)
    records: list[HistoryRecord] = []

    def change(doc: dict[str, Any]) -> None:
        versions = doc.setdefault(_key(model.name), [])
        kind = action or ("update" if versions else "install")
        records.append(HistoryRecord(model.digest, at, model.size, kind))
        if versions and versions[-1].get("digest") == model.digest:
            return
        versions.append(records[0].to_json())
        del versions[:-HISTORY_LIMIT]

    _StateFile(store, HISTORY_FILE).update(change)
    return records[0]


def history(store: ModelStore, name: ModelName) -> list[HistoryRecord]:
    """Versions of a model, oldest first. A model installed before we kept history (by Ollama,
    say) shows its current digest as "found" at its manifest's time."""
    versions = _StateFile(store, HISTORY_FILE).read().get(_key(name), [])
    records = [HistoryRecord.from_json(v) for v in versions if isinstance(v, dict)]
    try:
        installed = store.resolve(name)
    except EcsModelsError:
        return records
    if not records or records[-1].digest != installed.digest:
        records.append(HistoryRecord(installed.digest, installed.modified, installed.size, "found"))
    return records


def pin_model(store: ModelStore, model: InstalledModel) -> PinRecord:
    """Keep this model at its current digest: update-all skips it until it is unpinned."""
    record = PinRecord(model.digest, dt.datetime.now(dt.UTC))

    def change(doc: dict[str, Any]) -> None:
        doc[_key(model.name)] = {"digest": record.digest, "pinned_at": record.pinned_at.isoformat()}

    _StateFile(store, PINS_FILE).update(change)
    return record


def unpin_model(store: ModelStore, name: ModelName) -> bool:
    """True when the model was pinned."""
    removed: list[object] = []

    def change(doc: dict[str, Any]) -> None:
        removed.append(doc.pop(_key(name), None))

    _StateFile(store, PINS_FILE).update(change)
    return removed[0] is not None


def pinned_models(store: ModelStore) -> dict[str, PinRecord]:
    """Pins by model key ("host/namespace/model:tag", lower case)."""
    pins: dict[str, PinRecord] = {}
    for key, value in _StateFile(store, PINS_FILE).read().items():
        if isinstance(value, dict) and "digest" in value:
            pins[key] = PinRecord(
                str(value["digest"]), dt.datetime.fromisoformat(str(value["pinned_at"]))
            )
    return pins


def is_pinned(store: ModelStore, name: ModelName) -> bool:
    return _key(name) in pinned_models(store)
