"""The Remote area: push and mirror to OCI registries, and the Ollama hosts side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pygame
import pygame_gui
from pygame_gui.core import ObjectID

from ecs_models.runtime.hosts import HostStatus
from ecs_models.ui.core.claim import claim_event
from ecs_models.ui.core.layout import MARGIN
from ecs_models.ui.core.notice import show_notice_text
from ecs_models.ui.core.view import View, place
from ecs_models.ui.core.visibility import kill
from ecs_models.ui.remote import intents as ri
from ecs_models.ui.remote.hosts import HostCard, host_lines
from ecs_models.ui.remote.layout import compute_remote_layout
from ecs_models.ui.remote.mirrors import MirrorsSection
from ecs_models.ui.widgets.confirm import ConfirmPopover
from ecs_models.ui.widgets.downloads import DownloadRow, DownloadRowView, DownloadsList
from ecs_models.ui.widgets.filtered_list import FilteredList, Selection
from ecs_models.ui.widgets.name_entry import ModelNameEntry

RECENT_PROMPT = "Recent destinations…"
NO_HOSTS = "(no hosts: add an address above)"
DEST_HINT = "host[/namespace/model:tag]"
QUESTION_WIDTH = 380


class RemoteView(View):
    """Widgets of the Remote tab; `intents` collects what the person did since the last drain.

    Every setter compares with what is shown: list and label rebuilds are what a frame costs.
    """

    def __init__(self, manager: pygame_gui.UIManager, rect: pygame.Rect) -> None:
        super().__init__(manager, rect)
        self.intents: list[ri.RemoteIntent] = []
        self.layout = compute_remote_layout(*self.get_container().get_rect().size)
        lay, box = self.layout, self.get_container()

        def label(rect: pygame.Rect, text: str, object_id: ObjectID | None = None) -> Any:
            return pygame_gui.elements.UILabel(
                relative_rect=rect,
                text=text,
                manager=manager,
                container=box,
                object_id=object_id or ObjectID(class_id="@ecsm_task_name"),
            )

        def button(rect: pygame.Rect, text: str) -> Any:
            return pygame_gui.elements.UIButton(
                relative_rect=rect, text=text, manager=manager, container=box
            )

        def entry(rect: pygame.Rect, hint: str) -> ModelNameEntry:
            return ModelNameEntry(
                relative_rect=rect, manager=manager, container=box, placeholder_text=hint
            )

        self.mirrors = MirrorsSection(manager, box, lay.mirrors)
        self.push_title = label(lay.push_title, "Push an installed model to a registry")
        # The filter box, its count and the installed models, one of which is pushed.
        self.filtered = FilteredList(
            manager,
            box,
            entry=lay.models_filter,
            count=lay.models_count,
            rows=lay.models_list,
            list_id="#ecsm_models_list",
            multi_select=False,
        )
        self.models_list = self.filtered.list
        self.dest_label = label(lay.dest_label, "Destination registry (push and mirror)")
        self.dest_entry = entry(lay.dest_entry, DEST_HINT)
        self.recent_menu = self._recent_menu([])
        self.push_button = button(lay.push, "Push")
        self.mirror_label = label(lay.mirror_label, "Mirror a model, installed or not, by name")
        self.mirror_entry = entry(lay.mirror_entry, "source model, e.g. host/namespace/model:tag")
        self.mirror_button = button(lay.mirror, "Mirror")
        self.hosts_title = label(lay.hosts_title, "Ollama hosts")
        self.refresh_button = button(lay.refresh, "Refresh")
        self.address_entry = entry(lay.address_entry, "Ollama host address, e.g. gpu-box:11434")
        self.add_host_button = button(lay.add_host, "Add host")
        # Each host card has its own Remove button: a host goes by its own row, never by
        # whichever host a menu happens to show.
        self.cards: list[HostCard] = []
        self.confirm = ConfirmPopover(manager, box, yes="Remove")
        self._question: tuple[str, str] | None = None  # (host, text) asked about
        self.cards_overflow = label(lay.cards_overflow, "")
        self.host_label = label(lay.host_label, "On host")
        self.host_menu = self._host_menu([], None)
        self.host_model_entry = entry(lay.host_model_entry, "model to pull or delete on the host")
        self.host_pull_button = button(lay.host_pull, "Pull there")
        self.host_delete_button = button(lay.host_delete, "Delete there")
        # Every transfer stays reachable: beyond the rows shown, the list scrolls.
        self.transfers = DownloadsList(
            manager, box, _union(lay.transfer_rows), title=None, clear_text=None
        )
        self.result_label = label(lay.result, "", ObjectID(object_id="#ecsm_notice_info"))
        self.selected_model: str | None = None
        self.selected_host: str | None = None
        self._recent: tuple[str, ...] = ()
        self._hosts: tuple[str, ...] = ()
        self._host_views: tuple[tuple[str, tuple[str, str, str]], ...] = ()
        self._overflow = ""
        self._result: tuple[str, bool] = ("", False)

    # -- drop-downs: rebuilt only when their options change (rarely) -----------------------
    def _recent_menu(self, recent: Sequence[str]) -> pygame_gui.elements.UIDropDownMenu:
        return pygame_gui.elements.UIDropDownMenu(
            options_list=[RECENT_PROMPT, *recent],
            starting_option=RECENT_PROMPT,
            relative_rect=self.layout.recent_menu,
            manager=self.manager,
            container=self.get_container(),
        )

    def _host_menu(
        self, hosts: Sequence[str], selected: str | None
    ) -> pygame_gui.elements.UIDropDownMenu:
        options: list[str | tuple[str, str]] = list(hosts) or [NO_HOSTS]
        return pygame_gui.elements.UIDropDownMenu(
            options_list=options,
            starting_option=selected if selected is not None and selected in hosts else options[0],
            relative_rect=self.layout.host_menu,
            manager=self.manager,
            container=self.get_container(),
        )

    # -- input ---------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        if self.visible:
            answer = self.confirm.answer(event)
            if answer is not None:
                self.intents.append(ri.HostRemovalAnswered(confirmed=answer))
                return True
            if self.filtered.handle_key(event):
                return True
        self._picked(self.filtered.follow_typing(event))
        handled, element = claim_event(self, event)
        if element is None:
            return handled
        picked = self.filtered.handle_event(event, element)
        if picked is not None:
            self._picked(picked)
            return True
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            self._button_pressed(element)
        elif event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED:
            self._entry_finished(element)
        elif event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION:
            if element is self.mirrors.rows_list:
                self.mirrors.pick(event.text)
        elif event.type == pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION:
            if element is self.mirrors.rows_list:
                self.mirrors.pick(None)
        elif event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            self._menu_changed(element, event.text)
        return True

    def _picked(self, picked: Selection | None) -> None:
        if picked is not None:
            self.selected_model = picked.focused if picked.selected else None

    def _button_pressed(self, element: object) -> None:
        dest = self.dest_entry.get_text()
        host_model = self.host_model_entry.get_text()
        if element is self.push_button:
            self.intents.append(ri.PushPressed(self.selected_model, dest))
        elif element is self.mirror_button:
            self.intents.append(ri.MirrorPressed(self.mirror_entry.get_text(), dest))
        elif element is self.refresh_button:
            self.intents.append(ri.RefreshPressed())
        elif element is self.add_host_button:
            self.intents.append(ri.AddHostPressed(self.address_entry.get_text()))
        elif element is self.host_pull_button:
            self.intents.append(ri.HostPullPressed(self.selected_host, host_model))
        elif element is self.host_delete_button:
            self.intents.append(ri.HostDeletePressed(self.selected_host, host_model))
        elif element is self.mirrors.add_button:
            self.intents.append(ri.MirrorAddPressed(self.mirrors.entry.get_text()))
        elif element is self.mirrors.remove_button:
            self.intents.append(ri.MirrorRemovePressed(self.mirrors.picked))
        elif element is self.mirrors.test_button:
            self.intents.append(ri.MirrorsTestPressed())
        else:
            for card in self.cards:
                if element is card.remove_button and card.url:
                    self.intents.append(ri.RemoveHostPressed(card.url))
            pressed = self.transfers.action(element)
            if pressed is not None:
                self.intents.append(ri.TransferButtonPressed(pressed[0]))

    def _entry_finished(self, element: object) -> None:
        # Enter in an entry does what the button beside it does.
        target = {
            id(self.dest_entry): self.push_button,
            id(self.mirror_entry): self.mirror_button,
            id(self.address_entry): self.add_host_button,
            id(self.host_model_entry): self.host_pull_button,
            id(self.mirrors.entry): self.mirrors.add_button,
        }.get(id(element))
        if target is not None:
            self._button_pressed(target)

    def _menu_changed(self, element: object, text: str) -> None:
        if element is self.recent_menu and text != RECENT_PROMPT:
            self.dest_entry.set_text(text)
            # Back to the prompt, so picking the same destination again is a change too.
            kill(self.recent_menu)
            self.recent_menu = self._recent_menu(self._recent)
        elif element is self.host_menu and text != NO_HOSTS:
            self.selected_host = text

    def drain_intents(self) -> list[ri.RemoteIntent]:
        drained, self.intents = self.intents, []
        return drained

    def clear_address(self) -> None:
        self.address_entry.set_text("")

    def clear_mirror_entry(self) -> None:
        self.mirrors.entry.set_text("")

    # -- output ----------------------------------------------------------------------------
    def show_models(
        self, items: Sequence[tuple[str, str]], search: Mapping[str, str] | None = None
    ) -> bool:
        """(text, model name) rows of installed models that pass the filter (which searches
        `search[name]`, else the text); True when the list changed."""
        names = {name for _, name in items}
        if self.selected_model not in names:
            self.selected_model = None
        selected = {self.selected_model} if self.selected_model is not None else set()
        changed = self.filtered.show(items, selected, search)
        if self.selected_model not in set(self.filtered.shown_keys):
            self.selected_model = None  # the filter hides it
        return changed

    def show_mirrors(self, rows: Sequence[tuple[str, tuple[str, str] | None]]) -> None:
        """(text, (upstream, URL)) per registry mirror; see ui.remote.mirrors.mirror_rows."""
        self.mirrors.show(rows)

    def show_recent(self, recent: Sequence[str]) -> None:
        if tuple(recent) == self._recent:
            return
        self._recent = tuple(recent)
        kill(self.recent_menu)
        self.recent_menu = self._recent_menu(self._recent)

    def show_hosts(self, hosts: Sequence[str], statuses: dict[str, HostStatus]) -> None:
        if tuple(hosts) != self._hosts:
            self._hosts = tuple(hosts)
            if self.selected_host not in self._hosts:
                self.selected_host = self._hosts[0] if self._hosts else None
            kill(self.host_menu)
            self.host_menu = self._host_menu(self._hosts, self.selected_host)
        views = tuple((url, *host_lines(url, statuses.get(url))) for url in hosts)
        shown = tuple((v[1], v[2]) for v in views[: len(self.layout.cards)])
        if shown == self._host_views:
            return
        self._host_views = shown
        while len(self.cards) < len(shown):
            layout = self.layout.cards[len(self.cards)]
            self.cards.append(HostCard(self.manager, self.get_container(), layout))
        while len(self.cards) > len(shown):
            self.cards.pop().kill()
        for card, url, (kind, lines) in zip(self.cards, hosts, shown, strict=False):
            card.url = url
            card.show_host(kind, lines)
        hidden = len(views) - len(shown)
        overflow = f"and {hidden} more host{'s' if hidden > 1 else ''}" if hidden > 0 else ""
        if overflow != self._overflow:
            self._overflow = overflow
            self.cards_overflow.set_text(overflow)

    def show_host_question(self, host: str | None, text: str = "") -> None:
        """Ask under `host`'s own Remove button (None closes the question)."""
        asked = (host, text) if host is not None else None
        if asked == self._question:
            return
        self._question = asked
        index = next((i for i, c in enumerate(self.cards) if c.url == host), None)
        if host is None or index is None:
            self.confirm.close()
            return
        button = self.layout.cards[index].remove
        width = min(QUESTION_WIDTH, self.layout.refresh.right - self.layout.address_entry.x)
        bottom = self.get_container().get_rect().height - MARGIN
        place = pygame.Rect(button.right - width, button.bottom + 4, width, 0)
        place.height = bottom - place.y
        self.confirm.open(text, place, button)

    @property
    def rows(self) -> list[DownloadRow]:
        return self.transfers.rows

    def show_transfers(self, rows: Sequence[DownloadRowView]) -> None:
        self.transfers.show(rows)

    def show(self, show_contents: bool = True) -> None:
        """Show the tab again; an empty transfers list and unused buttons stay hidden."""
        super().show(show_contents)
        self.transfers.rehide()

    def show_result(self, text: str, *, error: bool) -> None:
        self._result = show_notice_text(self.result_label, self._result, text, error)

    # -- geometry --------------------------------------------------------------------------
    def resize(self, rect: pygame.Rect) -> None:
        self.move_to(rect)
        lay = self.layout = compute_remote_layout(*self.get_container().get_rect().size)
        placed = (
            (self.push_title, lay.push_title),
            (self.dest_label, lay.dest_label),
            (self.dest_entry, lay.dest_entry),
            (self.recent_menu, lay.recent_menu),
            (self.push_button, lay.push),
            (self.mirror_label, lay.mirror_label),
            (self.mirror_entry, lay.mirror_entry),
            (self.mirror_button, lay.mirror),
            (self.hosts_title, lay.hosts_title),
            (self.refresh_button, lay.refresh),
            (self.address_entry, lay.address_entry),
            (self.add_host_button, lay.add_host),
            (self.cards_overflow, lay.cards_overflow),
            (self.host_label, lay.host_label),
            (self.host_menu, lay.host_menu),
            (self.host_model_entry, lay.host_model_entry),
            (self.host_pull_button, lay.host_pull),
            (self.host_delete_button, lay.host_delete),
            (self.result_label, lay.result),
        )
        place(placed)
        self.filtered.place(lay.models_filter, lay.models_count, lay.models_list)
        self.mirrors.place(lay.mirrors)
        # Fewer cards may fit now: the next show_hosts drops or adds them.
        self._host_views = ()
        while len(self.cards) > len(lay.cards):
            self.cards.pop().kill()
        for card, card_layout in zip(self.cards, lay.cards, strict=False):
            card.place(card_layout)
        if self._question is not None:  # ask again at the button's new place
            host, text = self._question
            self._question = None
            self.show_host_question(host, text)
        self.transfers.place(_union(lay.transfer_rows))


def _union(rects: Sequence[pygame.Rect]) -> pygame.Rect:
    """The area the transfer rows take, for the scrolling list that holds them."""
    first = pygame.Rect(rects[0])
    return first.unionall([pygame.Rect(r) for r in rects[1:]]).inflate(0, 4)
