"""The Discover area's widgets: search, filter chips, results, details with tags, updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.catalog import CATEGORIES, SIZE_BUCKETS
from ecs_models.components.discover import DiscoverMode
from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.fit_text import set_fitted_text
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.core.visibility import hide, show
from ecs_models.ui.discover import intents as di
from ecs_models.ui.discover.layout import DETAIL_LINES, DiscoverLayout, compute_layout
from ecs_models.ui.widgets.keyed_list import KeyedList

PLACEHOLDER = "Search models (typos are fine)"
# Merged into the host's theme (object ids prefixed #ecsm_/@ecsm_, as the plugin's own theme).
THEME = {
    "#ecsm_discover_list.@selection_list_item": {
        "misc": {"text_horiz_alignment": "left", "text_horiz_alignment_padding": "6"}
    },
}
UPDATE_LABELS = ("Update", "Update all", "Pin", "Unpin")


def _label(manager: Any, box: Any, rect: pygame.Rect, object_id: ObjectID) -> Any:
    return pygame_gui.elements.UILabel(
        relative_rect=rect, text="", manager=manager, container=box, object_id=object_id
    )


def _button(manager: Any, box: Any, rect: pygame.Rect, text: str, **kwargs: Any) -> Any:
    return pygame_gui.elements.UIButton(
        relative_rect=rect, text=text, manager=manager, container=box, **kwargs
    )


class DiscoverView(View):
    """Widgets only: events become intents, and setters skip content already on screen."""

    def __init__(
        self, manager: pygame_gui.UIManager, rect: pygame.Rect, sources: Sequence[str]
    ) -> None:
        manager.get_theme().load_theme(THEME)
        super().__init__(manager, rect)
        self.intents: list[di.DiscoverIntent] = []
        self.layout = compute_layout(*self.get_container().get_rect().size)
        box = self.get_container()
        lay = self.layout
        self.entry = pygame_gui.elements.UITextEntryLine(
            relative_rect=lay.entry, manager=manager, container=box, placeholder_text=PLACEHOLDER
        )
        self.sources: list[str | tuple[str, str]] = list(sources)
        self.source_menu = pygame_gui.elements.UIDropDownMenu(
            options_list=self.sources,
            starting_option=self.sources[0],
            relative_rect=lay.source,
            manager=manager,
            container=box,
        )
        self.refresh_button = _button(manager, box, lay.refresh, "Refresh")
        chip = ObjectID(class_id="@ecsm_chip")
        self.category_chips = {
            name: _button(manager, box, r, name, object_id=chip)
            for name, r in zip(CATEGORIES, lay.categories, strict=True)
        }
        self.size_chips = {
            name: _button(manager, box, r, name, object_id=chip)
            for name, r in zip(SIZE_BUCKETS, lay.sizes, strict=True)
        }
        self.origin_label = _label(manager, box, lay.origin, ObjectID(object_id="#ecsm_status"))
        self.notice_label = _label(
            manager, box, lay.notice, ObjectID(object_id="#ecsm_notice_info")
        )
        self.mode_buttons = {
            mode: _button(manager, box, r, mode.value)
            for mode, r in zip(DiscoverMode, lay.modes, strict=True)
        }
        self.check_button = _button(manager, box, lay.check, "Check for updates")
        self.results = KeyedList(
            pygame_gui.elements.UISelectionList(
                relative_rect=lay.results,
                item_list=[],
                manager=manager,
                container=box,
                allow_double_clicks=False,
                object_id=ObjectID(object_id="#ecsm_discover_list"),
            )
        )
        self.detail_labels = [
            _label(manager, box, r, ObjectID(class_id="@ecsm_detail")) for r in lay.details
        ]
        self.tags_label = _label(manager, box, lay.tags_label, ObjectID(class_id="@ecsm_detail"))
        self.tags = KeyedList(
            pygame_gui.elements.UISelectionList(
                relative_rect=lay.tags,
                item_list=[],
                manager=manager,
                container=box,
                allow_double_clicks=False,
                object_id=ObjectID(object_id="#ecsm_discover_list"),
            )
        )
        self.install_button = _button(manager, box, lay.install, "Install")
        self.update_buttons = [
            _button(manager, box, r, text)
            for r, text in zip(lay.update_buttons, UPDATE_LABELS, strict=True)
        ]
        self.status_label = _label(manager, box, lay.status, ObjectID(object_id="#ecsm_status"))
        self._texts: dict[int, str] = {}
        self._notice: tuple[str, bool] = ("", False)
        self._mode = DiscoverMode.RESULTS
        self._chips: tuple[str | None, str | None] = (None, None)
        self._install: tuple[str, bool] | None = None
        self.show_mode(DiscoverMode.RESULTS, force=True)

    # -- input -------------------------------------------------------------------------
    def focus_entry(self) -> None:
        self.manager.set_focus_set(self.entry)

    def handle_event(self, event: pygame.event.Event) -> bool:
        handled, element = claim_event(self, event)
        if element is None:
            return handled
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and element is self.entry:
            self.intents.append(di.QueryChanged(self.entry.get_text()))
        elif event.type == pygame_gui.UI_BUTTON_PRESSED:
            self._pressed(element)
        elif event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED and element is self.source_menu:
            self.intents.append(di.SourceChosen(event.text))
        elif event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION:
            self._picked(element, event)
        return True

    def _pressed(self, element: object) -> None:
        for name, chip in self.category_chips.items():
            if element is chip:
                self.intents.append(di.CategoryToggled(name))
        for name, chip in self.size_chips.items():
            if element is chip:
                self.intents.append(di.SizeToggled(name))
        for mode, button in self.mode_buttons.items():
            if element is button:
                self.intents.append(di.ModeChosen(mode))
        if element is self.refresh_button:
            self.intents.append(di.RefreshPressed())
        elif element is self.check_button:
            self.intents.append(di.CheckPressed())
        elif element is self.install_button:
            self.intents.append(di.InstallPressed())
        elif element is self.update_buttons[0]:
            self.intents.append(di.UpdatePressed(every=False))
        elif element is self.update_buttons[1]:
            self.intents.append(di.UpdatePressed(every=True))
        elif element is self.update_buttons[2]:
            self.intents.append(di.PinPressed(pinned=True))
        elif element is self.update_buttons[3]:
            self.intents.append(di.PinPressed(pinned=False))

    def _picked(self, element: object, event: pygame.event.Event) -> None:
        if element is self.results.widget:
            key = self.results.key_of(event)
            if key is None:
                return
            if self._mode is DiscoverMode.UPDATES:
                self.intents.append(di.ModelChosen(key))
            else:
                name, _, tag = key.partition("\t")
                self.intents.append(di.EntryChosen(name, tag or None))
        elif element is self.tags.widget:
            key = self.tags.key_of(event)
            if key is not None:
                self.intents.append(di.TagChosen(key))

    def drain_intents(self) -> list[di.DiscoverIntent]:
        drained, self.intents = self.intents, []
        return drained

    # -- output ------------------------------------------------------------------------
    def _set(self, label: Any, text: str) -> None:
        if self._texts.get(id(label)) != text:
            self._texts[id(label)] = text
            set_fitted_text(label, text, padding=2)  # a long line: cut, whole on hover

    def show_origin(self, text: str) -> None:
        self._set(self.origin_label, text)

    def show_status(self, text: str) -> None:
        self._set(self.status_label, text)

    def show_notice(self, text: str, *, error: bool) -> None:
        self._notice = show_notice_text(self.notice_label, self._notice, text, error)

    def show_details(self, lines: Sequence[str]) -> None:
        padded = list(lines[:DETAIL_LINES]) + [""] * (DETAIL_LINES - len(lines))
        for label, text in zip(self.detail_labels, padded, strict=True):
            self._set(label, text)

    def show_tags_label(self, text: str) -> None:
        self._set(self.tags_label, text)

    def show_install(self, text: str, enabled: bool) -> None:
        if (text, enabled) == self._install:
            return
        self._install = (text, enabled)
        self.install_button.set_text(text)
        if enabled:
            self.install_button.enable()
        else:
            self.install_button.disable()

    def show_chips(self, category: str | None, size: str | None) -> None:
        if (category, size) == self._chips:
            return
        self._chips = (category, size)
        for chips, chosen in ((self.category_chips, category), (self.size_chips, size)):
            for name, chip in chips.items():
                if name == chosen:
                    chip.select()
                else:
                    chip.unselect()

    def show_mode(self, mode: DiscoverMode, *, force: bool = False) -> None:
        """Browse modes show tags and Install; Updates shows its buttons in their place."""
        if mode is self._mode and not force:
            return
        self._mode = mode
        for each, button in self.mode_buttons.items():
            if each is mode:
                button.select()
            else:
                button.unselect()
        browse = (self.tags_label, self.tags.widget, self.install_button)
        if not self.visible:
            return  # show() applies the mode when the tab opens
        if mode is DiscoverMode.UPDATES:
            hide(*browse)
            show(*self.update_buttons)
        else:
            hide(*self.update_buttons)
            show(*browse)

    @property
    def mode(self) -> DiscoverMode:
        return self._mode

    def show(self, show_contents: bool = True) -> None:
        # UIPanel.show shows every child: hide again what the current mode does not use.
        super().show(show_contents)
        self.show_mode(self._mode, force=True)

    # -- geometry ----------------------------------------------------------------------
    def resize(self, rect: pygame.Rect) -> None:
        self.move_to(rect)
        self.layout = compute_layout(*self.get_container().get_rect().size)
        self._apply_layout(self.layout)

    def _apply_layout(self, lay: DiscoverLayout) -> None:
        placed: list[tuple[Any, pygame.Rect]] = [
            (self.entry, lay.entry),
            (self.source_menu, lay.source),
            (self.refresh_button, lay.refresh),
            (self.origin_label, lay.origin),
            (self.notice_label, lay.notice),
            (self.check_button, lay.check),
            (self.results.widget, lay.results),
            (self.tags_label, lay.tags_label),
            (self.tags.widget, lay.tags),
            (self.install_button, lay.install),
            (self.status_label, lay.status),
            *zip(self.category_chips.values(), lay.categories, strict=True),
            *zip(self.size_chips.values(), lay.sizes, strict=True),
            *zip(self.mode_buttons.values(), lay.modes, strict=True),
            *zip(self.detail_labels, lay.details, strict=True),
            *zip(self.update_buttons, lay.update_buttons, strict=True),
        ]
        place(placed)
        for label in (self.origin_label, self.status_label, self.tags_label, *self.detail_labels):
            set_fitted_text(label, self._texts.get(id(label), label.text), padding=2)
