"""Ollama's behaviour on a shared models directory, through the command line and a real registry.

Each test matches one of Ollama's rules (server/routes.go, server/images.go, internal/modelref,
cmd/cmd.go): names take the case already on disk in pull, show, rm and cp; re-pulling a changed
tag deletes the old version's layers nothing else uses unless OLLAMA_NOPRUNE is set (and, ours
beyond Ollama, unless the model is pinned); `:local` is stripped first; `list` is newest first
and filters by prefix; `list --json` and `show --json` have /api/tags' and /api/show's shapes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from panel_harness import PanelHarness
from support.model_builder import (
    MIB,
    PushedModel,
    build_model,
    cached_gguf,
    install_model,
    push_small_model,
    small_model_layers,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.cli import main
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.formatting import human_bytes, ollama_bytes
from ecs_models.store.unused_layers import no_prune
from ecs_models.transfer.progress import PullState

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
REMOVING = "removing unused layers"


def cli(
    capsys: pytest.CaptureFixture[str], models: Path, *args: str, registry: RegistryServer | None
) -> tuple[int, str, str]:
    """`ecs-models --models M [--registry HOST] ARGS...` in-process: (status, stdout, stderr)."""
    argv = ["--models", str(models)]
    if registry is not None:
        argv += ["--registry", registry.host]
    status = main([*argv, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def manifest_files(models: Path) -> list[str]:
    root = models / "manifests"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def blob_file(models: Path, digest: str) -> Path:
    return models / "blobs" / digest.replace(":", "-")


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# -- case ---------------------------------------------------------------------------------------


def test_pull_show_cp_and_rm_take_the_case_already_on_disk(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", seed=51)
    models = tmp_path / "models"
    host = f"localhost:{registry.port}"
    lower = f"{host}/{unique_repo}:v1"
    shouted = f"LOCALHOST:{registry.port}/{unique_repo.upper()}:V1"

    assert cli(capsys, models, "pull", lower, registry=None)[0] == 0
    # The registry only knows the lower-case repository: the second pull asks for the spelling
    # on disk, and its manifest replaces the first instead of becoming a second model.
    status, _, err = cli(capsys, models, "pull", shouted, registry=None)
    assert status == 0, err
    assert manifest_files(models) == [f"{host}/{unique_repo}/v1"]
    status, out, _ = cli(capsys, models, "list", "--json", registry=None)
    assert [entry["name"] for entry in json.loads(out)["models"]] == [lower]

    # show finds it in any case, and with Ollama's `:local` suffix.
    for spelling in (shouted, shouted + ":local", lower.replace(":v1", ":V1:LOCAL")):
        status, out, err = cli(capsys, models, "show", spelling, "--json", registry=None)
        assert status == 0, (spelling, err)
        assert json.loads(out)["details"]["format"] == "gguf"

    # cp: the source in any case; a destination already on disk in another case is replaced.
    copy_upper = f"{host}/library/Copy-{unique_repo[-8:]}:Two"
    status, out, err = cli(capsys, models, "cp", shouted, copy_upper, registry=None)
    assert status == 0, err
    assert out == f"copied '{lower}' to '{copy_upper}'\n"
    status, out, err = cli(capsys, models, "cp", lower, copy_upper.lower(), registry=None)
    assert status == 0, err
    assert out == f"copied '{lower}' to '{copy_upper}'\n"
    assert manifest_files(models) == sorted(
        [f"{host}/{unique_repo}/v1", f"{host}/library/Copy-{unique_repo[-8:]}/Two"]
    )

    # rm in another case removes the one manifest; the copy still needs every blob.
    status, out, err = cli(capsys, models, "rm", shouted, registry=None)
    assert status == 0, err
    assert out.splitlines()[0] == f"deleted '{lower}'"
    assert manifest_files(models) == [f"{host}/library/Copy-{unique_repo[-8:]}/Two"]
    assert all(blob_file(models, blob.digest).is_file() for blob in pushed.blobs)
    status, _, err = cli(capsys, models, "rm", copy_upper.upper() + ":local", registry=None)
    assert status == 0, err
    assert manifest_files(models) == []
    assert not any(blob_file(models, blob.digest).exists() for blob in pushed.blobs)


# -- re-pulling a changed tag -------------------------------------------------------------------

OLD_SEED, NEW_SEED = 61, 62


def _repull(
    registry: RegistryServer,
    repository: str,
    models: Path,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    between: tuple[str, ...] = (),
) -> tuple[PushedModel, PushedModel, str, str]:
    """Pull a tag, run `between` (a command on the same name), push a new version of the tag
    and pull it again with `extra` options: (old, new, stdout, stderr of the second pull)."""
    old = push_small_model(registry, repository, "latest", seed=OLD_SEED)
    name = repository.removeprefix("library/")
    status, _, err = cli(capsys, models, "pull", name, registry=registry)
    assert status == 0, err
    if between:
        status, _, err = cli(capsys, models, *between, name, registry=registry)
        assert status == 0, err
    new = push_small_model(registry, repository, "latest", seed=NEW_SEED)
    status, out, err = cli(capsys, models, "pull", name, *extra, registry=registry)
    assert status == 0, err
    assert f"{registry.host}/{repository}/latest" in manifest_files(models)
    return old, new, out, err


def _replaced(old: PushedModel, new: PushedModel) -> list[str]:
    """The old version's blobs the new one does not name: its model file and its config."""
    kept = {blob.digest for blob in new.blobs}
    replaced = [blob.digest for blob in old.blobs if blob.digest not in kept]
    assert len(replaced) == 2
    return replaced


