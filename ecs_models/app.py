"""The standalone window: a pygame loop hosting the plugin full-window, as `python -m ecs_models` opens it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

# Before pygame is imported: keep its banner off the command line's output.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pygame_gui

from ecs_models.plugin import ModelManagementPlugin, load_theme

WINDOW_SIZE = (1100, 720)
MIN_SIZE = (560, 400)
FPS = 60
BACKGROUND = pygame.Color(load_theme()["#ecsm_panel"]["colours"]["dark_bg"])


def run_window(
    *,
    models_dir: str | os.PathLike[str] | None = None,
    registry: str | None = None,
    insecure: bool = False,
    max_frames: int | None = None,
    size: tuple[int, int] = WINDOW_SIZE,
    on_frame: Callable[[ModelManagementPlugin], bool] | None = None,
) -> int:
    """Open the manager window and run until it is closed; returns the exit status (0).

    `max_frames` ends the loop after that many frames; `on_frame` is called after every drawn
    frame and ends the loop by returning True (the benchmark measures cold start with it).
    """
    # Only display and fonts: pygame.init() would also open audio, which a model manager never uses.
    pygame.display.init()
    pygame.font.init()
    try:
        screen = pygame.display.set_mode(size, pygame.RESIZABLE)
        pygame.display.set_caption("ecs_models: local model manager")
        manager = pygame_gui.UIManager(size)
        plugin = ModelManagementPlugin(
            manager,
            pygame.Rect((0, 0), size),
            models_dir=models_dir,
            registry=registry,
            insecure=insecure,
            paint_background=False,
        )
        try:
            _loop(screen, manager, plugin, max_frames, on_frame)
        finally:
            plugin.close()
    finally:
        pygame.quit()
    return 0


def _loop(
    screen: pygame.Surface,
    manager: pygame_gui.UIManager,
    plugin: ModelManagementPlugin,
    max_frames: int | None,
    on_frame: Callable[[ModelManagementPlugin], bool] | None,
) -> None:
    clock = pygame.time.Clock()
    frames = 0
    last = time.perf_counter()
    while max_frames is None or frames < max_frames:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return
            if event.type == pygame.VIDEORESIZE:
                width, height = max(event.w, MIN_SIZE[0]), max(event.h, MIN_SIZE[1])
                manager.set_window_resolution((width, height))
                plugin.resize(pygame.Rect(0, 0, width, height))
            manager.process_events(event)
            plugin.process_event(event)
        now = time.perf_counter()
        dt, last = now - last, now
        plugin.update(dt)
        manager.update(dt)
        # One opaque fill is far cheaper than the panels' full-window alpha blits it replaces.
        screen.fill(BACKGROUND)
        manager.draw_ui(screen)
        pygame.display.flip()
        frames += 1
        if on_frame is not None and on_frame(plugin):
            return
        clock.tick(FPS)
