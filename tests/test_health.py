"""Health checks and repair on real pulled stores: flipped, truncated, deleted blobs, bad GGUF."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from lifecycle_support import pull, via
from support.faults import CuttingProxy, flip_byte
from support.model_builder import (
    MIB,
    PushedModel,
    cached_gguf,
    gguf_layer,
    push_model,
    push_small_model,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.cli import main
from ecs_models.errors import OperationCancelledError
from ecs_models.registry.client import RegistryClient
from ecs_models.storage.health import FindingKind, HealthProgress, check_health, load_health
from ecs_models.storage.repair import repair
from ecs_models.store.model_store import ModelStore


@pytest.fixture(scope="module")
def pair(registry: RegistryServer) -> tuple[PushedModel, PushedModel]:
    first = push_small_model(registry, "library/health-a", "latest", gguf_size=2 * MIB, seed=11)
    second = push_small_model(registry, "team/health-b", "v1", gguf_size=2 * MIB, seed=12)
    return first, second


@pytest.fixture
def store(
    models_dir: Path, proxy: CuttingProxy, pair: tuple[PushedModel, PushedModel]
) -> ModelStore:
    store = ModelStore(models_dir)
    for pushed in pair:
        pull(store, via(proxy, pushed))
    return store


def test_healthy_store_passes_and_results_are_kept_with_a_timestamp(
    store: ModelStore, pair: tuple[PushedModel, PushedModel]
) -> None:
    before = time.time()
    progress = HealthProgress()
    report = check_health(store, progress=progress)
    assert report.ok and len(report.models) == 2
    unique = {b.digest: b.size for p in pair for b in p.blobs}
    assert report.bytes_hashed == sum(unique.values())
    assert progress.snapshot()[:2] == (sum(unique.values()), sum(unique.values()))
    saved = load_health(store)
    assert set(saved) == {m.name for m in report.models}
    assert all(before <= r.checked_at <= time.time() and r.ok for r in saved.values())
    assert (store.state_dir / "health.json").is_file()
    assert not list(store.blobs_dir.glob("*.json"))  # never our files in blobs/


def test_flipped_truncated_and_deleted_blobs_are_each_found(
    store: ModelStore, proxy: CuttingProxy, pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = pair
    flip_byte(store.blob_path(first.layer("model").digest))
    with open(store.blob_path(second.layer("model").digest), "r+b") as handle:
        handle.truncate(1000)
    store.blob_path(first.config.digest).unlink()

    report = check_health(store)

    by_name = {m.display: m for m in report.models}
    a = by_name[store.resolve(via(proxy, first)).display]
    b = by_name[store.resolve(via(proxy, second)).display]
    assert {(f.kind, f.digest) for f in a.findings} >= {
        (FindingKind.DIGEST, first.layer("model").digest),
        (FindingKind.MISSING, first.config.digest),
    }
    assert [(f.kind, f.layer) for f in b.findings] == [(FindingKind.SIZE, "model")]
    assert all(f.repairable for f in a.findings + b.findings)
    assert not report.ok
    saved = load_health(store)
    assert not saved[a.name].ok and not saved[b.name].ok


def test_gguf_with_tensor_data_past_the_end_is_reported_not_repaired(
    registry: RegistryServer, models_dir: Path, tmp_path: Path, unique_repo: str
) -> None:
    broken = tmp_path / "short.gguf"
    shutil.copyfile(cached_gguf(1 * MIB, 21), broken)
    with open(broken, "r+b") as handle:  # the last tensor now runs past the end of the file
        handle.truncate(broken.stat().st_size - 4096)
    pushed = push_model(registry, unique_repo, "latest", [gguf_layer(broken)])
    store = ModelStore(models_dir)
    pull(store, pushed.name)

    report = check_health(store)

    (health,) = report.models
    assert [f.kind for f in health.findings] == [FindingKind.GGUF]
    assert "beyond the end" in health.findings[0].detail
    assert health.findings[0].layer == "model" and not health.findings[0].repairable
    result = repair(store, report=report)
    assert result.fetched == {} and health.name in result.unrepairable


def test_config_family_that_contradicts_the_gguf_is_reported(
    registry: RegistryServer, models_dir: Path, unique_repo: str
) -> None:
    layers = [gguf_layer(cached_gguf(1 * MIB, 22)), text_layer("template", "{{ .Prompt }}")]
    pushed = push_model(registry, unique_repo, "latest", layers, config={"model_family": "qwen2"})
    store = ModelStore(models_dir)
    pull(store, pushed.name)

    (health,) = check_health(store).models

    assert [f.kind for f in health.findings] == [FindingKind.CONFIG]
    assert "qwen2" in health.findings[0].detail and "llama" in health.findings[0].detail


def test_repair_downloads_only_the_bad_blobs(
    store: ModelStore, proxy: CuttingProxy, pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = pair
    model_blob = first.layer("model")
    template = first.layer("template")  # the template blob is shared by both models
    flip_byte(store.blob_path(model_blob.digest))
    store.blob_path(template.digest).unlink()
    untouched = store.blob_path(second.layer("model").digest)
    inode = untouched.stat().st_ino
    proxy.reset_counters()

    with RegistryClient() as client:
        result = repair(store, registry=client)

    assert result.ok and result.after is not None and result.after.ok
    assert sorted(d for ds in result.fetched.values() for d in ds) == sorted(
        [model_blob.digest, template.digest]
    )
    needed = model_blob.size + template.size
    # Exactly the two blobs (fetched once although two models need the template) plus headers.
    assert needed <= proxy.bytes_to_client < needed + 64 * 1024
    assert untouched.stat().st_ino == inode
    assert check_health(store).ok


def test_verification_can_be_cancelled(store: ModelStore) -> None:
    cancel = threading.Event()

    def stop_early(_nbytes: int) -> None:
        cancel.set()

    with pytest.raises(OperationCancelledError):
        check_health(store, on_bytes=stop_early, cancel=cancel)
    assert load_health(store) == {}  # nothing half-checked is kept


def test_unreadable_manifest_is_a_finding_and_named_checks_work(
    store: ModelStore, proxy: CuttingProxy, pair: tuple[PushedModel, PushedModel]
) -> None:
    bad = store.manifests_dir / proxy.host / "library" / "garbled" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"{not json")

    whole = check_health(store, hash_content=False)
    named = check_health(store, [f"{proxy.host}/library/garbled:latest", via(proxy, pair[0])])

    assert [m.findings[0].kind for m in whole.models if not m.ok] == [FindingKind.MANIFEST]
    assert len(named.models) == 2
    assert [m.ok for m in sorted(named.models, key=lambda m: m.digest is None)] == [True, False]


def test_cli_health_reports_damage_and_repairs_it(
    store: ModelStore,
    proxy: CuttingProxy,
    pair: tuple[PushedModel, PushedModel],
    capsys: pytest.CaptureFixture[str],
) -> None:
    flip_byte(store.blob_path(pair[1].layer("license").digest))
    root = str(store.root)

    assert main(["health", "--models", root, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["health"]["ok"] is False

    assert main(["health", "--models", root, "--repair"]) == 0
    out = capsys.readouterr().out
    assert "repaired" in out
    assert main(["health", "--models", root]) == 0
    assert (
        os.path.getsize(store.blob_path(pair[1].layer("license").digest))
        == pair[1].layer("license").size
    )
