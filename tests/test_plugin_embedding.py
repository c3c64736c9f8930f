"""A host with its own window, UIManager, theme, widgets and esper world embeds the plugin."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import esper
import pygame
import pygame_gui
import pytest
from support.registry_server import RegistryServer

from ecs_models import ModelManagementPlugin
from ecs_models.app.schedule import entered_world
from ecs_models.components.installation import ModelInstallRequest
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.notice import Notice

HOST_THEME = {"button": {"colours": {"normal_bg": "#7a2050"}}}


@dataclass(slots=True)
class Position:
    x: float
    y: float


class HostMovement(esper.Processor):
    def __init__(self) -> None:
        self.frames = 0

    def process(self, dt: float) -> None:
        self.frames += 1
        for _, position in esper.get_component(Position):
            position.x += 1.0


@dataclass
class Host:
    screen: pygame.Surface
    manager: pygame_gui.UIManager
    button: pygame_gui.elements.UIButton
    label: pygame_gui.elements.UILabel
    world: str
    mover: HostMovement
    entity: int
    host_events: list[pygame.event.Event]

    def frame(self, plugin: ModelManagementPlugin | None, dt: float = 1 / 60) -> list[bool]:
        consumed = []
        for event in pygame.event.get():
            self.manager.process_events(event)
            if plugin is not None:
                used = plugin.process_event(event)
                consumed.append(used)
                if used:
                    continue
            self.host_events.append(event)
        esper.process(dt)  # the host's own world, exactly as before the plugin existed
        if plugin is not None:
            plugin.update(dt)
        self.manager.update(dt)
        self.screen.fill((0, 0, 0))
        self.manager.draw_ui(self.screen)
        return consumed


@pytest.fixture
def host() -> Iterator[Host]:
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((1200, 720))
    manager = pygame_gui.UIManager((1200, 720), HOST_THEME)
    button = pygame_gui.elements.UIButton(
        relative_rect=pygame.Rect(10, 10, 160, 40), text="Host action", manager=manager
    )
    label = pygame_gui.elements.UILabel(
        relative_rect=pygame.Rect(10, 60, 160, 30), text="host label", manager=manager
    )
    world = f"host-{uuid.uuid4().hex[:8]}"
    previous = esper.current_world
    esper.switch_world(world)
    mover = HostMovement()
    esper.add_processor(mover, priority=5)
    entity = esper.create_entity(Position(0.0, 0.0))
    try:
        yield Host(screen, manager, button, label, world, mover, entity, [])
    finally:
        esper.switch_world(previous)
        esper.delete_world(world)
        pygame.display.quit()


def _click(pos: tuple[int, int]) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))


def test_host_world_widgets_and_theme_are_untouched(
    host: Host, models_dir: Path, registry: RegistryServer
) -> None:
    host.frame(None)
    probe = (host.button.rect.x + 4, host.button.rect.centery)
    pixel_before = tuple(host.screen.get_at(probe))
    rects_before = (host.button.rect.copy(), host.label.rect.copy())

    plugin = ModelManagementPlugin(
        manager=host.manager,
        rect=pygame.Rect(400, 0, 800, 720),
        models_dir=models_dir,
        registry=registry.host,
        insecure=True,
        focus=False,
    )
    try:
        assert esper.current_world == host.world
        for _ in range(30):
            host.frame(plugin)
        # The host's world: same processors, entities and values, still current.
        assert esper.current_world == host.world
        assert host.mover.frames == 31
        assert esper.component_for_entity(host.entity, Position).x == 31.0
        assert esper.get_processor(HostMovement) is host.mover
        assert plugin.world_name != host.world
        with entered_world(plugin.world_name):
            assert esper.get_processor(HostMovement) is None
            assert list(esper.get_component(Position)) == []

        # The host's widgets: same text, place, look and focus.
        assert host.button.text == "Host action" and host.label.text == "host label"
        assert (host.button.rect, host.label.rect) == rects_before
        assert tuple(host.screen.get_at(probe)) == pixel_before
        assert host.manager.get_focus_set() is None or plugin.view.entry not in (
            host.manager.get_focus_set() or set()
        )

        # A click on the host's button is the host's; a click inside the panel is the plugin's.
        _click(host.button.rect.center)
        consumed = host.frame(plugin)
        assert consumed and not any(consumed)
        host.frame(plugin)
        pressed = [
            e
            for e in host.host_events
            if e.type == pygame_gui.UI_BUTTON_PRESSED and e.ui_element is host.button
        ]
        assert pressed, "the host's button press did not reach the host"
        _click(plugin.view.install_button.rect.center)
        assert any(host.frame(plugin))
    finally:
        plugin.close()
    assert esper.current_world == host.world
    assert plugin.world_name not in esper.list_worlds()
    assert not plugin.view.alive()  # type: ignore[no-untyped-call]
    assert host.button.alive() and host.label.alive()


def test_host_can_request_installs_through_the_plugin_world(
    host: Host, models_dir: Path, registry: RegistryServer, unique_repo: str
) -> None:
    from support.model_builder import push_small_model

    model = push_small_model(registry, unique_repo, "host", seed=41)
    plugin = ModelManagementPlugin(
        manager=host.manager,
        rect=pygame.Rect(400, 0, 800, 720),
        models_dir=models_dir,
        registry=registry.host,
        insecure=True,
        focus=False,
    )
    try:
        with entered_world(plugin.world_name):
            esper.create_entity(ModelInstallRequest(model.name, insecure=True))
        deadline = time.monotonic() + 30
        names: list[str] = []
        notices: list[str] = []
        while not names and time.monotonic() < deadline:
            host.frame(plugin)
            time.sleep(0.005)
            with entered_world(plugin.world_name):
                names = [e.metadata.name for _, e in esper.get_component(InstalledModelEntry)]
                notices = [n.text for _, n in esper.get_component(Notice)]
        assert names == [f"{model.host}/{model.repository}:{model.tag}"], notices
        assert esper.current_world == host.world
    finally:
        plugin.close()


def test_importing_the_package_does_not_import_pygame() -> None:
    code = (
        "import sys, ecs_models; "
        "assert 'pygame' not in sys.modules and 'pygame_gui' not in sys.modules; "
        "from ecs_models import ModelManagementPlugin; "
        "assert 'pygame_gui' in sys.modules; print('ok')"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
