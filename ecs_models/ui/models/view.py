"""The Models area's view: entry, installed list, details and downloads, turning events into intents."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.components.panel import ModelSortCriteria
from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.layout import MARGIN
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.models import intents
from ecs_models.ui.models.capability_tags import CapabilityTags
from ecs_models.ui.models.layout import ModelsLayout, compute_layout
from ecs_models.ui.models.streams_menu import StreamsMenu
from ecs_models.ui.widgets.confirm import ConfirmPopover
from ecs_models.ui.widgets.downloads import DownloadRowView, DownloadsList
from ecs_models.ui.widgets.name_entry import ModelNameEntry
from ecs_models.ui.widgets.selection_list import DesktopSelectionList

PLACEHOLDER = "Enter a model name"
INSTALLED_TITLE = "Installed models"


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
        self.installed_label = pygame_gui.elements.UILabel(
            relative_rect=lay.installed_label,
            text=INSTALLED_TITLE,
            manager=manager,
            container=box,
            object_id=ObjectID(class_id="@ecsm_task_name"),  # left-aligned over the list
        )
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
        self.models_list = DesktopSelectionList(
            relative_rect=lay.models_list,
            item_list=[],
            manager=manager,
            container=box,
            object_id=ObjectID(object_id="#ecsm_models_list"),
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
        self._item_names: dict[str, str] = {}
        self._items: tuple[str, ...] = ()
        self._shown_selection: frozenset[str] = frozenset()
        self._focused: str | None = None
        self._details: tuple[str, ...] = ()
        self._tags: tuple[tuple[str, ...], int | None] = ((), None)
        self._status = ""
        self._notice: tuple[str, bool] = ("", False)
        self._confirmation: str | None = None
        self._selected_caption = INSTALLED_TITLE
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
        handled, element = claim_event(self, event)
        if element is None:
            return handled
        if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED and element is self.entry:
            self.intents.append(intents.InstallPressed(self.entry.get_text()))
        elif event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and element is self.entry:
            self.intents.append(intents.InputChanged(self.entry.get_text()))
        elif event.type == pygame_gui.UI_BUTTON_PRESSED:
            self._button_pressed(element)
        elif (
            event.type
            in (
                pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
                pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION,
            )
            and element is self.models_list
        ):
            self._selection_changed(event)
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

    def _selection_changed(self, event: pygame.event.Event) -> None:
        selected = frozenset(
            self._item_names[text]
            for text in self.models_list.get_multi_selection()
            if text in self._item_names
        )
        clicked = self._item_names.get(getattr(event, "text", ""), None)
        if event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION and clicked is not None:
            self._focused = clicked
        elif self._focused not in selected:
            self._focused = max(selected) if selected else None
        self._shown_selection = selected
        self._show_selected_count()
        self.intents.append(intents.SelectionChanged(selected, self._focused))

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

    def show_models(self, items: Sequence[tuple[str, str]], selected: AbstractSet[str]) -> bool:
        """Show (text, model name) items with `selected` names highlighted; True if rebuilt."""
        texts = tuple(text for text, _ in items)
        wanted = frozenset(selected)
        if texts == self._items and wanted == self._shown_selection:
            return False
        if texts != self._items:
            same_rows = [self._item_names.get(t) for t in self._items] == [n for _, n in items]
            self._item_names = {text: name for text, name in items}
            self._items = texts
            # Only a row's text changed (a health badge): keep the scroll (a rebuild resets it).
            if not (same_rows and self.models_list.retext(list(texts))):
                self.models_list.set_item_list(list(texts))
        self.models_list.set_selected_texts(
            {text for text, name in self._item_names.items() if name in wanted}
        )
        self._shown_selection = wanted
        self._show_selected_count()
        return True

    def _show_selected_count(self) -> None:
        count = self.models_list.selected_count()
        caption = INSTALLED_TITLE
        if count:
            # The long form when it fits beside the Remove button, else just the count.
            caption = f"{INSTALLED_TITLE}  ·  {count} selected"
            font = self.installed_label.font
            if font is None or font.size(caption)[0] > self.installed_label.rect.width - 8:
                caption = f"{count} selected"
        if caption != self._selected_caption:
            self._selected_caption = caption
            self.installed_label.set_text(caption)

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
                label.set_text(new)
        self._details = padded

    def _show_tags(self) -> None:
        tags, row = self._tags
        rects = self.layout.details
        rect = rects[row] if row is not None and row < len(rects) else None
        self.capability_tags.show(tags, rect)

    def show_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self.status_label.set_text(text)

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
            (self.installed_label, lay.installed_label),
            (self.remove_button, lay.remove),
            (self.verify_button, lay.verify),
            (self.sort_menu, lay.sort),
            (self.models_list, lay.models_list),
            (self.status_label, lay.status),
            *zip(self.detail_labels, lay.details, strict=True),
        )
        place(placed)
        self._show_tags()
        self._selected_caption = ""  # the label's width changed: choose its caption again
        self._show_selected_count()
        if self._confirmation is not None:
            self.confirm.open(self._confirmation, lay.confirm, lay.remove)
        if lay.downloads.height:
            self.downloads.place(lay.downloads)
        if self._discard_question is not None:  # ask again by the button's new place
            asked, self._discard_question = self._discard_question, None
            self.show_discard_question(*asked)
        self.streams_menu.place(lay.streams)
