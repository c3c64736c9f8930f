"""Unfinished pulls found on disk: named by their record, by an installed manifest that needs the
blob, or by nothing (bytes to reclaim); records of finished pulls are dropped. Real pulls from
the real registry, stopped part-way by their cancel event."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.errors import PullCancelledError
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.transfer.unfinished import PULLS_DIR, find_unfinished

SLOW = PullOptions(insecure=True, max_rate=8 * MIB, part_size_min=1 * MIB)


def stop_part_way(store: ModelStore, pushed: PushedModel, at: int = 3 * MIB) -> None:
    """Pull until `at` bytes are in, then cancel: the partial and its record stay."""
    cancel, progress = threading.Event(), PullProgress(pushed.name)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            pull_model(pushed.name, store, progress=progress, cancel=cancel, options=SLOW)
        except PullCancelledError:
            pass
        except BaseException as exc:  # the test thread reports it
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while progress.snapshot().completed < at and worker.is_alive():
        assert time.monotonic() < deadline, "the pull never got going"
        time.sleep(0.02)
    cancel.set()
    worker.join(timeout=30)
    assert not failure, failure


def records(store: ModelStore) -> list[Path]:
    return sorted((store.state_dir / PULLS_DIR).glob("*.json"))


def test_a_stopped_pull_is_found_by_its_name_and_forgotten_once_installed(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=16 * MIB, seed=71)
    store = ModelStore(models_dir)
    stop_part_way(store, pushed)

    [found] = find_unfinished(store)
    assert found.name == pushed.name
    assert found.total == pushed.total_size
    assert 0 < found.present < found.total
    assert set(found.digests) == {blob.digest for blob in pushed.blobs}

    pull_model(pushed.name, store, options=PullOptions(insecure=True))
    assert find_unfinished(store) == []
    assert records(store) == []


def test_a_partial_of_an_installed_model_is_named_by_its_manifest(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=16 * MIB, seed=72)
    store = ModelStore(models_dir)
    pull_model(pushed.name, store, options=PullOptions(insecure=True))
    # The model blob is lost, a repair starts and stops; its record is lost too.
    gguf = pushed.layer("model")
    store.blob_path(gguf.digest).unlink()
    stop_part_way(store, pushed)
    for record in records(store):
        record.unlink()

    [found] = find_unfinished(store)
    assert found.name == pushed.name  # the installed manifest needs that blob
    assert found.digests == (gguf.digest,)
    assert 0 < found.present < gguf.size


def test_a_partial_nothing_names_is_found_as_bytes_to_reclaim(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=16 * MIB, seed=73)
    store = ModelStore(models_dir)
    stop_part_way(store, pushed)
    for record in records(store):
        record.unlink()

    [found] = find_unfinished(store)
    assert found.name is None and found.record is None
    assert found.digests == (pushed.layer("model").digest,)
    assert 0 < found.present < pushed.layer("model").size
