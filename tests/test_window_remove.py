"""The real window under Xvfb, driven with xdotool: Remove removes exactly the rows selected with
plain and Ctrl clicks, Escape removes nothing. Skipped where xvfb-run, xdotool or ImageMagick
are missing (.ci/run installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pygame
import pytest
from lifecycle_support import manifest_files, pull
from support.many_models import install_many
from support.model_builder import PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.store.model_store import ModelStore

TOOLS = ("xvfb-run", "xdotool", "import")
DRIVER = Path(__file__).parent / "support" / "window_driver.py"

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason="needs xvfb-run, xdotool and ImageMagick's import",
)


@pytest.fixture(scope="module")
def three(registry: RegistryServer) -> list[PushedModel]:
    return [
        push_small_model(registry, f"library/win-{letter}", "v1", seed=seed)
        for letter, seed in (("a", 801), ("b", 802), ("c", 803))
    ]


def run_window(models_dir: Path, steps: list[list[object]], tmp_path: Path) -> dict[str, object]:
    steps_file, out_file = tmp_path / "steps.json", tmp_path / "out.json"
    steps_file.write_text(json.dumps(steps))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    command = [sys.executable, str(DRIVER), str(models_dir), str(steps_file), str(out_file)]
    subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command],
        env=env,
        check=True,
        timeout=180,
    )
    result: dict[str, object] = json.loads(out_file.read_text())
    return result


def yellow_pixels(shot: Path) -> int:
    """Pixels of the question's border and text colour (#f2cc60)."""
    image = pygame.image.load(str(shot))
    width, height = image.get_size()
    return sum(
        1
        for x in range(0, width, 2)
        for y in range(0, height, 2)
        if (c := image.get_at((x, y))).r > 220 and 180 < c.g < 225 and c.b < 120
    )


def test_the_window_removes_exactly_the_selected_rows(
    models_dir: Path, three: list[PushedModel], tmp_path: Path
) -> None:
    store = ModelStore(models_dir)
    for model in three:
        pull(store, model.name)
    paths = {
        m.name: str(store.resolve(m.name).manifest_path.relative_to(models_dir)) for m in three
    }
    a, b, c = (m.name for m in three)  # the list shows them in this order (by name)
    before = sorted(paths.values())
    result = run_window(
        models_dir,
        [
            ["click", 0, ""],
            ["click", 2, ""],  # a plain click: row 0 is dropped
            ["click", 1, "ctrl"],  # Ctrl adds row 1
            ["remove"],
            ["shot", str(tmp_path / "question.png")],
            ["key", "Escape"],
            ["manifests", "after_escape"],
            ["shot", str(tmp_path / "after_escape.png")],
            ["remove"],
            ["key", "Return"],
            ["wait_gone", paths[b]],
            ["wait_gone", paths[c]],
            ["manifests", "after_enter"],
        ],
        tmp_path,
    )
    seen = result["manifests"]
    assert isinstance(seen, dict)
    assert sorted(seen["after_escape"]) == before
    assert seen["after_enter"] == [paths[a]]
    assert [str(p.relative_to(models_dir)) for p in manifest_files(models_dir)] == [paths[a]]
    assert all(report.ok for report in store.verify([a]))
    # The question was on screen, and Escape took it away.
    assert yellow_pixels(tmp_path / "question.png") > 200
    assert yellow_pixels(tmp_path / "after_escape.png") < 20


def test_filter_keyboard_select_and_delete_remove_exactly_that_model(
    models_dir: Path, tmp_path: Path
) -> None:
    """150 models: Ctrl+F, type a filter, Down into the list and Down again, Delete asks,
    Escape keeps everything, Delete + Enter removes exactly the row the keyboard chose."""
    many = install_many(models_dir, 150)
    root = models_dir / "manifests"
    paths = {name: str(path.relative_to(models_dir)) for name, path in many.manifests.items()}
    before = sorted(paths.values())
    # What "gemma2 instruct" leaves, in the list's order (by name); Down, Down picks the second.
    matching = sorted(
        (n for n in many.names if "-gemma2-" in n and n.endswith(":instruct")),
        key=lambda n: n.removeprefix("registry.ollama.ai/library/"),
    )
    chosen = matching[1]
    result = run_window(
        models_dir,
        [
            ["key", "ctrl+f"],
            ["type", "gemma2 instruct"],
            ["key", "Down"],  # from the filter into the list: its first row
            ["key", "Down"],
            ["key", "Delete"],
            ["shot", str(tmp_path / "question.png")],
            ["key", "Escape"],
            ["manifests", "after_escape"],
            ["shot", str(tmp_path / "after_escape.png")],
            ["key", "Delete"],
            ["key", "Return"],
            ["wait_gone", paths[chosen]],
            ["manifests", "after_enter"],
        ],
        tmp_path,
    )
    seen = result["manifests"]
    assert isinstance(seen, dict)
    assert sorted(seen["after_escape"]) == before
    assert sorted(seen["after_enter"]) == sorted(set(before) - {paths[chosen]})
    on_disk = sorted(str(p.relative_to(models_dir)) for p in root.rglob("*") if p.is_file())
    assert on_disk == sorted(set(before) - {paths[chosen]})
    assert yellow_pixels(tmp_path / "question.png") > 200
    assert yellow_pixels(tmp_path / "after_escape.png") < 20
    # The blobs the others share are all still there and whole.
    store = ModelStore(models_dir)
    assert all(report.ok for report in store.verify(matching[:1]))
