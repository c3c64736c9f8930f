"""One word for repair: `verify --repair` runs health's repair, and every failure names the
exact command that fixes it. Real pulls from the real registry, real corrupted bytes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from support.faults import CuttingProxy, flip_byte
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer
from test_cli import assert_one_error_line, run_cli

from ecs_models.names import parse_model_name


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> PushedModel:
    return push_small_model(registry, "library/repair-cli", "latest", gguf_size=3 * MIB, seed=71)


def proxied(proxy: CuttingProxy, model: PushedModel) -> str:
    """The model's name through the counting proxy in front of the real registry."""
    return parse_model_name(f"{proxy.host}/{model.repository}:{model.tag}").display


@pytest.fixture
def models(tmp_path: Path, proxy: CuttingProxy, pushed: PushedModel) -> Path:
    directory = tmp_path / "models"
    result = run_cli("pull", proxied(proxy, pushed), "--json", models=directory)
    assert result.returncode == 0, result.stderr
    return directory


def command(models: Path, *words: str) -> str:
    return shlex.join(["ecs-models", "--models", str(models), *words])


def test_verify_names_the_repair_and_verify_repair_fetches_only_the_bad_blob(
    models: Path, proxy: CuttingProxy, pushed: PushedModel
) -> None:
    name = proxied(proxy, pushed)
    weights = pushed.layer("model")
    flip_byte(models / "blobs" / weights.file_name)

    bad = run_cli("verify", models=models)
    line = assert_one_error_line(bad)
    repair = command(models, "verify", "--repair", name)
    assert line.endswith(f"; run `{repair}` to download the damaged blobs again."), line

    proxy.reset_counters()
    fixed = run_cli(*shlex.split(repair)[1:])  # exactly the command the hint names
    assert fixed.returncode == 0, fixed.stderr
    assert f"repaired {name}: downloaded 1 blob(s) again" in fixed.stdout
    # Only the damaged blob came from the registry: no manifest, no other blob.
    targets = {request.target for request in proxy.requests}
    assert targets == {f"/v2/{pushed.repository}/blobs/{weights.digest}"}, targets
    assert weights.size <= proxy.bytes_to_client < weights.size + 64 * 1024

    again = run_cli("verify", models=models)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[:2] == ["ok", name]


def test_verify_repair_and_health_repair_are_the_same_command(
    models: Path, proxy: CuttingProxy, pushed: PushedModel
) -> None:
    license_blob = models / "blobs" / pushed.layer("license").file_name
    documents = []
    for word in ("verify", "health"):
        license_blob.unlink()
        result = run_cli(word, "--repair", "--json", models=models)
        assert result.returncode == 0, result.stderr
        documents.append(json.loads(result.stdout))
    first, second = documents
    assert first["repair"]["fetched"] == second["repair"]["fetched"]
    assert list(first) == list(second) == ["health", "repair"]


def test_health_names_the_same_repair(
    models: Path, proxy: CuttingProxy, pushed: PushedModel
) -> None:
    name = proxied(proxy, pushed)
    (models / "blobs" / pushed.layer("template").file_name).unlink()
    line = assert_one_error_line(run_cli("health", models=models))
    assert f"run `{command(models, 'verify', '--repair', name)}`" in line


def test_an_unreadable_manifest_names_the_pull_that_rewrites_it(
    models: Path, proxy: CuttingProxy, pushed: PushedModel
) -> None:
    name = proxied(proxy, pushed)
    manifest = models / "manifests" / proxy.host / pushed.repository / pushed.tag
    manifest.write_bytes(b"{not json")
    pull = command(models, "pull", name)
    for argv in (["verify"], ["health"], ["verify", name], ["show", name]):
        line = assert_one_error_line(run_cli(*argv, models=models))
        assert f"run `{pull}`" in line, (argv, line)
    assert run_cli(*shlex.split(pull)[1:]).returncode == 0
    assert manifest.read_bytes() == pushed.manifest_bytes


def test_export_of_a_damaged_model_names_the_repair(
    models: Path, proxy: CuttingProxy, pushed: PushedModel, tmp_path: Path
) -> None:
    name = proxied(proxy, pushed)
    flip_byte(models / "blobs" / pushed.layer("model").file_name)
    archive = tmp_path / "model.tar"
    line = assert_one_error_line(run_cli("export", name, "-o", str(archive), models=models))
    assert line.endswith(
        f"; run `{command(models, 'verify', '--repair', name)}` before exporting it."
    )
    assert not archive.exists()
