"""Cleanup on real pulled stores: orphans, stale partials, empty dirs, bad manifests, pins."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from lifecycle_support import FAST, blob_names, pull, via
from support.faults import CuttingProxy
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
from ecs_models.storage.health import check_health
from ecs_models.store.cleanup import CleanupKind, clean, plan_cleanup
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model

OLD = time.time() - 7200


@pytest.fixture(scope="module")
def pair(registry: RegistryServer) -> tuple[PushedModel, PushedModel]:
    first = push_small_model(registry, "library/clean-a", "latest", gguf_size=1 * MIB, seed=31)
    second = push_small_model(registry, "library/clean-b", "latest", gguf_size=1 * MIB, seed=32)
    return first, second


@pytest.fixture
def store(models_dir: Path, pair: tuple[PushedModel, PushedModel]) -> ModelStore:
    store = ModelStore(models_dir)
    for pushed in pair:
        pull(store, pushed.name)
    return store


def make_partial(store: ModelStore, fill: str, *, size: int, mtime: float) -> tuple[Path, Path]:
    partial = store.blobs_dir / f"sha256-{fill * 64}-partial"
    partial.write_bytes(os.urandom(size))
    part = partial.with_name(partial.name + "-0")
    part.write_text(json.dumps({"N": 0, "Offset": 0, "Size": size, "Completed": size}))
    for path in (partial, part):
        os.utime(path, (mtime, mtime))
    return partial, part


def litter(store: ModelStore, pair: tuple[PushedModel, PushedModel]) -> dict[str, Path]:
    """An orphaned model's blobs, an old and a young partial, an empty dir, a bad manifest."""
    first, _ = pair
    store.resolve(first.name).manifest_path.unlink()  # its blobs are now orphans
    old, old_part = make_partial(store, "a", size=300_000, mtime=OLD)
    young, _ = make_partial(store, "b", size=1000, mtime=time.time())
    empty = store.manifests_dir / "example.com" / "ns" / "gone"
    empty.mkdir(parents=True)
    bad = store.manifests_dir / "registry.ollama.ai" / "library" / "broken" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{ truncated")
    return {"old": old, "old_part": old_part, "young": young, "empty": empty, "bad": bad}


def test_dry_run_lists_every_item_with_its_bytes_and_touches_nothing(
    store: ModelStore, pair: tuple[PushedModel, PushedModel]
) -> None:
    first, second = pair
    paths = litter(store, pair)
    before = blob_names(store)

    plan = clean(store, dry_run=True)

    orphans = {i.digest: i.bytes for i in plan.of_kind(CleanupKind.ORPHAN_BLOB)}
    own = {b.digest: b.size for b in first.blobs}
    shared = {b.digest for b in second.blobs}
    assert orphans == {d: s for d, s in own.items() if d not in shared}
    (stale,) = plan.of_kind(CleanupKind.STALE_PARTIAL)
    assert stale.path == paths["old"] and stale.extra_paths == (paths["old_part"],)
    assert 300_000 <= stale.bytes <= 300_000 + 8192 + paths["old_part"].stat().st_size
    emptied = store.resolve(second.name).manifest_path.parent.parent / "clean-a"
    assert {i.path for i in plan.of_kind(CleanupKind.EMPTY_DIR)} == {
        store.manifests_dir / "example.com",
        emptied,  # the model directory whose only manifest was deleted by hand
    }
    (unreadable,) = plan.reported
    assert unreadable.path == paths["bad"] and "JSON" in unreadable.detail
    assert plan.reclaimable_bytes == sum(orphans.values()) + stale.bytes
    assert blob_names(store) == before and paths["empty"].is_dir()


def test_cleanup_deletes_litter_reports_bad_manifests_and_keeps_models(
    store: ModelStore, pair: tuple[PushedModel, PushedModel]
) -> None:
    _, second = pair
    paths = litter(store, pair)
    planned = plan_cleanup(store)
    deleted: list[CleanupKind] = []

    done = clean(store, on_item=lambda item: deleted.append(item.kind))

    assert not done.dry_run and done.reclaimable_bytes == planned.reclaimable_bytes
    assert not paths["old"].exists() and not paths["old_part"].exists()
    assert paths["young"].exists()  # younger than the threshold: maybe still wanted
    assert not (store.manifests_dir / "example.com").exists()
    assert paths["bad"].exists()  # reported, never silently deleted
    assert CleanupKind.UNREADABLE_MANIFEST not in deleted
    assert blob_names(store) >= {b.file_name for b in second.blobs}
    assert check_health(store, [second.name]).ok
    assert plan_cleanup(store).reclaimable_bytes == 0


def test_a_partial_being_written_or_pinned_is_never_deleted(store: ModelStore) -> None:
    written, _ = make_partial(store, "c", size=5000, mtime=OLD)
    pinned, _ = make_partial(store, "d", size=5000, mtime=OLD)
    download = store.blob_lock("sha256:" + "c" * 64)  # the lock a download holds
    download.acquire()
    try:
        with store.pin(["sha256:" + "d" * 64]):
            clean(store)
            assert written.exists() and pinned.exists()
    finally:
        download.release()
    clean(store)
    assert not written.exists() and not pinned.exists()


def test_removal_during_a_slow_install_keeps_every_blob_it_needs(
    registry: RegistryServer,
    proxy_factory: object,
    models_dir: Path,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    shared = cached_gguf(1 * MIB, 33)
    installed = push_model(registry, unique_repo, "old", [gguf_layer(shared)])
    incoming = push_model(
        registry,
        unique_repo,
        "new",
        [
            gguf_layer(shared),
            gguf_layer(cached_gguf(6 * MIB, 34), "projector"),
            text_layer("template", "{{ .Prompt }}"),
        ],
    )
    store = ModelStore(models_dir)
    pull(store, installed.name)
    slow: CuttingProxy = proxy_factory(registry, rate=3 * MIB)  # type: ignore[operator]
    errors: list[BaseException] = []

    def install() -> None:
        try:
            pull_model(via(slow, incoming), store, options=FAST)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=install)
    thread.start()
    slow.wait_for_bytes(1 * MIB, timeout=20)  # the install is downloading its projector

    plan = store.remove([installed.name])
    cleaned = clean(store, partial_max_age_s=0)
    thread.join(timeout=60)

    shared_digest = installed.layer("model").digest
    assert shared_digest not in {b.digest for b in plan.blobs}
    assert shared_digest not in {i.digest for i in cleaned.items}
    assert errors == []
    assert check_health(store, [via(slow, incoming)]).ok


def test_cli_cleanup_dry_run_and_json(
    store: ModelStore, pair: tuple[PushedModel, PushedModel], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = litter(store, pair)
    root = str(store.root)

    assert main(["cleanup", "--models", root, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete stale partial" in out and "left alone: unreadable manifest" in out
    assert paths["old"].exists()

    assert main(["cleanup", "--models", root, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dry_run"] is False and document["reclaimable_bytes"] > 0
    assert not paths["old"].exists()
