"""Mirror between two real registries: relayed or from the store, mounts, resume, --all."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.faults import ProxyFactory
from support.model_builder import MIB, GGUFFactory, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.mirror import MirrorJob, mirror_models, plan_mirror
from ecs_models.transfer.progress import ProgressEvent, PullProgress
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.transfer.push import PushCancelledError, PushOptions

CHUNKED = PushOptions(chunk_size_min=1 * MIB, chunk_size_max=1 * MIB, retry_base_delay=0.05)
PULL = PullOptions(part_size_min=1 * MIB, retry_base_delay=0.05)


def store_files(store: ModelStore) -> list[Path]:
    return [p for d in (store.blobs_dir, store.manifests_dir) for p in d.rglob("*")]


def manifest_at(name: str) -> bytes:
    with RegistryClient() as client:
        return client.get_manifest(parse_model_name(name))


def job(source: str, dest: str) -> MirrorJob:
    return MirrorJob(parse_model_name(source), parse_model_name(dest))


def test_mirror_relays_a_model_that_is_not_installed_and_stores_nothing(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy_factory: ProxyFactory,
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=3 * MIB, seed=41)
    to_b = proxy_factory(fresh_registry)
    store = ModelStore(models_dir)
    dest = f"{to_b.host}/{unique_repo}:v1"

    (result,) = mirror_models([job(pushed.name, dest)], store, options=CHUNKED)

    assert manifest_at(dest) == pushed.manifest_bytes
    assert result.digest == pushed.manifest_digest
    assert sorted(result.uploaded) == sorted(b.digest for b in pushed.blobs)
    assert result.bytes_sent == pushed.total_size
    assert to_b.bytes_to_server < pushed.total_size + 64 * 1024
    assert store_files(store) == []
    pulled = pull_model(dest, ModelStore(models_dir.parent / "check"), options=PULL)
    assert pulled.id == pushed.id


def test_mirror_of_two_models_mounts_the_shared_blob(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy_factory: ProxyFactory,
    gguf_factory: GGUFFactory,
) -> None:
    shared = gguf_factory(tensor_bytes=3 * MIB, seed=42)
    first = push_small_model(registry, unique_repo, "v1", shared_gguf=shared)
    second = push_small_model(registry, unique_repo + "-other", "v1", shared_gguf=shared)
    to_b = proxy_factory(fresh_registry)
    store = ModelStore(models_dir)
    jobs = plan_mirror([first.name, second.name], to_b.host, store)

    results = mirror_models(jobs, store, options=CHUNKED)

    model_blob = first.layers[0]
    assert model_blob.digest == second.layers[0].digest
    assert model_blob.digest in results[0].uploaded
    assert model_blob.digest in results[1].mounted
    mounts = [r.target for r in to_b.requests if r.method == "POST" and "mount=" in r.target]
    assert any(unique_repo.replace("/", "%2F") in t for t in mounts)
    # The 3 MiB GGUF crossed the network once.
    assert to_b.bytes_to_server < first.total_size + second.total_size - model_blob.size + 64 * 1024
    for pushed, target in zip((first, second), jobs, strict=True):
        assert manifest_at(str(target.dest)) == pushed.manifest_bytes
        assert target.dest.repository == pushed.repository
    assert store_files(store) == []


def test_installed_model_is_mirrored_from_the_store_even_when_its_registry_is_gone(
    fresh_registry: RegistryServer,
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
) -> None:
    pushed = push_small_model(fresh_registry, unique_repo, "v1", gguf_size=2 * MIB, seed=43)
    store = ModelStore(models_dir)
    pull_model(pushed.name, store, options=PULL)
    fresh_registry.kill()
    dest = f"{registry.host}/{unique_repo}-copy:v1"

    (result,) = mirror_models([job(pushed.name, dest)], store, options=CHUNKED)

    assert manifest_at(dest) == pushed.manifest_bytes
    assert result.bytes_sent == pushed.total_size


def test_cancelled_mirror_resumes_skipping_blobs_already_there(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy_factory: ProxyFactory,
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=4 * MIB, seed=44)
    to_b = proxy_factory(fresh_registry)
    store = ModelStore(models_dir)
    mirror = job(pushed.name, f"{to_b.host}/{unique_repo}:v1")
    cancel = threading.Event()
    model_blob = pushed.layers[0]

    def stop_after_model_blob(event: ProgressEvent) -> None:
        if event.digest == model_blob.digest and event.completed == model_blob.size:
            cancel.set()

    with pytest.raises(PushCancelledError):
        mirror_models(
            [mirror],
            store,
            cancel=cancel,
            options=CHUNKED,
            progress_for=lambda j: PullProgress(j.dest.display, stop_after_model_blob),
        )
    with pytest.raises(ModelNotFoundError):
        manifest_at(str(mirror.dest))
    to_b.reset_counters()

    (result,) = mirror_models([mirror], store, options=CHUNKED)

    assert model_blob.digest in result.present
    assert to_b.bytes_to_server < pushed.total_size - model_blob.size + 64 * 1024
    assert manifest_at(str(mirror.dest)) == pushed.manifest_bytes


def test_mirror_within_one_registry_mounts_from_the_source_repository(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=2 * MIB, seed=45)
    dest = f"{registry.host}/{unique_repo}-mirror:v1"

    (result,) = mirror_models([job(pushed.name, dest)], ModelStore(models_dir), options=CHUNKED)

    assert sorted(result.mounted) == sorted(b.digest for b in pushed.blobs)
    assert result.bytes_sent == 0
    assert manifest_at(dest) == pushed.manifest_bytes


def test_all_installed_under_a_host_go_to_the_destination(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
) -> None:
    store = ModelStore(models_dir)
    models: list[PushedModel] = []
    for i, tag in enumerate(("a", "b")):
        pushed = push_small_model(registry, unique_repo, tag, gguf_size=1 * MIB, seed=50 + i)
        pull_model(pushed.name, store, options=PULL)
        models.append(pushed)

    jobs = plan_mirror([registry.host], fresh_registry.host, store, all_installed=True)
    mirror_models(jobs, store, options=CHUNKED)

    assert {str(j.dest) for j in jobs} == {
        f"{fresh_registry.host}/{unique_repo}:{tag}" for tag in ("a", "b")
    }
    for pushed in models:
        assert manifest_at(f"{fresh_registry.host}/{pushed.repository}:{pushed.tag}") == (
            pushed.manifest_bytes
        )


def test_mirror_planning_errors_are_one_sentence(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    with pytest.raises(ModelNotFoundError, match=r"^No installed model is under example\.com\.$"):
        plan_mirror(["example.com"], "other.example/", store, all_installed=True)
    with pytest.raises(EcsModelsError, match="same name"):
        plan_mirror(["a.example/x/m:1", "b.example/x/m:1"], "c.example", store)
