"""ModelManagementPlugin: builds the manager's own esper world and views inside any pygame_gui host."""

from __future__ import annotations

import json
import os
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import esper
import pygame
import pygame_gui

from ecs_models.app.area import AreaContext, AreaView
from ecs_models.app.areas import build_areas
from ecs_models.app.config import LocalModelConfig, ManagerSettings, ResourceLimits
from ecs_models.app.frame_state import InventoryState, SystemStatus
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import (
    ModelManagementSystemSet,
    Schedule,
    entered_world,
    new_world_name,
)
from ecs_models.app.ui_state import MODELS_LIST
from ecs_models.app.workers import WorkerPools
from ecs_models.components.downloads import DownloadsState
from ecs_models.components.facts_cache import ModelFactsCache
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.lifecycle import InventoryRefreshRequest
from ecs_models.components.notice import NoticeLog
from ecs_models.components.panel import ModelManagerPanel, ModelSortCriteria
from ecs_models.components.reachability import RegistryReachability
from ecs_models.components.remote import RemoteTransfer
from ecs_models.names import DEFAULT_HOST
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.downloads import DownloadsSystem
from ecs_models.systems.installation import InstallationSystem
from ecs_models.systems.lifecycle import LifecycleSystem
from ecs_models.systems.messages_ui import MessagesUISystem, NoticeLogSystem
from ecs_models.systems.model_facts import ModelFactsSystem
from ecs_models.systems.models_ui import UISystem
from ecs_models.systems.performance import PerformanceSystem
from ecs_models.ui.core.background import DroppableBackground
from ecs_models.ui.core.sleep import SleepingView
from ecs_models.ui.core.visibility import kill
from ecs_models.ui.models.view import ModelManagerView
from ecs_models.ui.widgets.confirm import ConfirmPopover
from ecs_models.ui.widgets.filtered_list import FilterEntry
from ecs_models.ui.widgets.keyboard import KeyboardNavigator, focus_order
from ecs_models.ui.widgets.messages import BUTTON_HEIGHT, BUTTON_WIDTH, MessagesPanel
from ecs_models.ui.widgets.tab_bar import TabBar, split_rect

MODELS_TAB = "Models"
QUIT_QUESTION_WIDTH = 440
# Ctrl+1 ... Ctrl+9 show the tabs in their order.
_TAB_KEYS = tuple(range(pygame.K_1, pygame.K_9 + 1))  # SDL key codes are the digits' ASCII
_CTRL = pygame.KMOD_CTRL | pygame.KMOD_META


def messages_button_rect(rect: pygame.Rect) -> pygame.Rect:
    """The Messages button: the right end of the tab strip, on every tab."""
    return pygame.Rect(rect.right - BUTTON_WIDTH - 4, rect.y + 2, BUTTON_WIDTH, BUTTON_HEIGHT)


def load_theme() -> dict[str, Any]:
    """The plugin's theme: only object ids prefixed #ecsm_/@ecsm_, so a host's styles stay."""
    text = package_files.files("ecs_models.assets").joinpath("theme.json").read_text("utf-8")
    theme: dict[str, Any] = json.loads(text)
    return theme


