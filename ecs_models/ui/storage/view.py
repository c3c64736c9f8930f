"""The Storage tab's widgets: report list, totals, verify/repair, disk gauge, cleanup, export/import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.storage.disk import DiskStatus
from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.fit_text import set_fitted_text
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.storage import intents
from ecs_models.ui.storage.gauge import DiskGauge
from ecs_models.ui.storage.layout import StorageLayout, compute_storage_layout
from ecs_models.ui.widgets.confirm import ConfirmPopover
from ecs_models.ui.widgets.filtered_list import FilteredList
from ecs_models.ui.widgets.progress_bar import TransferProgressBar
from ecs_models.ui.widgets.selection_list import DesktopSelectionList

PATH_PLACEHOLDER = "Archive path, e.g. ~/model.tar"
CLEAN_ALL = "Clean all…"


class StorageView(View):
    """Every widget of the Storage area; setters skip content that is already shown."""

    def __init__(self, manager: pygame_gui.UIManager, rect: pygame.Rect) -> None:
        super().__init__(manager, rect)
        self.intents: list[intents.StorageIntent] = []
        box = self.get_container()
        lay = self.layout = compute_storage_layout(*box.get_rect().size)

        self._full_texts: dict[Any, str] = {}  # label -> its whole text (the label may cut it)

        def label(rect: pygame.Rect, text: str = "", oid: str | None = None) -> Any:
            object_id = ObjectID(object_id=oid) if oid else ObjectID(class_id="@ecsm_detail")
            made = pygame_gui.elements.UILabel(
                relative_rect=rect, text="", manager=manager, container=box, object_id=object_id
            )
            if text:
                self._fitted(made, text)  # a title too long for a narrow window is cut
            return made

        def button(rect: pygame.Rect, text: str, visible: int = 1) -> Any:
            return pygame_gui.elements.UIButton(
                relative_rect=rect, text=text, manager=manager, container=box, visible=visible
            )

        def selection_list(rect: pygame.Rect) -> DesktopSelectionList:
            return DesktopSelectionList(
                relative_rect=rect,
                item_list=[],
                manager=manager,
                container=box,
                object_id=ObjectID(object_id="#ecsm_storage_list"),
            )

        self.report_title = label(lay.report_title, "Storage report (reading the store…)")
        self.total_labels = [label(r) for r in lay.totals]
        # The filter box and its count above the report's rows.
        self.report_filtered = FilteredList(
            manager,
            box,
            entry=lay.report_filter,
            count=lay.report_count,
            rows=lay.report_list,
            list_id="#ecsm_storage_list",
        )
        self.report_list = self.report_filtered.list
        self.refresh_button = button(lay.refresh, "Refresh")
        self.verify_button = button(lay.verify, "Verify all")
        self.repair_button = button(lay.repair, "Repair")
        self.cancel_button = button(lay.cancel, "Cancel")
        self.progress_bar = TransferProgressBar(
            relative_rect=lay.progress,
            manager=manager,
            container=box,
            object_id=ObjectID(object_id="#ecsm_task_bar"),
        )
        self.health_labels = [label(r) for r in lay.health]
        self.disk_title = label(lay.disk_title, "Models filesystem")
        self.gauge = DiskGauge(lay.gauge, manager=manager, container=box)
        self.disk_labels = [label(r) for r in lay.disk_lines]
        self.cleanup_title = label(lay.cleanup_title, "Cleanup (dry run: nothing deleted yet)")
        self.cleanup_list = selection_list(lay.cleanup_list)
        self.cleanup_total = label(lay.cleanup_total)
        self.clean_button = button(lay.clean, CLEAN_ALL)
        self.confirm = ConfirmPopover(manager, box, yes="Delete")
        self.files_title = label(lay.files_title, "Export the selected model, or import a file")
        self.path_entry = pygame_gui.elements.UITextEntryLine(
            relative_rect=lay.path_entry,
            manager=manager,
            container=box,
            placeholder_text=PATH_PLACEHOLDER,
        )
        self.zstd_box = pygame_gui.elements.UICheckBox(
            relative_rect=pygame.Rect(lay.zstd.x, lay.zstd.y + 7, 16, 16),
            text="zstd",
            manager=manager,
            container=box,
        )
        self.export_button = button(lay.export, "Export")
        self.import_button = button(lay.import_, "Import")
        self.notice_label = label(lay.notice, "", "#ecsm_notice_info")
        self._shown: dict[str, object] = {}
        self._cleanup_paths: dict[str, str] = {}  # cleanup row text -> the item's path
        self._default_path = ""

    # -- input -------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        self.report_list.note_input(event)
        self.cleanup_list.note_input(event)
        if self.visible:
            answer = self.confirm.answer(event)
            if answer is not None:
                self.intents.append(intents.CleanAnswered(confirmed=answer))
                return True
            if self.report_filtered.handle_key(event):
                return True
        typed = self.report_filtered.follow_typing(event)
        if typed is not None:
            self.intents.append(intents.SelectionChanged(typed.selected, typed.focused))
        handled, element = claim_event(self, event)
        if element is None:
            return handled
        picked = self.report_filtered.handle_event(event, element)
        if picked is not None:
            self.intents.append(intents.SelectionChanged(picked.selected, picked.focused))
            return True
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            self._button_pressed(element)
        elif event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED and element is self.path_entry:
            pass  # Enter alone is ambiguous (export or import?): the buttons say which
        elif (
            event.type
            in (
                pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
                pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION,
            )
            and element is self.cleanup_list
        ):
            picked = self.cleanup_list.get_multi_selection()
            paths = frozenset(self._cleanup_paths[t] for t in picked if t in self._cleanup_paths)
            self.intents.append(intents.CleanupSelectionChanged(paths))
        return True

    def _button_pressed(self, element: object) -> None:
        path = self.path_entry.get_text().strip()
        pressed: dict[int, intents.StorageIntent] = {
            id(self.refresh_button): intents.RefreshPressed(),
            id(self.verify_button): intents.VerifyPressed(),
            id(self.repair_button): intents.RepairPressed(),
            id(self.cancel_button): intents.CancelPressed(),
            id(self.clean_button): intents.CleanPressed(),
            id(self.export_button): intents.ExportPressed(path, bool(self.zstd_box.get_state())),
            id(self.import_button): intents.ImportPressed(path),
        }
        intent = pressed.get(id(element))
        if intent is not None:
            self.intents.append(intent)

    def drain_intents(self) -> list[intents.StorageIntent]:
        drained, self.intents = self.intents, []
        return drained

    # -- output ------------------------------------------------------------------------
    def _changed(self, key: str, value: object) -> bool:
        if self._shown.get(key, object()) == value:
            return False
        self._shown[key] = value
        return True

    def forget_shown(self) -> None:
        """Make the next sync redraw everything (the view was hidden while things changed)."""
        self._shown.clear()

    def show_title(self, text: str) -> None:
        if self._changed("title", text):
            self._fitted(self.report_title, text)

    def _fitted(self, label: Any, text: str) -> None:
        """Show `text` cut to the label's width (whole on hover); kept to cut again on resize."""
        self._full_texts[label] = text
        set_fitted_text(label, text, padding=2)

    def show_lines(self, key: str, labels: Sequence[Any], lines: Sequence[str]) -> None:
        padded = tuple(lines) + ("",) * (len(labels) - len(lines))
        old = self._shown.get(key)
        if not self._changed(key, padded):
            return
        for i, (widget, text) in enumerate(zip(labels, padded, strict=False)):
            if not isinstance(old, tuple) or old[i] != text:
                self._fitted(widget, text)

    def show_report_rows(
        self,
        rows: Sequence[tuple[str, str]],
        selected: AbstractSet[str],
        search: Mapping[str, str] | None = None,
    ) -> None:
        """(text, model name) rows that pass the filter (which searches `search[name]`, else
        the text); the selection and the scroll are kept across rebuilds (a badge changed)."""
        self.report_filtered.show(rows, selected, search)

    def show_cleanup_rows(self, rows: Sequence[tuple[str, str]], picked: AbstractSet[str]) -> None:
        """(text, path) rows of the cleanup dry run, with the `picked` paths highlighted."""
        texts = tuple(text for text, _ in rows)
        if not self._changed("cleanup_rows", (texts, frozenset(picked))):
            return
        if self._shown.get("cleanup_texts") != texts:
            self._shown["cleanup_texts"] = texts
            self._cleanup_paths = dict(rows)
            self.cleanup_list.set_item_list(list(texts))
        self.cleanup_list.set_selected_texts({text for text, path in rows if path in picked})

    def show_button_text(self, widget: Any, key: str, text: str) -> None:
        if self._changed(key, text):
            widget.set_text(text)

    def show_progress(self, fraction: float, caption: str) -> None:
        self.progress_bar.show_progress(fraction, caption)

    def show_disk(self, status: DiskStatus | None) -> None:
        self.gauge.show_status(status)

    def show_confirmation(self, text: str | None) -> None:
        """Open the Clean question under the Clean button, or close it (None)."""
        if not self._changed("confirm", text):
            return
        if text is None:
            self.confirm.close()
        else:
            self.confirm.open(text, self.layout.confirm, self.layout.clean)

    def show_notice(self, text: str, *, error: bool) -> None:
        old = self._shown.get("notice")
        shown = old if isinstance(old, tuple) else ("", False)
        self._shown["notice"] = show_notice_text(self.notice_label, shown, text, error)

    def suggest_path(self, path: str) -> None:
        """Offer ~/<model>.tar unless the person typed a path of their own."""
        current = self.path_entry.get_text()
        if current in ("", self._default_path) and path != current:
            self.path_entry.set_text(path)
        self._default_path = path

    # -- visibility and geometry -------------------------------------------------------
    def resize(self, rect: pygame.Rect) -> None:
        self.move_to(rect)
        self.layout = compute_storage_layout(*self.get_container().get_rect().size)
        self._apply_layout(self.layout)

    def _apply_layout(self, lay: StorageLayout) -> None:
        placed = (
            (self.report_title, lay.report_title),
            *zip(self.total_labels, lay.totals, strict=True),
            (self.refresh_button, lay.refresh),
            (self.verify_button, lay.verify),
            (self.repair_button, lay.repair),
            (self.cancel_button, lay.cancel),
            (self.progress_bar, lay.progress),
            *zip(self.health_labels, lay.health, strict=True),
            (self.disk_title, lay.disk_title),
            *zip(self.disk_labels, lay.disk_lines, strict=True),
            (self.cleanup_title, lay.cleanup_title),
            (self.cleanup_list, lay.cleanup_list),
            (self.cleanup_total, lay.cleanup_total),
            (self.clean_button, lay.clean),
            (self.files_title, lay.files_title),
            (self.path_entry, lay.path_entry),
            (self.export_button, lay.export),
            (self.import_button, lay.import_),
            (self.notice_label, lay.notice),
        )
        place(placed)
        for label, text in self._full_texts.items():
            set_fitted_text(label, text, padding=2)
        self.report_filtered.place(lay.report_filter, lay.report_count, lay.report_list)
        self.zstd_box.set_relative_position((lay.zstd.x, lay.zstd.y + 7))
        self.gauge.place(lay.gauge)
        question = self._shown.get("confirm")
        if isinstance(question, str):
            self.confirm.open(question, lay.confirm, lay.clean)