def test_repull_deletes_the_old_versions_unused_layers(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    old, new, out, err = _repull(registry, unique_repo, models, capsys)
    replaced = _replaced(old, new)
    freed = sum(old.blob(digest).size for digest in replaced)
    assert not any(blob_file(models, digest).exists() for digest in replaced)
    # The template, params and licence are the same in both versions: they stay.
    assert all(blob_file(models, blob.digest).is_file() for blob in new.blobs)
    assert REMOVING in err.splitlines()
    assert out.splitlines() == [
        f"freed {ollama_bytes(freed)} ({freed} bytes, the old version's unused layers)",
        "success",
    ]


def test_repull_json_reports_bytes_freed_and_keeps_blobs_another_model_uses(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    # Another model, installed first, shares the old version's model file.
    sharer = build_model(
        [*small_model_layers(cached_gguf(MIB, OLD_SEED)), text_layer("system", "I share.")]
    )
    install_model(models, sharer, repository="library/sharer")
    old, new, out, _ = _repull(registry, unique_repo, models, capsys, "--json")
    model_file, config = _replaced(old, new)
    assert blob_file(models, model_file).is_file()
    assert not blob_file(models, config).exists()
    lines = json_lines(out)
    assert lines[-2:] == [
        {"status": REMOVING, "freed_bytes": old.blob(config).size},
        {"status": "success"},
    ]


def test_repull_with_ollama_noprune_keeps_the_old_layers(
    registry: RegistryServer,
    unique_repo: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_NOPRUNE", ' "1" ')  # trimmed of spaces and quotes, as Ollama does
    models = tmp_path / "models"
    old, new, out, err = _repull(registry, unique_repo, models, capsys, "--json")
    assert all(blob_file(models, digest).is_file() for digest in _replaced(old, new))
    assert REMOVING not in out and REMOVING not in err
    assert json_lines(out)[-1] == {"status": "success"}
    # `prune` is how they go afterwards.
    status, prune_out, _ = cli(capsys, models, "prune", registry=None)
    assert status == 0
    assert not any(blob_file(models, digest).exists() for digest in _replaced(old, new))
    assert "freed" in prune_out


def test_repull_of_a_pinned_model_keeps_its_blobs(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    old, new, out, err = _repull(registry, unique_repo, models, capsys, between=("pin",))
    assert all(blob_file(models, digest).is_file() for digest in _replaced(old, new))
    assert REMOVING not in err
    assert out.splitlines() == ["success"]


@pytest.mark.parametrize("noprune", [False, True])
def test_update_frees_through_the_pull_and_honours_ollama_noprune(
    registry: RegistryServer,
    unique_repo: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    noprune: bool,
) -> None:
    if noprune:
        monkeypatch.setenv("OLLAMA_NOPRUNE", "true")
    models = tmp_path / "models"
    old = push_small_model(registry, unique_repo, "latest", seed=OLD_SEED)
    assert cli(capsys, models, "pull", old.name, registry=None)[0] == 0
    new = push_small_model(registry, unique_repo, "latest", seed=NEW_SEED)
    status, out, err = cli(capsys, models, "update", old.name, "--json", registry=None)
    assert status == 0, err
    (outcome,) = json.loads(out)["updates"]
    assert outcome["result"] == "updated"
    replaced = _replaced(old, new)
    on_disk = [blob_file(models, digest).exists() for digest in replaced]
    if noprune:
        assert on_disk == [True, True] and outcome["freed"] == 0
    else:
        assert on_disk == [False, False]
        assert outcome["freed"] == sum(old.blob(digest).size for digest in replaced)


def test_repull_in_the_panel_says_what_it_freed(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    old = push_small_model(registry, unique_repo, "latest", seed=OLD_SEED)
    assert cli(capsys, models, "pull", old.name, registry=None)[0] == 0
    new = push_small_model(registry, unique_repo, "latest", seed=NEW_SEED)
    freed = sum(old.blob(digest).size for digest in _replaced(old, new))
    harness = PanelHarness(models, registry.host)
    try:
        harness.settle()
        harness.type_text(f"{unique_repo}:latest")
        harness.press_enter()

        def done() -> bool:
            tasks = [task for _, task in harness.query(ModelInstallationTask)]
            return bool(tasks) and tasks[0].state is PullState.DONE

        harness.run_until(done, timeout=60)
        harness.run_until(lambda: "Installed" in harness.view.notice_label.text, timeout=10)
        notice = harness.view.notice_label.text
        assert notice.endswith(f"; freed {human_bytes(freed)} of the old version's layers.")
    finally:
        harness.close()
    assert not any(blob_file(models, digest).exists() for digest in _replaced(old, new))


@pytest.mark.parametrize(
    ("value", "set_"),
    [("", False), ("0", False), ("false", False), ("F", False), ("1", True), ("true", True),
     ("'TRUE'", True), ("yes", True)],  # Go's ParseBool; a value it cannot parse counts as set
)  # fmt: skip
def test_ollama_noprune_reads_as_ollamas_envconfig(value: str, set_: bool) -> None:
    assert no_prune({"OLLAMA_NOPRUNE": value}) is set_


# -- list -------------------------------------------------------------------------------------


def _install_three(models: Path) -> dict[str, Path]:
    """llama3, llava and qwen3 installed straight into the directory, as Ollama leaves them;
    their manifests' mtimes say llava is newest, then qwen3, then llama3."""
    gguf = cached_gguf(MIB, 71)
    paths: dict[str, Path] = {}
    for second, name in ((100, "llama3"), (300, "llava"), (200, "qwen3")):
        model = build_model([*small_model_layers(gguf), text_layer("system", name)])
        path = install_model(models, model, repository=f"library/{name}")
        when = 1_700_000_000_000_000_000 + second * 1_000_000_000 + 123_456_789
        os.utime(path, ns=(when, when))
        paths[f"{name}:latest"] = path
    return paths


def test_list_is_newest_first_and_takes_a_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    _install_three(models)

    def names(*args: str) -> list[str]:
        status, out, err = cli(capsys, models, "list", *args, registry=None)
        assert status == 0, err
        if "--json" in args:
            return [entry["name"] for entry in json.loads(out)["models"]]
        lines = out.splitlines()
        assert lines[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
        return [line.split()[0] for line in lines[1:]]

    assert names() == ["llava:latest", "qwen3:latest", "llama3:latest"]
    assert names("--json") == ["llava:latest", "qwen3:latest", "llama3:latest"]
    # Ollama's filter: the shown name starts with the prefix, ignoring case.
    assert names("LL") == ["llava:latest", "llama3:latest"]
    assert names("llama", "--json") == ["llama3:latest"]
    assert names("ls") == []
    assert names("registry.ollama.ai") == []  # the shown name has no default host


def test_list_json_entries_have_api_tags_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    paths = _install_three(models)
    for _ in range(2):  # the second listing answers from the per-digest cache
        status, out, err = cli(capsys, models, "list", "--json", registry=None)
        assert status == 0, err
        entries = json.loads(out)["models"]
        assert len(entries) == 3
        for entry in entries:
            assert list(entry) == [
                "name", "model", "modified_at", "size", "digest", "capabilities", "details"
            ]  # fmt: skip
            assert entry["capabilities"] == ["completion"]
            # The test GGUF's llama.context_length and llama.embedding_length.
            assert entry["details"]["context_length"] == 2048
            assert entry["details"]["embedding_length"] == 64
            assert RFC3339_NANO.match(entry["modified_at"]), entry["modified_at"]
            mtime_ns = paths[entry["name"]].stat().st_mtime_ns
            assert entry["modified_at"].endswith(
                f".{mtime_ns % 1_000_000_000:09d}".rstrip("0") + "Z"
            )
        assert entries[0]["modified_at"] == "2023-11-14T22:18:20.123456789Z"


# -- show -------------------------------------------------------------------------------------


def test_show_json_has_api_show_types(
    registry: RegistryServer, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    push_small_model(registry, unique_repo, "latest", seed=81)
    models = tmp_path / "models"
    name = unique_repo.removeprefix("library/")
    assert cli(capsys, models, "pull", name, registry=registry)[0] == 0
    status, out, err = cli(capsys, models, "show", name + ":local", "--json", registry=registry)
    assert status == 0, err
    doc = json.loads(out)
    assert isinstance(doc["license"], str) and doc["license"].startswith("MIT License")
    # One string of "key value" lines, keys padded as Ollama's formatParams pads them.
    assert doc["parameters"] == "\n".join(
        [f'{"stop":<30} "<|end|>"', f'{"stop":<30} "<|user|>"', f"{'temperature':<30} 0.7"]
    )
    assert isinstance(doc["modelfile"], str) and doc["modelfile"].startswith("# Modelfile")
    assert isinstance(doc["model_info"], dict) and doc["model_info"]["llama.context_length"] == 2048
    assert doc["capabilities"] == ["completion"]
    assert "tensors" not in doc
    status, out, _ = cli(capsys, models, "show", name, "--json", "--verbose", registry=registry)
    tensors = json.loads(out)["tensors"]
    assert status == 0 and {"name", "type", "shape"} <= set(tensors[0])
