"""Open the real window (SDL's dummy driver) in its own process, for the remembered-state test:
pygame.quit() at its end must not reach the test process's fonts.

    python remember_driver.py MODELS_DIR COUNT change|look|untouched OUT_JSON

`change`: once COUNT models are listed, Tab to the sort menu, Down picks the next order, and the
window is resized to 900x640 as a window manager would; `look`: report the size the window
opened at and the sort order on show; `untouched`: three frames, nothing done.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ["SDL_VIDEODRIVER"] = "dummy"

import pygame

from ecs_models.app.window import run_window


def post_key(key: int) -> None:
    for kind in (pygame.KEYDOWN, pygame.KEYUP):
        pygame.event.post(pygame.event.Event(kind, key=key, mod=0, unicode="", scancode=0))


def main() -> None:
    models_dir, count, mode, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    seen: dict[str, Any] = {}

    def change(plugin: Any) -> bool:
        view = plugin.view
        if len(view.models_list.item_list) < count:
            return False
        if plugin.keyboard.target is not view.sort_menu:
            post_key(pygame.K_TAB)
            return False
        if view.sort_menu.selected_option[0] == "Name":
            post_key(pygame.K_DOWN)
            pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=900, h=640, size=(900, 640)))
            return False
        # Done once the panel has the new order (its event is handled a frame later).
        seen["sort"] = plugin.sort_orders()
        return bool(seen["sort"] == {"models": "Size"} and view.rect.width <= 900)

    def look(plugin: Any) -> bool:
        if len(plugin.view.models_list.item_list) < count:
            return False
        screen = pygame.display.get_surface()
        seen["size"] = list(screen.get_size()) if screen is not None else None
        seen["sort"] = plugin.view.sort_menu.selected_option[0]
        return True

    if mode == "untouched":
        run_window(models_dir=models_dir, max_frames=3)
    else:
        run_window(
            models_dir=models_dir, max_frames=3000, on_frame=change if mode == "change" else look
        )
    with open(out, "w", encoding="utf-8") as file:
        json.dump(seen, file)


if __name__ == "__main__":
    main()
