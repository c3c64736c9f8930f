"""Every command follows the command line's two rules (see the ecs_models.cli docstring):
read-only commands never create a models directory, and bad input ends in one `error:` line
with the same exit status and the same words whichever command met it.

The commands run in-process through `main`, against directories that do not exist; a
registry that nothing answers (a closed loopback port) stands in for an unreachable one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_models.cli import main
from ecs_models.cli.main import COMMAND_GROUPS, build_parser

CLOSED = "127.0.0.1:9"  # the discard port: nothing listens on loopback, the connection is refused

READ_ONLY = [
    ["list"],
    ["list", "--json"],
    ["list", "gemma", "--json"],
    ["show", "gemma3"],
    ["verify"],
    ["verify", "--json"],
    ["verify", "gemma3"],
    ["du"],
    ["du", "--json"],
    ["disk"],
    ["disk", "--json"],
    ["health"],
    ["health", "--json"],
    ["health", "gemma3"],
    ["cleanup", "--dry-run"],
    ["cleanup"],  # nothing to clean where there is no store
    ["prune", "--dry-run"],
    ["prune"],
    ["rm", "--dry-run", "gemma3"],
    ["rm", "gemma3"],
    ["stats"],
    ["stats", "gemma3"],
    ["fit", "gemma3", "--registry", CLOSED],
    ["outdated"],
    ["history", "gemma3"],
    ["pin", "gemma3"],
    ["unpin", "gemma3"],
    ["update", "gemma3"],
    ["tags", "gemma3", "--registry", CLOSED],
    ["export", "gemma3", "-o", "OUT/gemma3.tar"],
]

# Commands that take a model name, each with the arguments that complete it.
NAMED = [
    ["show", "{}"],
    ["verify", "{}"],
    ["rm", "{}"],
    ["cp", "{}", "copy"],
    ["health", "{}"],
    ["export", "{}", "-o", "OUT/x.tar"],
    ["pin", "{}"],
    ["history", "{}"],
    ["stats", "{}"],
    ["update", "{}"],
    ["push", "{}", f"{CLOSED}/x/y"],
    ["bench", "{}"],
]


def _run(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    args = [a.replace("OUT/", f"{tmp_path}/out/") for a in argv]
    status = main(["--models", str(tmp_path / "models"), *args])
    return status, capsys.readouterr().err


def _error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("argv", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_the_models_directory(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    status, err = _run(argv, tmp_path, capsys)
    assert status in (0, 1), err
    if status == 1:
        _error_line(err)
    assert not (tmp_path / "models").exists(), f"{argv} created the models directory"
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("argv", NAMED, ids=lambda a: a[0])
def test_a_model_that_is_not_installed_is_the_same_error_everywhere(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "models" / "manifests").mkdir(parents=True)
    status, err = _run([a.format("nothere") for a in argv], tmp_path, capsys)
    assert status == 1
    line = _error_line(err)
    assert "nothere:latest" in line
    assert "not installed" in line or "no history" in line or "No performance" in line


@pytest.mark.parametrize("argv", NAMED, ids=lambda a: a[0])
def test_a_bad_registry_option_is_a_usage_error_with_one_message(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    status, err = _run(["--registry", "ftp://x", *(a.format("m") for a in argv)], tmp_path, capsys)
    assert status == 2
    assert _error_line(err) == (
        "error: --registry 'ftp://x' has scheme 'ftp'; "
        "use a host such as registry.ollama.ai or 127.0.0.1:5000."
    )
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("argv", NAMED, ids=lambda a: a[0])
def test_a_name_that_is_no_model_name_fails_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    status, err = _run([a.format("../../etc") for a in argv], tmp_path, capsys)
    assert status == 1
    _error_line(err)
    assert not (tmp_path / "models").exists()


def test_unknown_options_are_usage_errors_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    commands = sorted(
        name
        for action in parser._subparsers._group_actions  # type: ignore[union-attr]
        for name in getattr(action, "choices", {})
    )
    assert {"pull", "list", "du", "health", "search", "push", "gui"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exit_info:
            main(["--models", str(tmp_path / "models"), command, "--no-such-option"])
        assert exit_info.value.code == 2, command
        line = _error_line(capsys.readouterr().err)
        # argparse names the first thing wrong: the unknown option or a missing argument.
        assert "--no-such-option" in line or "required" in line, line
        assert line.endswith("--help')"), line
    assert not (tmp_path / "models").exists()


def test_every_command_group_registers_handlers() -> None:
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in getattr(action, "choices", {}).items():
            assert callable(sub.get_default("handler")), name
    assert len(COMMAND_GROUPS) == len(set(COMMAND_GROUPS))
