"""The standalone window: a pygame loop hosting the plugin full-window, as `python -m ecs_models` opens it."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Before pygame is imported: keep its banner off the command line's output.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pygame_gui

from ecs_models.app.frame_state import InventoryState
from ecs_models.app.pacing import FramePacing
from ecs_models.app.plugin import ModelManagementPlugin, load_theme
from ecs_models.app.ui_state import UiState, load_ui_state, save_ui_state, ui_state_file
from ecs_models.errors import EcsModelsError

WINDOW_SIZE = (1100, 720)
MIN_SIZE = (560, 400)
BACKGROUND = pygame.Color(load_theme()["#ecsm_panel"]["colours"]["dark_bg"])
# Where SDL finds no display (an SSH session, a server) it falls back to one of these and the
# window would run unseen until killed; unless asked for by name (SDL_VIDEODRIVER), say so.
INVISIBLE_DRIVERS = frozenset({"offscreen", "dummy"})
NO_DISPLAY_HINT = "run it in a desktop session, or use the command line (ecs-models --help)"


def run_window(
    *,
    models_dir: str | os.PathLike[str] | None = None,
    registry: str | None = None,
    insecure: bool = False,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    on_frame: Callable[[ModelManagementPlugin], bool] | None = None,
) -> int:
    """Open the manager window and run until it is closed; returns the exit status (0).

    `max_frames` ends the loop after that many frames; `on_frame` is called after every painted
    frame and ends the loop by returning True (the benchmark measures cold start with it).
    With no `size` the window opens at the size it had when last closed (app/ui_state), and
    the Models list keeps its sort order the same way.
    """
    requested_driver = os.environ.get("SDL_VIDEODRIVER")
    if not requested_driver and not _linux_display_present():
        # Checked before SDL looks: its own failed probes would print lines of their own first.
        raise EcsModelsError(
            f"The window cannot open: no display was found (DISPLAY and WAYLAND_DISPLAY are "
            f"unset); {NO_DISPLAY_HINT}."
        )
    terminated = threading.Event()  # SIGTERM ends the loop (see _catch_sigterm)
    previous_handler = _catch_sigterm(terminated)
    # Only display and fonts: pygame.init() would also open audio, which a model manager never uses.
    pygame.display.init()
    pygame.font.init()
    try:
        driver = pygame.display.get_driver()
        if not requested_driver and driver in INVISIBLE_DRIVERS:
            raise EcsModelsError(
                f"The window cannot open: SDL found no display it can use (only its {driver} "
                f"driver, which shows nothing); {NO_DISPLAY_HINT}."
            )
        remembered = load_ui_state(ui_state_file())
        if size is None:
            size = _opening_size(remembered.window_size)
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
        plugin.restore_sort_orders(remembered.sort_orders)
        try:
            closed_size = _loop(screen, manager, plugin, max_frames, on_frame, terminated)
            _remember(remembered, size, closed_size, plugin.sort_orders())
        finally:
            plugin.close()
    finally:
        pygame.quit()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return 0


def _opening_size(remembered: tuple[int, int] | None) -> tuple[int, int]:
    """The remembered size (else the default), within the minimum and the screen."""
    wanted = remembered or WINDOW_SIZE
    info = pygame.display.Info()
    screen = (info.current_w, info.current_h)
    return (
        max(MIN_SIZE[0], min(wanted[0], screen[0] if screen[0] > 0 else wanted[0])),
        max(MIN_SIZE[1], min(wanted[1], screen[1] if screen[1] > 0 else wanted[1])),
    )


def _remember(
    before: UiState, opened: tuple[int, int], closed: tuple[int, int], sort_orders: dict[str, str]
) -> None:
    """Write the size and sort orders if they changed (an untouched run writes nothing)."""
    after = UiState(closed, {**before.sort_orders, **sort_orders})
    if after.sort_orders == before.sort_orders and closed == opened:
        return
    # A read-only config dir: the window still closes, and opens at the default size next time.
    with contextlib.suppress(OSError):
        save_ui_state(ui_state_file(), after)


def _catch_sigterm(terminated: threading.Event) -> signal.Handlers | Callable[..., object] | int | None:
    """Set `terminated` on SIGTERM; returns the handler it replaced (None off the main thread).

    SDL would turn SIGTERM into the window's close event, which asks first while downloads
    run, so `kill` would no longer end the app; a handler of our own, set before SDL starts,
    keeps SDL's away. The loop then ends at its next frame and closes the plugin cleanly.
    """
    if threading.current_thread() is not threading.main_thread():
        return None  # only the main thread may set handlers (and only it receives signals)
    return signal.signal(signal.SIGTERM, lambda _signum, _frame: terminated.set())


def _linux_display_present() -> bool:
    """False only on Linux with neither an X11 nor a Wayland display to connect to."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@dataclass(slots=True)
