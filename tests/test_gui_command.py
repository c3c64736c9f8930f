"""`gui`: the window opens, draws and closes by itself with --frames; with no display it says so."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_cli import PYTHON, assert_one_error_line

from ecs_models.cli.main import main

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "XDG_RUNTIME_DIR")


def run_gui(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m ecs_models gui ARGS` with the display variables exactly as `env` gives them."""
    environment = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    environment.pop("ECS_MODELS_DEBUG", None)
    environment.update(env)
    return subprocess.run(
        [PYTHON, "-m", "ecs_models", "gui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def test_frames_draws_that_many_frames_headless_and_exits_cleanly(tmp_path: Path) -> None:
    models = tmp_path / "models"
    result = run_gui("--frames", "3", "--models", str(models), env={"SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "drew 3 frames, then closed the window\n"
    assert result.stderr == ""
    # The window's own store opened the models directory it was given, and nothing else.
    assert (models / "manifests").is_dir()


def test_without_any_display_variable_it_refuses_in_one_line(tmp_path: Path) -> None:
    # --frames keeps a regression (a window running unseen) from hanging the test: it would
    # exit 0 after drawing, and fail the status check instead.
    result = run_gui("--frames", "3", "--models", str(tmp_path / "models"), env={})
    line = assert_one_error_line(result)
    assert "no display was found" in line
    assert result.stdout == ""


def test_an_unreachable_display_is_refused_not_drawn_offscreen(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)  # lets SDL's Wayland probe fail quietly
    result = run_gui(
        "--frames",
        "3",
        "--models",
        str(tmp_path / "models"),
        env={"DISPLAY": ":65000", "XDG_RUNTIME_DIR": str(runtime_dir)},
    )
    line = assert_one_error_line(result)
    assert "SDL found no display it can use (only its offscreen driver" in line


@pytest.mark.parametrize("frames", ["0", "-2", "many"])
def test_frames_must_be_a_positive_whole_number(
    frames: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["gui", "--frames", frames])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --frames: "), err
    assert err.count("\n") == 1
