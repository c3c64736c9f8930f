"""Update checks, updates, pins and history against the real registry fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.faults import CuttingProxy
from support.model_builder import (
    MIB,
    PushedModel,
    cached_gguf,
    gguf_layer,
    json_layer,
    push_model,
    push_small_model,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.catalog.updates import CURRENT, MISSING, OUTDATED, UpdateChecker, update_models
from ecs_models.cli.main import main
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.history import history, pin_model, pinned_models, record_install
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model


def push_version(
    target: str | CuttingProxy | RegistryServer, repo: str, template: str, seed: int = 1
) -> PushedModel:
    """A model whose GGUF stays the same between versions and whose template changes."""
    layers = [
        gguf_layer(cached_gguf(2 * MIB, seed)),
        text_layer("template", template),
        json_layer("params", {"stop": ["<|end|>"]}),
    ]
    return push_model(target, repo, "latest", layers)


def new_bytes(old: PushedModel, new: PushedModel) -> int:
    known = {b.digest for b in old.blobs}
    return sum({b.digest: b.size for b in new.blobs if b.digest not in known}.values())


def install(store: ModelStore, name: str) -> None:
    with RegistryClient() as client:
        record_install(store, pull_model(name, store, registry=client))


def test_outdated_reports_a_new_version_with_the_size_of_the_change(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    v1 = push_version(registry, unique_repo, "{{ .Prompt }}")
    store = ModelStore(models_dir)
    install(store, v1.name)
    checker = UpdateChecker()
    with RegistryClient() as client:
        (status,) = checker.check(store, client)
        assert status.state == CURRENT and not status.outdated
        assert status.remote_digest == v1.manifest_digest
        v2 = push_version(registry, unique_repo, "{{ .System }} {{ .Prompt }}")
        # Cached answers are reused until forgotten (the app forgets after an update).
        assert checker.check(store, client)[0].state == CURRENT
        checker.forget()
        (status,) = checker.check(store, client)
    assert status.state == OUTDATED and status.outdated
    assert status.remote_digest == v2.manifest_digest
    assert status.model.digest == v1.manifest_digest
    # Only the new template and config blobs: the 2 MiB GGUF is already here.
    assert status.change is not None
    assert status.change_bytes == new_bytes(v1, v2)
    assert status.change_bytes < 10_000
    assert status.change.total == v2.total_size
    assert status.change.present == v2.total_size - new_bytes(v1, v2)


def test_update_moves_to_the_new_digest_and_reuses_shared_blobs(
    proxy: CuttingProxy, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    v1 = push_version(registry, unique_repo, "v1 {{ .Prompt }}")
    name = f"{proxy.host}/{unique_repo}:latest"
    store = ModelStore(models_dir)
    install(store, name)
    v2 = push_version(registry, unique_repo, "v2 {{ .Prompt }}")
    gguf = v1.layer("model")
    assert gguf.digest == v2.layer("model").digest
    proxy.reset_counters()
    with RegistryClient() as client:
        (outcome,) = update_models(store, client)
    assert outcome.result == "updated"
    assert (outcome.old_digest, outcome.new_digest) == (v1.manifest_digest, v2.manifest_digest)
    assert outcome.downloaded == new_bytes(v1, v2)
    assert store.resolve(parse_model_name(name)).digest == v2.manifest_digest
    # The shared GGUF never crossed the wire again: only manifests and the small new blobs.
    assert not [r for r in proxy.requests if gguf.digest in r.target]
    assert proxy.bytes_to_client < new_bytes(v1, v2) + 64 * 1024
    assert store.blob_path(gguf.digest).stat().st_size == gguf.size
    # The old template and config nothing uses any more are gone (as Ollama does).
    old_only = [b for b in v1.blobs if b.digest not in {x.digest for x in v2.blobs}]
    assert old_only and not any(store.blob_path(b.digest).exists() for b in old_only)
    assert outcome.freed == sum(b.size for b in old_only)
    # History records both digests, oldest first.
    versions = history(store, parse_model_name(name))
    assert [v.digest for v in versions] == [v1.manifest_digest, v2.manifest_digest]
    assert [v.action for v in versions] == ["install", "update"]
    assert versions[0].installed_at <= versions[1].installed_at
    # Nothing left to do afterwards.
    with RegistryClient() as client:
        assert [o.result for o in update_models(store, client)] == ["current"]


def test_pinned_models_are_skipped_by_update_all(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    kept_repo, moved_repo = unique_repo + "-kept", unique_repo + "-moved"
    kept_v1 = push_version(registry, kept_repo, "kept 1", seed=3)
    moved_v1 = push_version(registry, moved_repo, "moved 1", seed=4)
    store = ModelStore(models_dir)
    install(store, kept_v1.name)
    install(store, moved_v1.name)
    pin_model(store, store.resolve(parse_model_name(kept_v1.name)))
    kept_v2 = push_version(registry, kept_repo, "kept 2", seed=3)
    moved_v2 = push_version(registry, moved_repo, "moved 2", seed=4)
    with RegistryClient() as client:
        statuses = {s.model.display: s for s in UpdateChecker().check(store, client)}
        kept_status = statuses[parse_model_name(kept_v1.name).display]
        assert kept_status.outdated and kept_status.pinned
        outcomes = {o.name: o for o in update_models(store, client)}
        # Named explicitly, a pinned model is still kept: unpin first.
        named = update_models(store, client, [parse_model_name(kept_v1.name)])
    kept = outcomes[parse_model_name(kept_v1.name).display]
    moved = outcomes[parse_model_name(moved_v1.name).display]
    assert kept.result == "pinned" and kept.new_digest == kept_v2.manifest_digest
    assert moved.result == "updated" and moved.new_digest == moved_v2.manifest_digest
    assert [o.result for o in named] == ["pinned"]
    assert store.resolve(parse_model_name(kept_v1.name)).digest == kept_v1.manifest_digest
    assert store.resolve(parse_model_name(moved_v1.name)).digest == moved_v2.manifest_digest
    (pin,) = pinned_models(store).values()
    assert pin.digest == kept_v1.manifest_digest


def test_a_model_gone_from_its_registry_is_reported_not_raised(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    v1 = push_version(registry, unique_repo, "alone")
    store = ModelStore(models_dir)
    install(store, v1.name)
    gone = parse_model_name(f"{registry.host}/{unique_repo}-gone:latest")
    # Install the same manifest under a repository the registry never had.
    store.write_manifest(gone, v1.manifest_bytes)
    with RegistryClient() as client:
        statuses = {s.model.display: s for s in UpdateChecker().check(store, client)}
    assert statuses[gone.display].state == MISSING
    error = statuses[gone.display].error
    assert error is not None and "not found" in error
    assert statuses[parse_model_name(v1.name).display].state == CURRENT


def test_history_of_a_model_installed_without_us_shows_it_as_found(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=1 * MIB, seed=5)
    store = ModelStore(models_dir)
    with RegistryClient() as client:
        model = pull_model(pushed.name, store, registry=client)  # no record_install
    versions = history(store, model.name)
    assert [(v.digest, v.action) for v in versions] == [(pushed.manifest_digest, "found")]
    record_install(store, model)
    record_install(store, model)  # the same digest again adds nothing
    assert [v.action for v in history(store, model.name)] == ["install"]
    assert not list(store.blobs_dir.glob("*.json"))  # our state never lands in blobs/
    assert (store.state_dir / "history.json").is_file()


def test_cli_outdated_update_pin_and_history(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    v1 = push_version(registry, unique_repo, "cli 1", seed=6)
    store = ModelStore(models_dir)
    install(store, v1.name)
    v2 = push_version(registry, unique_repo, "cli 2", seed=6)
    models = ["--models", str(models_dir)]
    assert main(["outdated", "--json", *models]) == 0
    (row,) = json.loads(capsys.readouterr().out)["models"]
    assert row["state"] == OUTDATED and row["change_bytes"] == new_bytes(v1, v2)
    assert row["remote_digest"] == v2.manifest_digest and row["pinned"] is False

    assert main(["pin", v1.name, *models]) == 0
    assert "pinned" in capsys.readouterr().out
    assert main(["update", "--all", "--json", *models]) == 0
    (skipped,) = json.loads(capsys.readouterr().out)["updates"]
    assert skipped["result"] == "pinned"

    assert main(["unpin", v1.name, *models]) == 0
    assert "unpinned" in capsys.readouterr().out
    assert main(["update", v1.name, *models]) == 0
    out = capsys.readouterr().out
    assert f"to {v2.manifest_digest[7:19]}" in out

    assert main(["history", v1.name, "--json", *models]) == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert [v["digest"] for v in versions] == [v1.manifest_digest, v2.manifest_digest]
    assert main(["history", v1.name, *models]) == 0
    text = capsys.readouterr().out
    assert v1.manifest_digest[7:19] in text and v2.manifest_digest[7:19] in text

    assert main(["update", *models]) == 1  # neither names nor --all
    assert "Name the models to update, or pass --all" in capsys.readouterr().err
