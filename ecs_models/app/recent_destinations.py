"""Destinations a person pushed or mirrored to lately, kept in the config dir for the picker."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ecs_models.registry.credentials import config_home

RECENT_FILE_NAME = "recent-destinations.json"
MAX_RECENT = 8


def recent_destinations_file() -> Path:
    return config_home() / RECENT_FILE_NAME


def load_recent(path: Path) -> list[str]:
    """The saved list, newest first; a missing or damaged file is an empty list."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(doc, list):
        return []
    return [x for x in dict.fromkeys(doc) if isinstance(x, str) and x.strip()][:MAX_RECENT]


def remember(recent: list[str], destination: str) -> list[str]:
    """`destination` moved to the front, without duplicates, at most MAX_RECENT long."""
    text = destination.strip()
    return [text, *(d for d in recent if d != text)][:MAX_RECENT]


def save_recent(path: Path, recent: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(recent[:MAX_RECENT], indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
