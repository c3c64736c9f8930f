"""One Ollama host as three lines: reachable or not and version; installed; loaded and memory."""

from __future__ import annotations

from typing import Any

import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.formatting import human_bytes
from ecs_models.runtime.hosts import HostStatus
from ecs_models.ui.core.fit_text import set_fitted_text
from ecs_models.ui.core.visibility import kill
from ecs_models.ui.remote.layout import HostCardLayout

# Object ids of the header line by what is known about the host.
_HEADER_IDS = {
    "up": "#ecsm_notice_info",
    "down": "#ecsm_notice_error",
    "checking": "#ecsm_status",
}
_MAX_NAMES_CHARS = 90


def _names(names: list[str]) -> str:
    text = ", ".join(names)
    return text if len(text) <= _MAX_NAMES_CHARS else text[: _MAX_NAMES_CHARS - 1] + "…"


def host_lines(url: str, status: HostStatus | None) -> tuple[str, tuple[str, str, str]]:
    """(kind, lines) for one host: kind is "up", "down" or "checking"."""
    if status is None:
        return "checking", (f"{url}  ·  checking…", "", "")
    if not status.reachable:
        return "down", (
            f"{url}  ·  not reachable",
            # The sentence's first clause says why; the advice after ';' does not fit a row.
            (status.error or "No answer.").split(";")[0].rstrip(".") + ".",
            "Its models and free memory are unknown while it does not answer.",
        )
    version = f"Ollama {status.version}" if status.version else "Ollama"
    installed = [m.name for m in status.installed]
    loaded = [m.name for m in status.loaded]
    memory = []
    if status.free_ram is not None:
        memory.append(f"free RAM {human_bytes(status.free_ram)}")
    if status.free_vram is not None:
        memory.append(f"free VRAM {human_bytes(status.free_vram)}")
    return "up", (
        f"{url}  ·  reachable  ·  {version}",
        f"Installed ({len(installed)}): {_names(installed) or 'none'}",
        f"Loaded ({len(loaded)}): {_names(loaded) or 'none'}  ·  "
        + (", ".join(memory) if memory else "free memory not reported by the API"),
    )


class HostCard:
    """Three labels and the host's own Remove button; `show_host` skips lines that did not
    change (set_text re-renders). `url` is the host this card shows."""

    def __init__(
        self, manager: pygame_gui.UIManager, container: Any, layout: HostCardLayout
    ) -> None:
        self.url = ""
        self._kind = "checking"
        self._lines: tuple[str, str, str] = ("", "", "")
        self.header = pygame_gui.elements.UILabel(
            relative_rect=layout.header,
            text="",
            manager=manager,
            container=container,
            object_id=ObjectID(object_id=_HEADER_IDS["checking"]),
        )
        self.installed, self.loaded = (
            pygame_gui.elements.UILabel(
                relative_rect=rect,
                text="",
                manager=manager,
                container=container,
                object_id=ObjectID(class_id="@ecsm_detail"),
            )
            for rect in (layout.installed, layout.loaded)
        )
        self.remove_button = pygame_gui.elements.UIButton(
            relative_rect=layout.remove,
            text="Remove",
            manager=manager,
            container=container,
        )

    @property
    def lines(self) -> tuple[str, str, str]:
        return self._lines

    @property
    def kind(self) -> str:
        return self._kind

    def show_host(self, kind: str, lines: tuple[str, str, str]) -> None:
        if kind != self._kind:
            self._kind = kind
            self.header.change_object_id(ObjectID(object_id=_HEADER_IDS[kind]))
        for label, old, new in zip(
            (self.header, self.installed, self.loaded), self._lines, lines, strict=True
        ):
            if old != new:
                set_fitted_text(label, new, padding=2)  # a long error: whole on hover
        self._lines = lines

    def place(self, layout: HostCardLayout) -> None:
        for label, rect in (
            (self.header, layout.header),
            (self.installed, layout.installed),
            (self.loaded, layout.loaded),
            (self.remove_button, layout.remove),
        ):
            label.set_relative_position(rect.topleft)
            label.set_dimensions(rect.size)
        for label, text in zip(
            (self.header, self.installed, self.loaded), self._lines, strict=True
        ):
            set_fitted_text(label, text, padding=2)  # cut again to the new width

    def kill(self) -> None:
        kill(self.header, self.installed, self.loaded, self.remove_button)
