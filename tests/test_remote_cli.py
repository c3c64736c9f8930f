"""`push`, `mirror` and `hosts` through the real command line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.model_builder import MIB, push_small_model
from support.registry_server import RegistryServer

from ecs_models.cli.main import main
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import PullOptions, pull_model


def test_push_and_mirror_commands(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=1 * MIB, seed=61)
    pull_model(pushed.name, ModelStore(models_dir), options=PullOptions(part_size_min=MIB))
    renamed = f"{fresh_registry.host}/team/renamed"

    assert main(["--models", str(models_dir), "push", pushed.name, renamed, "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{\n") :])
    assert result["name"] == renamed + ":v1"
    assert result["digest"] == pushed.manifest_digest

    assert main(["--models", str(models_dir), "mirror", pushed.name, fresh_registry.host]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith("0 uploaded, 5 mounted, 0 already there; 0 B sent"), line
    with RegistryClient() as client:
        for name in (renamed + ":v1", f"{fresh_registry.host}/{unique_repo}:v1"):
            assert client.get_manifest(parse_model_name(name)) == pushed.manifest_bytes


def test_mirror_without_a_destination_is_one_error_line(
    models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--models", str(models_dir), "mirror", "llama3"]) == 1
    assert capsys.readouterr().err == (
        "error: mirror needs a source and a destination: mirror SRC... DEST.\n"
    )


def test_hosts_commands_keep_the_list_in_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    hosts_file = tmp_path / "ecs_models" / "hosts.json"

    assert main(["hosts", "add", "127.0.0.1:1"]) == 0
    assert "http://127.0.0.1:1" in json.loads(hosts_file.read_text())
    capsys.readouterr()
    assert main(["hosts", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    down = [h for h in doc["hosts"] if h["url"] == "http://127.0.0.1:1"]
    assert down and down[0]["reachable"] is False
    assert down[0]["error"].startswith("No Ollama daemon answers at http://127.0.0.1:1 ")
    assert main(["hosts", "rm", "127.0.0.1:1"]) == 0
    assert "http://127.0.0.1:1" not in json.loads(hosts_file.read_text())
    capsys.readouterr()
    assert main(["hosts", "delete", "127.0.0.1:1", "llama3"]) == 1
    assert capsys.readouterr().err.startswith(
        "error: No Ollama daemon answers at http://127.0.0.1:1"
    )
