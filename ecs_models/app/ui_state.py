"""What the window remembers between runs: its size and each list's sort order.

Kept in the config dir beside credentials.json and hosts.json (`$XDG_CONFIG_HOME/ecs_models`,
else ~/.config/ecs_models), read once before the window opens and written once when it closes,
so no frame waits for the disk. A missing or damaged file means the defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ecs_models.registry.credentials import config_home

UI_STATE_FILE_NAME = "window.json"
MODELS_LIST = "models"  # the Models tab's installed list (the only list with a sort choice)


def ui_state_file() -> Path:
    return config_home() / UI_STATE_FILE_NAME


@dataclass(slots=True)
class UiState:
    window_size: tuple[int, int] | None = None
    sort_orders: dict[str, str] = field(default_factory=dict)  # list -> criteria value


def load_ui_state(path: Path) -> UiState:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UiState()
    if not isinstance(doc, dict):
        return UiState()
    size = doc.get("window_size")
    window_size = None
    if (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and 0 < v < 100_000 for v in size)
    ):
        window_size = (size[0], size[1])
    sorts = doc.get("sort_orders")
    sort_orders = (
        {k: v for k, v in sorts.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(sorts, dict)
        else {}
    )
    return UiState(window_size, sort_orders)


def save_ui_state(path: Path, state: UiState) -> None:
    """Written by temp file and rename, so a crash leaves the old file or the new one."""
    doc = {
        "window_size": list(state.window_size) if state.window_size is not None else None,
        "sort_orders": dict(sorted(state.sort_orders.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
