"""When each model was last used, recorded by this app in the store's state directory."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from ecs_models.errors import InvalidNameError
from ecs_models.names import ModelName, parse_model_name
from ecs_models.store.locking import FileLock
from ecs_models.store.model_store import ModelStore

USAGE_FILE = "usage.json"
_write_lock = threading.Lock()


def _path(store: ModelStore) -> Path:
    return store.state_dir / USAGE_FILE


def load_usage(store: ModelStore) -> dict[str, float]:
    """Full model name ("host/ns/model:tag") -> last use (UNIX time); {} when nothing recorded."""
    try:
        doc = json.loads(_path(store).read_bytes())
    except (OSError, ValueError):
        return {}
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in models.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def record_use(
    store: ModelStore, names: Iterable[ModelName | str], *, when: float | None = None
) -> None:
    """Mark models as used now (or at `when`); later times win, so replays are harmless."""
    moment = time.time() if when is None else when
    keys = [str(n) for n in names]
    if not keys:
        return
    # One writer at a time across threads (the lock below) and processes (the flock).
    with _write_lock, FileLock(store.state_dir / "usage.lock"):
        current = load_usage(store)
        for key in keys:
            current[key] = max(current.get(key, 0.0), moment)
        _write(store, current)


def forget(store: ModelStore, names: Iterable[ModelName | str]) -> None:
    """Drop usage records of removed models."""
    keys = {str(n) for n in names}
    with _write_lock, FileLock(store.state_dir / "usage.lock"):
        current = load_usage(store)
        if keys & current.keys():
            _write(store, {k: v for k, v in current.items() if k not in keys})


def record_ollama_ps(store: ModelStore, ps_document: Mapping[str, object]) -> int:
    """Count the models an Ollama daemon's `GET /api/ps` lists as loaded as used now.

    Takes the decoded JSON so the caller chooses how (and how often) to ask the daemon.
    Returns how many models were recorded.
    """
    entries = ps_document.get("models")
    names: list[ModelName] = []
    if isinstance(entries, list):
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            text = entry.get("model") or entry.get("name")
            if isinstance(text, str):
                with contextlib.suppress(InvalidNameError):
                    names.append(parse_model_name(text))
    record_use(store, names)
    return len(names)


def _write(store: ModelStore, models: dict[str, float]) -> None:
    target = _path(store)
    tmp = target.with_name(f"{USAGE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps({"version": 1, "models": models}, indent=0, sort_keys=True))
    os.replace(tmp, target)
