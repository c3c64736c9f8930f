"""The registry mirrors in the Remote tab: one row per mirror with its last test, Add, Remove
and Test. Rows are plain data (`mirror_rows`); the widgets only show them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.registry.mirror_probe import MirrorProbe
from ecs_models.registry.mirrors import MIRRORS_ENV, ListedMirror
from ecs_models.ui.core.view import place
from ecs_models.ui.remote.layout import MirrorsLayout
from ecs_models.ui.widgets.name_entry import ModelNameEntry

TITLE = "Registry mirrors"
ENTRY_HINT = "registry.ollama.ai=http://cache.lan:5000"
NO_MIRRORS = "(none: pulls go straight to each registry)"
LOADING = "(reading the mirrors…)"


def mirror_rows(
    listed: Sequence[ListedMirror] | None,
    probes: Mapping[tuple[str, str], MirrorProbe],
    *,
    testing: bool,
) -> list[tuple[str, tuple[str, str] | None]]:
    """(text, (upstream, URL)) per mirror in the order pulls ask them; a placeholder row with
    no key while there are none."""
    if listed is None:
        return [(LOADING, None)]
    if not listed:
        return [(NO_MIRRORS, None)]
    rows: list[tuple[str, tuple[str, str] | None]] = []
    for row in listed:
        key = (row.upstream, row.mirror.url)
        text = f"{row.mirror.url}  for {row.upstream}"
        if row.origin == MIRRORS_ENV:
            text += f" ({MIRRORS_ENV})"
        probe = probes.get(key)
        if probe is not None:  # why one gave no answer is in the result line: rows are narrow
            text += f"  ·  {probe.summary() if probe.answered else 'no answer'}"
        elif testing:
            text += "  ·  testing…"
        rows.append((text, key))
    return rows


class MirrorsSection:
    """Title with Remove and Test, the rows, and the entry with Add."""

    def __init__(self, manager: pygame_gui.UIManager, container: Any, layout: MirrorsLayout):
        def button(rect: Any, text: str) -> Any:
            return pygame_gui.elements.UIButton(
                relative_rect=rect, text=text, manager=manager, container=container
            )

        self.title = pygame_gui.elements.UILabel(
            relative_rect=layout.title,
            text=TITLE,
            manager=manager,
            container=container,
            object_id=ObjectID(class_id="@ecsm_task_name"),
        )
        self.remove_button = button(layout.remove, "Remove")
        self.test_button = button(layout.test, "Test")
        self.rows_list = pygame_gui.elements.UISelectionList(
            relative_rect=layout.rows,
            item_list=[],
            manager=manager,
            container=container,
            allow_double_clicks=False,
        )
        self.entry = ModelNameEntry(
            relative_rect=layout.entry,
            manager=manager,
            container=container,
            placeholder_text=ENTRY_HINT,
        )
        self.add_button = button(layout.add, "Add")
        self.picked: tuple[str, str] | None = None
        self._keys: dict[str, tuple[str, str] | None] = {}
        self._texts: tuple[str, ...] = ()

    def pick(self, text: str | None) -> None:
        """A row was selected (its text) or dropped (None)."""
        self.picked = self._keys.get(text) if text is not None else None

    def show(self, rows: Sequence[tuple[str, tuple[str, str] | None]]) -> None:
        texts = tuple(text for text, _ in rows)
        if texts == self._texts:
            return
        self._texts = texts
        self._keys = dict(rows)
        self.rows_list.set_item_list(list(texts))
        if self.picked not in self._keys.values():
            self.picked = None
            return
        # The picked mirror stays picked when its row's text changes (a test's answer).
        for item in self.rows_list.item_list:
            if self._keys.get(item["text"]) == self.picked:
                item["selected"] = True
                if item["button_element"] is not None:
                    item["button_element"].select()

    @property
    def elements(self) -> tuple[Any, ...]:
        return (
            self.title,
            self.remove_button,
            self.test_button,
            self.rows_list,
            self.entry,
            self.add_button,
        )

    def place(self, layout: MirrorsLayout) -> None:
        rects = (layout.title, layout.remove, layout.test, layout.rows, layout.entry, layout.add)
        place(zip(self.elements, rects, strict=True))
