"""The standalone window's frame: input paints at once, an idle window paints a few times a second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pygame
import pygame_gui
import pytest

from ecs_models.app.pacing import ACTIVE_FPS, IDLE_FPS, FramePacing
from ecs_models.app.plugin import ModelManagementPlugin
from ecs_models.app.window import WindowLoop

SIZE = (900, 600)


def test_policy_paints_after_input_and_otherwise_at_the_idle_rate() -> None:
    policy = FramePacing(idle_paint_hz=10, paint_all_s=0.3)
    assert policy.should_paint(100.0)  # the first frame always paints
    assert not policy.should_paint(100.05)
    assert policy.should_paint(100.11)
    policy.note_input(100.12)
    assert policy.should_paint(100.13)  # in the frame after the input
    assert policy.should_paint(100.40)  # and every frame for a moment after it
    assert not policy.should_paint(100.45)
    assert policy.should_paint(100.51)


def test_frames_slow_down_only_once_input_stops() -> None:
    pacing = FramePacing(idle_after_s=1.0)
    assert pacing.frame_rate(10.0) == IDLE_FPS
    pacing.note_input(10.0)
    assert pacing.frame_rate(10.5) == ACTIVE_FPS
    assert pacing.frame_rate(11.2) == IDLE_FPS


@pytest.fixture
def window(models_dir: Path) -> Iterator[WindowLoop]:
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode(SIZE)
    manager = pygame_gui.UIManager(SIZE)
    plugin = ModelManagementPlugin(
        manager, pygame.Rect((0, 0), SIZE), models_dir=models_dir, paint_background=False
    )
    try:
        yield WindowLoop(screen, manager, plugin, FramePacing(idle_paint_hz=4, paint_all_s=0.2))
    finally:
        plugin.close()
        pygame.display.quit()


def test_a_key_press_is_painted_in_its_own_frame(window: WindowLoop) -> None:
    assert window.frame().painted
    time.sleep(0.3)  # past the moment after input; before the next idle paint
    window.frame()
    assert not window.frame().painted
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a, mod=0, unicode="a"))
    assert window.frame().painted


def test_an_idle_window_runs_its_systems_every_frame_but_paints_rarely(
    window: WindowLoop,
) -> None:
    settle = time.perf_counter()
    while time.perf_counter() - settle < 0.3:  # the window's own start-up events count as input
        window.frame()
        time.sleep(1 / 60)
    frames = []
    started = time.perf_counter()
    while time.perf_counter() - started < 1.0:
        frames.append(window.frame())
        time.sleep(1 / 60)
    painted = sum(f.painted for f in frames)
    assert len(frames) > 30
    assert 3 <= painted <= 5, painted  # 4 Hz


def test_closing_the_window_ends_the_loop(window: WindowLoop) -> None:
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    window.frame()
    assert window.closed
