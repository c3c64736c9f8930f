"""Drives the real panel headless: posts SDL events, runs frames, waits for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import esper
import pygame
import pygame_gui

from ecs_models.app.plugin import ModelManagementPlugin
from ecs_models.app.schedule import entered_world

SIZE = (1000, 700)


class PanelHarness:
    """A window-sized plugin in a dummy display, fed only by events posted to SDL's queue."""

    def __init__(
        self,
        models_dir: Path,
        registry_host: str,
        *,
        size: tuple[int, int] = SIZE,
        **plugin_options: Any,
    ) -> None:
        pygame.display.init()
        pygame.font.init()
        self.screen = pygame.display.set_mode(size)
        self.manager = pygame_gui.UIManager(size)
        self.plugin = ModelManagementPlugin(
            self.manager,
            pygame.Rect((0, 0), size),
            models_dir=models_dir,
            registry=registry_host,
            insecure=True,
            **plugin_options,
        )
        self.view = self.plugin.view
        self.frame_times: list[float] = []

    def frame(self, dt: float = 1 / 60) -> None:
        """One host frame: events, the plugin's systems, pygame_gui update and draw."""
        for event in pygame.event.get():
            self.manager.process_events(event)
            self.plugin.process_event(event)
        start = time.perf_counter()
        self.plugin.update(dt)
        self.manager.update(dt)
        self.manager.draw_ui(self.screen)
        self.frame_times.append(time.perf_counter() - start)

    def run_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; {self.describe()}")
            self.frame()
            time.sleep(0.005)

    def describe(self) -> str:
        """Tasks and notices, for the message of a failed wait."""
        from ecs_models.components.installation import ModelInstallationTask
        from ecs_models.components.notice import Notice

        tasks = [
            (t.model_name, t.state.value, t.error) for _, t in self.query(ModelInstallationTask)
        ]
        notices = [n.text for _, n in self.query(Notice)]
        return f"tasks={tasks} notices={notices}"

    def settle(self, frames: int = 6) -> None:
        for _ in range(frames):
            self.frame()

    def type_text(self, text: str) -> None:
        """Focus the entry (as a click into it would) and type `text` key by key."""
        if not self.view.entry.is_focused:
            self.manager.set_focus_set(self.view.entry)
        for char in text:
            pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
        self.settle(2)

    def press_enter(self) -> None:
        pygame.event.post(
            pygame.event.Event(
                pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r", scancode=40
            )
        )
        pygame.event.post(
            pygame.event.Event(pygame.KEYUP, key=pygame.K_RETURN, mod=0, unicode="\r", scancode=40)
        )
        self.settle(3)

    def press_key(self, key: int) -> None:
        """Press and release one key (Enter, Escape, ...) with no modifier held."""
        for kind in (pygame.KEYDOWN, pygame.KEYUP):
            pygame.event.post(pygame.event.Event(kind, key=key, mod=0, unicode="", scancode=0))
        self.settle(3)

    def click_item(self, selection_list: Any, prefix: str) -> None:
        """Click the visible row of any selection list whose text starts with `prefix`."""
        for item in selection_list.item_list:
            if item["text"].startswith(prefix) and item["button_element"] is not None:
                self.click(item["button_element"])
                return
        raise AssertionError(f"no visible row starts with {prefix!r}: {selection_list.item_list}")

    def click(self, element: Any) -> None:
        pos = element.rect.center
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=()))
        self.frame()
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
        self.settle(3)

    def click_tab(self, title: str) -> None:
        """Press one of the tab buttons above the views."""
        assert self.plugin.tab_bar is not None, "the plugin has no other area, so no tabs"
        self.click(self.plugin.tab_bar.buttons[title])

    def click_list_item(self, text_prefix: str) -> None:
        for item in self.view.models_list.item_list:
            if item["text"].startswith(text_prefix) and item["button_element"] is not None:
                self.click(item["button_element"])
                # A second click on the same row within the double-click time would toggle it
                # back; keep clicks apart.
                time.sleep(0.6)
                return
        raise AssertionError(f"no visible list row starts with {text_prefix!r}")

    def download_button(self, row: int, label: str) -> Any:
        """The button labelled `label` of the Models view's download row `row`, scrolled into
        view (a click only reaches what is shown)."""
        downloads = self.view.downloads
        downloads.scroll_to(row)
        self.frame()
        widget = downloads.rows[row]
        for button, action in zip(widget.buttons, widget.actions, strict=False):
            if action == label:
                return button
        raise AssertionError(f"row {row} offers {widget.actions}, not {label!r}")

    def query(self, component: type[Any]) -> list[tuple[int, Any]]:
        with entered_world(self.plugin.world_name):
            return list(esper.get_component(component))

    def close(self) -> None:
        self.plugin.close()
        pygame.display.quit()
