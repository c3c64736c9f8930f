"""`du` on real pulled stores: unique and shared bytes, dedup savings, reclaimable, usage."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from lifecycle_support import pull
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.cli import main
from ecs_models.storage.report import DAY_S, storage_report
from ecs_models.store.model_store import ModelStore
from ecs_models.store.usage import load_usage, record_ollama_ps, record_use


@pytest.fixture(scope="module")
def trio(
    registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PushedModel, PushedModel, PushedModel]:
    shared = tmp_path_factory.mktemp("du") / "shared.gguf"
    shared.write_bytes(os.urandom(3 * MIB))
    first = push_small_model(registry, "library/du-a", "latest", shared_gguf=shared)
    second = push_small_model(registry, "team/du-b", "q4", shared_gguf=shared, seed=1)
    third = push_small_model(registry, "library/du-c", "latest", gguf_size=2 * MIB, seed=41)
    return first, second, third


@pytest.fixture
def store(models_dir: Path, trio: tuple[PushedModel, PushedModel, PushedModel]) -> ModelStore:
    store = ModelStore(models_dir)
    for pushed in trio:
        pull(store, pushed.name)
    return store


def test_unique_and_shared_bytes_match_what_removal_would_free(
    store: ModelStore, trio: tuple[PushedModel, PushedModel, PushedModel]
) -> None:
    report = storage_report(store)

    by_name = {m.name: m for m in report.models}
    assert len(by_name) == 3
    for pushed in trio:
        model = store.resolve(pushed.name)
        entry = by_name[str(model.name)]
        assert entry.logical == pushed.total_size == entry.unique + entry.shared
        assert entry.freed_if_removed == store.plan_removal([pushed.name]).bytes_freed
        assert entry.missing == 0 and entry.id == pushed.id
    distinct = {b.digest: b.size for p in trio for b in p.blobs}
    assert report.logical_total == sum(p.total_size for p in trio)
    assert report.referenced_total == sum(distinct.values())
    assert report.physical_total == sum(store.blob_path(d).stat().st_size for d in distinct)
    # du-a and du-b share their 3 MiB GGUF; all three share template, params and licence.
    users = {d: sum(d in {b.digest for b in p.blobs} for p in trio) for d in distinct}
    assert report.dedup_savings == sum(distinct[d] * (n - 1) for d, n in users.items())
    assert report.dedup_savings > 3 * MIB
    assert report.orphan_bytes == report.partial_bytes == report.reclaimable_bytes == 0


def test_orphans_and_partials_are_counted_and_reclaimable(store: ModelStore) -> None:
    orphan = store.blobs_dir / ("sha256-" + "e" * 64)
    orphan.write_bytes(b"x" * 5000)
    partial = store.blobs_dir / ("sha256-" + "f" * 64 + "-partial")
    partial.write_bytes(os.urandom(40_000))
    old = time.time() - 7200
    os.utime(partial, (old, old))

    report = storage_report(store)

    assert report.orphan_bytes == 5000
    assert 40_000 <= report.partial_bytes <= 40_960
    assert report.reclaimable_bytes == 5000 + report.partial_bytes


def test_never_used_and_unused_for_n_days(
    store: ModelStore, trio: tuple[PushedModel, PushedModel, PushedModel]
) -> None:
    names = [store.resolve(p.name).name for p in trio]
    now = time.time()
    record_use(store, [names[0]], when=now - 40 * DAY_S)
    record_use(store, [names[1]], when=now - 2 * DAY_S)

    report = storage_report(store, unused_days=30, now=now)

    assert [m.name for m in report.unused] == [str(names[0])]
    assert [m.name for m in report.never_used] == [str(names[2])]
    record_use(store, [names[0]], when=now - 50 * DAY_S)  # an older replay changes nothing
    assert load_usage(store)[str(names[0])] == pytest.approx(now - 40 * DAY_S)


def test_ollama_ps_observations_count_as_use(store: ModelStore) -> None:
    ps = {"models": [{"name": "du-a:latest", "model": "du-a:latest", "size": 1}, {"bad": 1}]}
    assert record_ollama_ps(store, ps) == 1
    assert "registry.ollama.ai/library/du-a:latest" in load_usage(store)


def test_du_cli_json_and_table(store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["du", "--models", str(store.root), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["models"]) == 3
    assert document["totals"]["dedup_savings"] > 0
    assert main(["du", "--models", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "dedup savings" in out and "du-c:latest" in out
