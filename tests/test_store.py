"""The models directory: listing, lookup, reference-counted removal, prune, verify, pins."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support.faults import flip_byte
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.store.model_store import ModelStore, default_models_dir
from ecs_models.transfer.pull import PullOptions, pull_model

FAST = PullOptions(part_size_min=1 * MIB)


@pytest.fixture(scope="module")
def shared_pair(
    registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PushedModel, PushedModel]:
    shared = tmp_path_factory.mktemp("shared") / "shared.gguf"
    shared.write_bytes(os.urandom(2 * MIB))
    first = push_small_model(registry, "library/store-a", "latest", shared_gguf=shared)
    second = push_small_model(registry, "team/store-b", "v2", shared_gguf=shared, seed=1)
    return first, second


@pytest.fixture
def store(models_dir: Path, shared_pair: tuple[PushedModel, PushedModel]) -> ModelStore:
    store = ModelStore(models_dir)
    for pushed in shared_pair:
        pull_model(pushed.name, store, options=FAST)
    return store


def test_default_models_dir_follows_ollama(tmp_path: Path) -> None:
    assert default_models_dir({"OLLAMA_MODELS": f'  "{tmp_path}"  '}) == tmp_path
    assert default_models_dir({"OLLAMA_MODELS": "   "}) == Path.home() / ".ollama" / "models"
    assert default_models_dir({}) == Path.home() / ".ollama" / "models"


def test_list_and_api_shape(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    models = store.list_models()
    assert sorted(m.id for m in models) == sorted(p.id for p in shared_pair)
    assert [m.display for m in models] == sorted(m.display for m in models)
    entry = models[0].to_api_dict()
    assert set(entry) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert len(entry["digest"]) == 64 and entry["size"] == models[0].size
    assert entry["details"]["format"] == "gguf"


def test_resolve_is_case_insensitive_like_ollama(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, _ = shared_pair
    upper = first.name.replace("store-a", "STORE-A")
    assert store.resolve(upper).id == first.id
    with pytest.raises(ModelNotFoundError, match="is not installed"):
        store.resolve(first.name.replace("store-a", "store-zzz"))


def test_remove_keeps_blobs_another_model_needs(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = shared_pair
    shared_digest = first.layer("model").digest
    dry = store.remove([first.name], dry_run=True)
    assert shared_digest not in {b.digest for b in dry.blobs}
    assert store.resolve(first.name)  # a dry run changes nothing

    plan = store.remove([first.name])

    own = {b.digest for b in first.blobs} - {b.digest for b in second.blobs}
    assert {b.digest for b in plan.blobs} == own
    assert plan.bytes_freed == sum(first.blob(d).size for d in own)
    assert store.blob_path(shared_digest).exists()
    assert not (store.manifests_dir / first.host / "library" / "store-a").exists()

    last = store.remove([second.name])
    assert shared_digest in {b.digest for b in last.blobs}
    assert sorted(p.name for p in store.blobs_dir.iterdir()) == []
    assert list(store.manifests_dir.iterdir()) == []


def test_unreadable_manifest_protects_the_blobs_it_names(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = shared_pair
    broken = store.resolve(second.name).manifest_path
    broken.write_bytes(broken.read_bytes()[:-5])  # truncated JSON still names its digests
    plan = store.remove([first.name], dry_run=True)
    assert first.layer("model").digest not in {b.digest for b in plan.blobs}
    assert [p for p, _ in store.unreadable_manifests()] == [broken]


def test_pinned_blobs_survive_removal_and_prune(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = shared_pair
    shared_digest = first.layer("model").digest
    with store.pin([shared_digest]):  # an install in flight needs it
        store.remove([first.name, second.name])
        assert store.blob_path(shared_digest).exists()
        assert store.prune(dry_run=True).orphan_blobs == []
    plan = store.prune()
    assert [b.digest for b in plan.orphan_blobs] == [shared_digest]
    assert not store.blob_path(shared_digest).exists()


def test_prune_removes_orphans_and_stale_partials_only(store: ModelStore) -> None:
    orphan = store.blobs_dir / ("sha256-" + "ab" * 32)
    orphan.write_bytes(b"x" * 1000)
    stale = store.blobs_dir / ("sha256-" + "cd" * 32 + "-partial")
    stale.write_bytes(b"y" * 4096)
    stale_state = stale.with_name(stale.name + "-0")
    stale_state.write_text('{"N":0,"Offset":0,"Size":4096,"Completed":4096}')
    fresh = store.blobs_dir / ("sha256-" + "ef" * 32 + "-partial")
    fresh.write_bytes(b"z" * 10)
    old = time.time() - 7200
    for path in (stale, stale_state):
        os.utime(path, (old, old))
    stranger = store.blobs_dir / "notes.txt"
    stranger.write_text("not ours to judge")

    plan = store.prune()

    assert [b.path for b in plan.orphan_blobs] == [orphan]
    assert sorted(plan.stale_partials) == sorted([stale, stale_state])
    assert plan.bytes_freed >= 1000 + 4096
    assert not orphan.exists() and not stale.exists()
    assert fresh.exists() and stranger.exists()
    assert all(m.manifest_path.exists() for m in store.list_models())


def test_verify_finds_missing_short_and_corrupt_blobs(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = shared_pair
    assert all(r.ok for r in store.verify())
    checked: list[int] = []
    reports = store.verify([first.name], on_bytes=checked.append)
    assert sum(checked) == reports[0].bytes_checked == first.total_size

    corrupt = first.layer("model").digest  # shared by both models
    missing = first.layer("template").digest
    short = second.config.digest
    flip_byte(store.blob_path(corrupt), 100)
    store.blob_path(missing).unlink()
    with store.blob_path(short).open("ab") as handle:
        handle.write(b"!")
    damage = {corrupt: "digest", missing: "missing", short: "size"}

    for report in store.verify():
        expected = {
            (b.digest, damage[b.digest]) for b in report.model.manifest.blobs if b.digest in damage
        }
        assert {(p.digest, p.kind) for p in report.problems} == expected
        assert not report.ok


def test_write_manifest_refuses_incomplete_blobs(
    store: ModelStore, shared_pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = shared_pair
    model = store.resolve(first.name)
    store.remove([first.name, second.name])
    with pytest.raises(EcsModelsError, match="missing or incomplete"):
        store.write_manifest(model.name, model.manifest.raw)
    assert not model.manifest_path.exists()