class ModelManagementPlugin:
    """The model manager as a module: a host passes its UIManager and a rect, then calls
    `process_event` for every event and `update` once per frame, and `close` at the end.
    """

    def __init__(
        self,
        manager: pygame_gui.UIManager,
        rect: pygame.Rect,
        *,
        models_dir: str | os.PathLike[str] | None = None,
        registry: str | None = None,
        insecure: bool = False,
        limits: ResourceLimits | None = None,
        focus: bool = True,
        world_name: str | None = None,
        paint_background: bool = True,
    ) -> None:
        self.manager = manager
        manager.get_theme().load_theme(load_theme())
        store = ModelStore(models_dir)
        settings = ManagerSettings(
            models_dir=str(store.root), default_host=registry or DEFAULT_HOST, insecure=insecure
        )
        config = LocalModelConfig(resource_limits=limits or ResourceLimits())
        self.resources = Resources()
        self.pools = WorkerPools(config.resource_limits.max_concurrent_downloads)
        for resource in (store, settings, config, self.pools, InventoryState(), SystemStatus()):
            self.resources.insert(resource)
        self.resources.insert(ModelFactsCache())
        for shared in (DownloadsState(), RegistryReachability(), NoticeLog()):
            self.resources.insert(shared)
        bar_rect, area_rect = split_rect(pygame.Rect(rect))
        self.areas = build_areas(AreaContext(manager, area_rect, self.resources))
        # With no other area there is no tab strip: the Models view takes the whole rect.
        self.tab_bar: TabBar | None = None
        models_rect = pygame.Rect(rect)
        if self.areas:
            models_rect = area_rect
            self.tab_bar = TabBar(manager, bar_rect, [MODELS_TAB] + [a.title for a in self.areas])
            for area in self.areas:
                area.view.hide()
        self.view = ModelManagerView(manager, models_rect)
        self.active_title = MODELS_TAB
        # Tab order, focus ring, keys for buttons, lists and drop-downs: one layer for every area.
        self.keyboard = KeyboardNavigator(manager)
        self.schedule = Schedule(world_name or new_world_name())
        with entered_world(self.schedule.world_name):
            esper.create_entity(ModelManagerPanel())
            esper.create_entity(InventoryRefreshRequest())
        sets = ModelManagementSystemSet
        self.schedule.add_system(sets.INSTALLATION, InstallationSystem(self.resources))
        self.schedule.add_system(sets.INSTALLATION, DownloadsSystem(self.resources))
        self.schedule.add_system(sets.LIFECYCLE, LifecycleSystem(self.resources))
        self.schedule.add_system(sets.LIFECYCLE, ModelFactsSystem(self.resources))
        self.schedule.add_system(sets.PERFORMANCE, PerformanceSystem(self.resources))
        self.schedule.add_system(sets.UI, NoticeLogSystem(self.resources))
        self.schedule.add_system(sets.UI, UISystem(self.resources, self.view))
        self.rect = pygame.Rect(rect)
        self.messages = MessagesPanel(manager, messages_button_rect(self.rect))
        self.messages_system = MessagesUISystem(self.resources, self.messages, self.rect)
        self.schedule.add_system(sets.UI, self.messages_system)
        # Asked when the host wants to close while downloads run (see ask_to_close).
        self.quit_question = ConfirmPopover(manager, None, yes="Quit", no="Keep")
        self._close_answer: bool | None = None
        for area in self.areas:
            for system_set, system in area.systems:
                self.schedule.add_system(system_set, system)
        self._sleepers = {title: SleepingView(manager, view) for title, view in self._views()}
        for area in self.areas:
            self._sleepers[area.title].sleep()
        if not paint_background:
            # The host clears the screen itself each frame (the standalone window does).
            for element in (self.view, self.tab_bar, *(area.view for area in self.areas)):
                if isinstance(element, DroppableBackground):
                    element.drop_background()
        if focus:
            self.view.focus_entry()
        self._closed = False

    @property
    def world_name(self) -> str:
        return self.schedule.world_name

    def sort_orders(self) -> dict[str, str]:
        """Each list's sort order by name (ui_state.MODELS_LIST), for the window to remember."""
        with entered_world(self.schedule.world_name):
            panel = next(iter(esper.get_component(ModelManagerPanel)), None)
        return {MODELS_LIST: panel[1].sort_criteria.value} if panel is not None else {}

    def restore_sort_orders(self, orders: dict[str, str]) -> None:
        """Sort orders remembered from an earlier run; an unknown value keeps the default."""
        wanted = orders.get(MODELS_LIST)
        if wanted not in {c.value for c in ModelSortCriteria}:
            return
        with entered_world(self.schedule.world_name):
            for _, panel in esper.get_component(ModelManagerPanel):
                panel.sort_criteria = ModelSortCriteria(wanted)

    @property
    def store(self) -> ModelStore:
        return self.resources.get(ModelStore)

    @property
    def config(self) -> LocalModelConfig:
        return self.resources.get(LocalModelConfig)

    @property
    def models_dir(self) -> Path:
        return self.store.root

    def process_event(self, event: pygame.event.Event) -> bool:
        """Feed every host event here; True when it belonged to the manager."""
        if self._closed:
            return False
        answer = self.quit_question.answer(event)
        if answer is not None:
            self.quit_question.close()
            self._close_answer = answer
            return True
        toggled = self.messages.handle_event(event)
        if toggled is not None:
            self.messages_system.toggle(toggled)
            return True
        if self.tab_bar is not None:
            chosen = self.tab_bar.pressed(event)
            if chosen is not None:
                self.show_tab(chosen)
                return True
        self.keyboard.note_event(event)
        if self._shortcut(event):
            return True
        handled = self.view.handle_event(event)
        for area in self.areas:
            handled = area.view.handle_event(event) or handled
        if not handled and event.type == pygame.KEYDOWN:
            handled = self.keyboard.handle_key(event, self._focus_roots())
        return handled

    def _shortcut(self, event: pygame.event.Event) -> bool:
        """Ctrl+1..5 show a tab; Ctrl+F puts the keyboard in the filter of the area on show."""
        if event.type != pygame.KEYDOWN or not event.mod & _CTRL:
            return False
        titles = [title for title, _ in self._views()]
        if event.key in _TAB_KEYS[: len(titles)] and self.tab_bar is not None:
            title = titles[_TAB_KEYS.index(event.key)]
            self.show_tab(title)
            # The keyboard goes to the tab's button: X11 also sends Ctrl+1 as the text "1",
            # which must not land in a text field that had the focus.
            self.keyboard.focus(self.tab_bar.buttons[title])
            return True
        if event.key == pygame.K_f:
            entry = next(
                (e for e in focus_order(self._focus_roots()) if isinstance(e, FilterEntry)), None
            )
            if entry is not None:
                self.keyboard.focus(entry)
                entry.select_all()
                return True
        return False

    def _focus_roots(self) -> list[object]:
        """What Tab moves through: the quit question alone while it asks; else the tab strip,
        the Messages button, then the area on show."""
        if self.quit_question.is_open:
            return [self.quit_question.panel]
        active = dict(self._views())[self.active_title]
        strip = [self.tab_bar] if self.tab_bar is not None else []
        return [*strip, self.messages.button, active]

    def show_tab(self, title: str) -> None:
        """Show one area (or the Models view) and hide the others, which go to sleep."""
        if self.tab_bar is not None:
            self.tab_bar.select(title)
        self.active_title = title
        self.keyboard.hide_ring()
        for view_title, view in self._views():
            sleeper = self._sleepers[view_title]
            if view_title == title:
                sleeper.wake()
                view.show()
            else:
                view.hide()
                if not sleeper.asleep:
                    sleeper.sleep()
        if title == MODELS_TAB:
            self.view.focus_entry()
        for area in self.areas:
            if area.title == title:
                for callback in area.on_show:
                    callback()

    def _views(self) -> list[tuple[str, AreaView]]:
        return [(MODELS_TAB, self.view), *((area.title, area.view) for area in self.areas)]

    def update(self, dt: float) -> None:
        """Run the chained system sets once, in the plugin's own world."""
        if not self._closed:
            self.schedule.run(dt)
            self.keyboard.update()

    # -- closing while busy --------------------------------------------------------------
    def busy(self) -> int:
        """How many downloads and transfers are still running or queued: a host asks the person
        before closing while this is not 0 (ask_to_close does it inside the plugin)."""
        if self._closed:
            return 0
        with entered_world(self.world_name):
            pulls = sum(
                1 for _, t in esper.get_component(ModelInstallationTask) if not t.state.finished
            )
            transfers = sum(
                1 for _, t in esper.get_component(RemoteTransfer) if not t.state.finished
            )
        return pulls + transfers

    def ask_to_close(self) -> None:
        """Ask whether to quit although downloads run; `take_close_answer` returns the answer."""
        count = self.busy()
        if count == 1:
            text = "1 download is still running. Quit anyway? It stops, and the next start "
            text += "lists it as paused, to resume."
        else:
            text = f"{count} downloads are still running. Quit anyway? They stop, and the next "
            text += "start lists them as paused, to resume."
        width = min(QUIT_QUESTION_WIDTH, self.rect.width - 16)
        place = pygame.Rect(self.rect.centerx - width // 2, self.rect.y + 60, width, 0)
        place.height = self.rect.bottom - 8 - place.y
        self._close_answer = None
        self.quit_question.open(text, place)

    @property
    def asking_to_close(self) -> bool:
        return self.quit_question.is_open

    def take_close_answer(self) -> bool | None:
        """True once the person chose to quit, False if they kept it open; None meanwhile."""
        answer, self._close_answer = self._close_answer, None
        return answer

    def resize(self, rect: pygame.Rect) -> None:
        self.rect = pygame.Rect(rect)
        self.messages.place(messages_button_rect(self.rect))
        self.messages_system.bounds = pygame.Rect(rect)
        self.messages_system.toggle(False)
        area_rect = pygame.Rect(rect)
        if self.tab_bar is not None:
            bar_rect, area_rect = split_rect(pygame.Rect(rect))
            self.tab_bar.resize(bar_rect)
        self.view.resize(area_rect)
        for area in self.areas:
            area.view.resize(area_rect)

    def close(self) -> None:
        """Cancel running pulls (their partials stay resumable), wait for workers, drop the world."""
        if self._closed:
            return
        self._closed = True
        with entered_world(self.world_name):
            for _, task in esper.get_component(ModelInstallationTask):
                task.cancel.set()
        for area in self.areas:
            for callback in area.on_close:
                callback()
        # Workers stop at their next chunk once cancelled; waiting means no half-written manifest.
        self.pools.shutdown(wait=True)
        self.messages.kill()
        self.quit_question.close()
        kill(self.view, *(area.view for area in self.areas), self.keyboard.ring)
        if self.tab_bar is not None:
            self.tab_bar.close()
        self.schedule.delete_world()