class FrameTiming:
    """One frame's cost: `work_s` is update (+ paint when `painted`), without the vsync wait."""

    work_s: float
    painted: bool


class WindowLoop:
    """The window's frame: events, the plugin's schedule, and pygame_gui's update and paint when due."""

    def __init__(
        self,
        screen: pygame.Surface,
        manager: pygame_gui.UIManager,
        plugin: ModelManagementPlugin,
        pacing: FramePacing | None = None,
    ) -> None:
        self.screen = screen
        self.manager = manager
        self.plugin = plugin
        self.pacing = pacing or FramePacing()
        self.closed = False
        self.size: tuple[int, int] = screen.get_size()
        self._clock = pygame.time.Clock()
        self._last = time.perf_counter()
        self._gui_dt = 0.0
        self._inventory = plugin.resources.get(InventoryState)
        self._frozen_version = -1

    def frame(self) -> FrameTiming:
        self._freeze_long_lived()
        for event in pygame.event.get():
            self.pacing.note_input(time.perf_counter())
            if event.type == pygame.QUIT:
                # Running downloads are asked about first; closing again while asked quits.
                if self.plugin.busy() and not self.plugin.asking_to_close:
                    self.plugin.ask_to_close()
                else:
                    self.closed = True
            if event.type == pygame.VIDEORESIZE:
                width, height = max(event.w, MIN_SIZE[0]), max(event.h, MIN_SIZE[1])
                self.size = (width, height)
                self.manager.set_window_resolution((width, height))
                self.plugin.resize(pygame.Rect(0, 0, width, height))
            self.manager.process_events(event)
            self.plugin.process_event(event)
        if self.plugin.take_close_answer():
            self.closed = True
        begin = time.perf_counter()
        dt, self._last = begin - self._last, begin
        self.plugin.update(dt)  # the ECS schedule runs every frame
        self._gui_dt += dt
        painted = self.pacing.should_paint(time.perf_counter())
        if painted:
            # pygame_gui's update (hover checks over every widget, timers, image rebuilds) only
            # prepares what is painted next, so it runs with the paints, given all the time
            # since its last run; events still reach it every frame through process_events.
            self.manager.update(self._gui_dt)
            self._gui_dt = 0.0
            # One opaque fill is far cheaper than the panels' full-window alpha blits it replaces.
            self.screen.fill(BACKGROUND)
            self.manager.draw_ui(self.screen)
        work = time.perf_counter() - begin
        if painted:
            pygame.display.flip()
        return FrameTiming(work, painted)

    def _freeze_long_lived(self) -> None:
        """Move what exists now (modules, widgets, the theme, the listed models' rows) out of
        the garbage collector's sight, after start-up and after each inventory change.

        A full collection walks every tracked object: with 1,000 models listed one costs
        5-10 ms, and a keystroke that makes a thousand row dicts can trigger it. Frozen objects
        are still freed when their last reference goes; only cycles among them stay.
        """
        version = self._inventory.version
        if version != self._frozen_version:
            self._frozen_version = version
            gc.freeze()

    def wait(self) -> None:
        """Sleep until the next frame is due, at the rate the pacing asks for now."""
        self._clock.tick(self.pacing.frame_rate(time.perf_counter()))


def _loop(
    screen: pygame.Surface,
    manager: pygame_gui.UIManager,
    plugin: ModelManagementPlugin,
    max_frames: int | None,
    on_frame: Callable[[ModelManagementPlugin], bool] | None,
    terminated: threading.Event,
) -> tuple[int, int]:
    """Run frames until the window closes (or the frames, `on_frame` or SIGTERM end it); its
    size then."""
    window = WindowLoop(screen, manager, plugin)
    frames = 0
    while max_frames is None or frames < max_frames:
        painted = window.frame().painted
        if window.closed or terminated.is_set():
            break
        frames += 1
        if painted and on_frame is not None and on_frame(plugin):
            break
        window.wait()
    return window.size
