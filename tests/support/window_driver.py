"""Drive the real window under Xvfb with xdotool, as a person would; run by xvfb-run.

    python window_driver.py MODELS_DIR STEPS_JSON OUT_JSON

STEPS_JSON is a list of steps: ["click", ROW, MODIFIER] clicks a row of the Models list (MODIFIER
"" / "ctrl" / "shift"), ["remove"] presses the Remove button, ["key", NAME] presses a key,
["manifests", LABEL] records which manifest files exist at that moment, ["shot", FILE] captures
the screen with ImageMagick, ["wait_gone", RELPATH] waits (up to 20 s) until a manifest is gone,
["type", TEXT] types TEXT into whatever has the keyboard (keys may be combos: "ctrl+f").
OUT_JSON receives {"manifests": {LABEL: [...]}, "window": [w, h]}.

Where to click is computed from the same layout functions the window uses, so the driver follows
the layout instead of hard-coding pixels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pygame

from ecs_models.app.window import WINDOW_SIZE
from ecs_models.ui.models.layout import compute_layout
from ecs_models.ui.widgets.tab_bar import split_rect

PANEL_BORDER = 1  # #ecsm_panel's border_width: the container sits inside it
LIST_INSET = 3  # pygame_gui's selection list: border 1 + shadow 2
ROW_HEIGHT = 20  # pygame_gui's default list_item_height


def xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def find_window(pid: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--pid", str(pid)], capture_output=True, text=True
        ).stdout.split()
        if found:
            return found[0]
        time.sleep(0.2)
    raise SystemExit("the window never appeared")


def manifests(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "manifests").rglob("*") if p.is_file())


def main() -> None:
    models_dir, steps_path, out_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    steps = json.loads(steps_path.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    app = subprocess.Popen(
        [sys.executable, "-m", "ecs_models", "--models", str(models_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict[str, object] = {"manifests": {}}
    try:
        window = find_window(app.pid)
        time.sleep(3.0)  # the first frames and the inventory scan
        _, area = split_rect(pygame.Rect((0, 0), WINDOW_SIZE))
        inner = (area.width - 2 * PANEL_BORDER, area.height - 2 * PANEL_BORDER)
        lay = compute_layout(*inner)
        ox, oy = area.x + PANEL_BORDER, area.y + PANEL_BORDER

        def click_at(x: int, y: int, modifier: str = "") -> None:
            xdotool("mousemove", "--window", window, str(x), str(y))
            time.sleep(0.15)
            if modifier:
                xdotool("keydown", modifier, "click", "1", "keyup", modifier)
            else:
                xdotool("click", "1")
            time.sleep(0.7)  # apart from the next click: two quick ones are a double click

        for step in steps:
            kind = step[0]
            if kind == "click":
                row, modifier = int(step[1]), str(step[2])
                x = ox + lay.models_list.x + 80
                y = oy + lay.models_list.y + LIST_INSET + row * ROW_HEIGHT + ROW_HEIGHT // 2
                click_at(x, y, modifier)
            elif kind == "remove":
                click_at(ox + lay.remove.centerx, oy + lay.remove.centery)
                time.sleep(1.0)  # the removal plan runs on a worker
            elif kind == "key":
                xdotool("key", "--window", window, str(step[1]))
                time.sleep(0.8)
            elif kind == "type":
                xdotool("type", "--window", window, "--delay", "60", str(step[1]))
                time.sleep(0.8)
            elif kind == "manifests":
                result["manifests"][str(step[1])] = manifests(models_dir)  # type: ignore[index]
            elif kind == "shot":
                subprocess.run(["import", "-window", "root", str(step[1])], check=True)
            elif kind == "wait_gone":
                deadline = time.monotonic() + 20
                while (models_dir / "manifests" / str(step[1])).exists():
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        result["window"] = list(WINDOW_SIZE)
    finally:
        app.terminate()
        app.wait(timeout=30)
    out_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
