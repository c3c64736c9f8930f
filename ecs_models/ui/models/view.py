"""The Models area's view: entry, installed list, details and downloads, turning events into intents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.components.panel import ModelSortCriteria
from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.fit_text import set_fitted_text
from ecs_models.ui.core.layout import MARGIN
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.models import intents
from ecs_models.ui.models.capability_tags import CapabilityTags
from ecs_models.ui.models.layout import ModelsLayout, compute_layout
from ecs_models.ui.models.streams_menu import StreamsMenu
from ecs_models.ui.widgets.confirm import ConfirmPopover
from ecs_models.ui.widgets.downloads import DownloadRowView, DownloadsList
from ecs_models.ui.widgets.filtered_list import FilteredList
from ecs_models.ui.widgets.keyboard import typing_in_entry
from ecs_models.ui.widgets.name_entry import ModelNameEntry

PLACEHOLDER = "Enter a model name"


class ModelManagerView(View):
    """The Models area's widgets; `intents` collects what the user did since the last drain.

    Setters compare with what is already shown: pygame_gui rebuilds text and lists expensively
    (a 50-row list costs about 15 ms), so nothing is redrawn unless its content changed.
    """

    def __init__(self, manager: pygame_gui.UIManager, rect: pygame.Rect) -> None:
        super().__init__(manager, rect)
        self.intents: list[intents.UiIntent] = []
        self.layout = compute_layout(*self.get_container().get_rect().size)
        box = self.get_container()
        lay = self.layout
        self.entry = ModelNameEntry(
            relative_rect=lay.entry, manager=manager, container=box, placeholder_text=PLACEHOLDER
        )
        self.install_button = pygame_gui.elements.UIButton(
            relative_rect=lay.install, text="Install", manager=manager, container=box
        )
        self.streams_menu = StreamsMenu(manager, box, lay.streams)
        self.notice_label = pygame_gui.elements.UILabel(
            relative_rect=lay.notice,
            text="",
            manager=manager,
            container=box,
            object_id=ObjectID(object_id="#ecsm_notice_info"),
        )
        # The removal question opens under the Remove button when a removal plan is ready.
        self.confirm = ConfirmPopover(manager, box, yes="Remove")
        # Rows are created when downloads appear and killed when they go: hidden widgets would
        # still cost pygame_gui's per-frame hover checks. With none, the list takes no room.
        self.downloads = DownloadsList(manager, box, lay.downloads)
        # Discarding deletes bytes: asked by the row's Discard button.
        self.discard_confirm = ConfirmPopover(manager, box, yes="Discard")
        self._discard_question: tuple[int, str] | None = None
        self._download_count = 0
        # The filter box, its count ("12 of 150  ·  2 selected") and the installed list.
        self.filtered = FilteredList(
            manager,
            box,
            entry=lay.filter_entry,
            count=lay.installed_label,
            rows=lay.models_list,
            list_id="#ecsm_models_list",
        )
        self.installed_label = self.filtered.count_label
        self.models_list = self.filtered.list
        self.remove_button = pygame_gui.elements.UIButton(
            relative_rect=lay.remove, text="Remove", manager=manager, container=box
        )
        self.verify_button = pygame_gui.elements.UIButton(
            relative_rect=lay.verify, text="Verify", manager=manager, container=box
        )
        self.sort_menu = pygame_gui.elements.UIDropDownMenu(
            options_list=[c.value for c in ModelSortCriteria],
            starting_option=ModelSortCriteria.NAME.value,
            relative_rect=lay.sort,
            manager=manager,
            container=box,
        )
        self.detail_labels = [
            pygame_gui.elements.UILabel(
                relative_rect=r,
                text="",
                manager=manager,
                container=box,
                object_id=ObjectID(class_id="@ecsm_detail"),
            )
            for r in lay.details
        ]
        self.capability_tags = CapabilityTags(manager, box)
        self.status_label = pygame_gui.elements.UILabel(
            relative_rect=lay.status,
            text="",
            manager=manager,
            container=box,
            object_id=ObjectID(object_id="#ecsm_status"),
        )
        self._details: tuple[str, ...] = ()
        self._tags: tuple[tuple[str, ...], int | None] = ((), None)
        self._status = ""
        self._notice: tuple[str, bool] = ("", False)
        self._confirmation: str | None = None
        self._sort = ModelSortCriteria.NAME

    # -- input -------------------------------------------------------------------------
    def focus_entry(self) -> None:
        self.manager.set_focus_set(self.entry)

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Turn this view's UI events into intents; True when the event was ours."""
        self.models_list.note_input(event)
        if self.visible:
            answer = self.confirm.answer(event)
            if answer is not None:
                self.intents.append(intents.RemovalAnswered(confirmed=answer))
                return True
            answer = self.discard_confirm.answer(event)
            if answer is not None:
                self.intents.append(intents.DiscardAnswered(confirmed=answer))
                return True
            if self.filtered.handle_key(event):
                return True
            if self._delete_key(event):
                return True
        typed = self.filtered.follow_typing(event)
        if typed is not None:
            self.intents.append(intents.SelectionChanged(typed.selected, typed.focused))
        handled, element = claim_event(self, event)
        if element is None:
            return handled
        picked = self.filtered.handle_event(event, element)
        if picked is not None:
            self.intents.append(intents.SelectionChanged(picked.selected, picked.focused))
            return True
        if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED and element is self.entry:
            self.intents.append(intents.InstallPressed(self.entry.get_text()))
        elif event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and element is self.entry:
            self.intents.append(intents.InputChanged(self.entry.get_text()))
        elif event.type == pygame_gui.UI_BUTTON_PRESSED:
            self._button_pressed(element)
        elif event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED and element is self.sort_menu:
            self.intents.append(intents.SortChanged(ModelSortCriteria(event.text)))
        elif (streams := self.streams_menu.chosen(event, element)) is not None:
            self.intents.append(intents.StreamsChanged(streams))
        return True

    def _button_pressed(self, element: object) -> None:
        if element is self.install_button:
            self.intents.append(intents.InstallPressed(self.entry.get_text()))
        elif element is self.remove_button:
            self.intents.append(intents.RemovePressed())
        elif element is self.verify_button:
            self.intents.append(intents.VerifyPressed())
        elif self.downloads.is_clear(element):
            self.intents.append(intents.ClearFinishedPressed())
        elif (pressed := self.downloads.action(element)) is not None:
            self.intents.append(intents.DownloadButtonPressed(*pressed))

    def _delete_key(self, event: pygame.event.Event) -> bool:
        """Delete (not while typing) asks to remove the selected models, as Remove does."""
        if event.type != pygame.KEYDOWN or event.key != pygame.K_DELETE:
            return False
        if typing_in_entry(self.manager) or self.confirm.is_open or self.discard_confirm.is_open:
            return False
        self.intents.append(intents.RemovePressed())
        return True

    def drain_intents(self) -> list[intents.UiIntent]:
        drained, self.intents = self.intents, []
        return drained

    # -- output ------------------------------------------------------------------------
    def clear_entry(self) -> None:
        self.entry.set_text("")

    def restore_entry(self, text: str) -> bool:
        """Put a failed name back for correcting, unless the person has typed something else."""
        if self.entry.get_text():
            return False
        self.entry.set_text(text)
        return True

    def show_models(
        self,
        items: Sequence[tuple[str, str]],
        selected: AbstractSet[str],
        search: Mapping[str, str] | None = None,
    ) -> bool:
        """Show (text, model name) items that pass the filter (which searches `search[name]`,
        else the text), with `selected` names highlighted; True when the list changed. A row
        whose text alone changed (a health badge) keeps the list's scroll."""
        return self.filtered.show(items, selected, search)

    def focus_filter(self) -> None:
        self.filtered.focus_filter()

    def show_sort(self, criteria: ModelSortCriteria) -> None:
        if criteria != self._sort:
            self._sort = criteria
            self.sort_menu.selected_option = (criteria.value, criteria.value)
            self.sort_menu.rebuild()

    def show_details(
        self, lines: Sequence[str], tags: Sequence[str] = (), tags_row: int | None = None
    ) -> None:
        """Detail lines, and `tags` as small labels in line `tags_row` (which `lines` leaves
        empty or labels)."""
        self._tags = (tuple(tags), tags_row)
        self._show_tags()
        padded = tuple(lines) + ("",) * (len(self.detail_labels) - len(lines))
        if padded == self._details:
            return
        for label, old, new in zip(
            self.detail_labels, self._details or padded, padded, strict=False
        ):
            if old != new or not self._details:
                # A long line ("Fit: ...") is cut to the pane with the whole line on hover.
                set_fitted_text(label, new, padding=2)
        self._details = padded

    def _show_tags(self) -> None:
        tags, row = self._tags
        rects = self.layout.details
        rect = rects[row] if row is not None and row < len(rects) else None
        self.capability_tags.show(tags, rect)

    def show_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            set_fitted_text(self.status_label, text, padding=2)

    def show_notice(self, text: str, *, error: bool) -> None:
        self._notice = show_notice_text(self.notice_label, self._notice, text, error)

    def show(self, show_contents: bool = True) -> None:
        """Show the view again (switching back to its tab) without reviving hidden widgets.

        UIPanel.show() shows every child; capability tags not in use, an empty downloads list
        and unused row buttons go back into hiding.
        """
        super().show(show_contents)
        self.capability_tags.rehide()
        self.downloads.rehide()

    def show_confirmation(self, text: str | None) -> None:
        """Open the removal question by the Remove button, or close it (None)."""
        if text == self._confirmation:
            return
        self._confirmation = text
        if text is None:
            self.confirm.close()
        else:
            self.confirm.open(text, self.layout.confirm, self.layout.remove)

    def show_tasks(
        self, rows: Sequence[DownloadRowView], summary: str = "", can_clear: bool = False
    ) -> None:
        """The downloads list; the view is laid out again when its number of rows changes
        (the list grows up to its visible rows, and takes no room when empty)."""
        if len(rows) != self._download_count:
            self._download_count = len(rows)
            self.layout = compute_layout(
                *self.get_container().get_rect().size, downloads=len(rows)
            )
            self._apply_layout(self.layout)
        self.downloads.show(rows, summary, can_clear)

    def show_discard_question(self, task_entity: int | None, text: str = "") -> None:
        """Ask under the row's Discard button whether to delete its partial download (None
        closes the question)."""
        asked = (task_entity, text) if task_entity is not None else None
        if asked == self._discard_question:
            return
        self._discard_question = asked
        anchor = self.downloads.button_rect(task_entity, "Discard") if task_entity else None
        if asked is None or anchor is None:
            self.discard_confirm.close()
            return
        box = self.get_container().get_rect()
        width = min(420, box.width - 2 * MARGIN)
        place = pygame.Rect(max(MARGIN, anchor.right - width), anchor.bottom + 4, width, 0)
        place.height = box.height - MARGIN - place.y
        self.discard_confirm.open(text, place, anchor)

    # -- geometry ----------------------------------------------------------------------
    def resize(self, rect: pygame.Rect) -> None:
        """Follow the window: move and size every widget by the layout of the new size."""
        self.move_to(rect)
        self.layout = compute_layout(
            *self.get_container().get_rect().size, downloads=self._download_count
        )
        self._apply_layout(self.layout)

    def _apply_layout(self, lay: ModelsLayout) -> None:
        placed = (
            (self.entry, lay.entry),
            (self.install_button, lay.install),
            (self.notice_label, lay.notice),
            (self.remove_button, lay.remove),
            (self.verify_button, lay.verify),
            (self.sort_menu, lay.sort),
            (self.status_label, lay.status),
            *zip(self.detail_labels, lay.details, strict=True),
        )
        place(placed)
        self.filtered.place(lay.filter_entry, lay.installed_label, lay.models_list)
        # The widths changed: cut the details and the status line to them again.
        for label, text in zip(self.detail_labels, self._details, strict=False):
            set_fitted_text(label, text, padding=2)
        set_fitted_text(self.status_label, self._status, padding=2)
        self._show_tags()
        if self._confirmation is not None:
            self.confirm.open(self._confirmation, lay.confirm, lay.remove)
        if lay.downloads.height:
            self.downloads.place(lay.downloads)
        if self._discard_question is not None:  # ask again by the button's new place
            asked, self._discard_question = self._discard_question, None
            self.show_discard_question(*asked)
        self.streams_menu.place(lay.streams)
