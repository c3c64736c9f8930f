"""Pull engine end to end against a real registry: layout, IDs, sharing, resume and faults."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.faults import CuttingProxy, fill_filesystem, flip_byte
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.errors import DigestMismatchError, InsufficientSpaceError, PullCancelledError
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.partial import load_parts
from ecs_models.transfer.progress import ProgressEvent, PullProgress, PullState
from ecs_models.transfer.pull import PullOptions, pull_model

# Small parts so that even test-sized blobs exercise parallel ranged downloads.
FAST = PullOptions(
    part_size_min=1 * MIB, retry_base_delay=0.05, retry_max_delay=0.5, stall_timeout=2.0
)


def options(**changes: Any) -> PullOptions:
    return dataclasses.replace(FAST, **changes)


def via(proxy: CuttingProxy, pushed: PushedModel) -> str:
    """The pushed model's name, reached through the proxy instead of the registry."""
    return f"{proxy.host}/{pushed.repository}:{pushed.tag}"


def blob_files(store: ModelStore) -> list[str]:
    return sorted(p.name for p in store.blobs_dir.iterdir())


def assert_installed(store: ModelStore, pushed: PushedModel, name: str) -> None:
    model = store.resolve(name)
    assert model.manifest_path.read_bytes() == pushed.manifest_bytes
    assert model.id == pushed.id
    assert model.size == pushed.total_size
    for blob in pushed.blobs:
        path = store.blob_path(blob.digest)
        assert path.stat().st_size == blob.size
        assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == blob.digest
    assert not [n for n in blob_files(store) if "partial" in n]


def test_pull_installs_exact_ollama_layout(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=3 * MIB)
    events: list[ProgressEvent] = []
    progress = PullProgress(pushed.name, listener=events.append)
    store = ModelStore(models_dir)

    model = pull_model(pushed.name, store, progress=progress, options=FAST)

    namespace, model_name = unique_repo.split("/")
    manifest = models_dir / "manifests" / registry.host / namespace / model_name / "v1"
    assert manifest.read_bytes() == pushed.manifest_bytes
    assert model.id == hashlib.sha256(pushed.manifest_bytes).hexdigest()[:12] == pushed.id
    assert model.display == f"{registry.host}/{unique_repo}:v1"
    assert model.details.family == pushed.config_dict["model_family"]
    assert sorted(blob_files(store)) == sorted(b.digest.replace(":", "-") for b in pushed.blobs)
    assert_installed(store, pushed, pushed.name)
    assert oct(manifest.stat().st_mode & 0o777) == "0o644"
    assert oct(manifest.parent.stat().st_mode & 0o777) == "0o755"
    # Nothing of ours is left where Ollama looks: only digest-named blobs, only the manifest.
    assert [p for p in (models_dir / "manifests").rglob("*") if p.is_file()] == [manifest]

    statuses = [e.status for e in events if e.error is None]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    gguf = pushed.layer("model")
    layer_events = [e for e in events if e.digest == gguf.digest]
    assert layer_events[-1].completed == layer_events[-1].total == gguf.size
    assert layer_events[0].status == f"pulling {gguf.hex[:12]}"
    completed = [e.completed or 0 for e in layer_events]
    assert completed == sorted(completed), "progress must never go backwards"
    assert progress.snapshot().state is PullState.DONE
    assert [m.display for m in store.list_models()] == [model.display]


def test_second_model_sharing_a_blob_transfers_none_of_it(
    registry: RegistryServer,
    proxy: CuttingProxy,
    gguf_factory: object,
    models_dir: Path,
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared.gguf"
    shared.write_bytes(os.urandom(6 * MIB))
    first = push_small_model(registry, "library/share-a", "latest", shared_gguf=shared)
    second = push_small_model(registry, "library/share-b", "latest", shared_gguf=shared)
    store = ModelStore(models_dir)
    pull_model(via(proxy, first), store, options=FAST)
    proxy.reset_counters()

    pull_model(via(proxy, second), store, options=FAST)

    gguf_digest = first.layer("model").digest
    assert second.layer("model").digest == gguf_digest
    assert not any(gguf_digest in r.target for r in proxy.requests)
    assert proxy.bytes_to_client < 1 * MIB
    assert len(store.list_models()) == 2


def test_resume_after_sigkill_fetches_only_the_remainder(
    registry: RegistryServer, proxy_factory: object, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=24 * MIB, seed=7)
    slow = proxy_factory(registry, rate=6 * MIB)  # type: ignore[operator]
    name = via(slow, pushed)
    script = (
        "import sys; from ecs_models.store.model_store import ModelStore; from ecs_models.transfer.pull import PullOptions, pull_model;"
        f"pull_model({name!r}, ModelStore({str(models_dir)!r}), options=PullOptions(part_size_min=1 << 20))"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    store = ModelStore(models_dir)
    gguf = pushed.layer("model")
    partial = store.partial_path(gguf.digest)
    deadline = time.monotonic() + 30
    done_before = 0
    while time.monotonic() < deadline:
        parts = load_parts(partial, gguf.size) if partial.exists() else None
        done_before = sum(p.completed for p in parts) if parts else 0
        if done_before >= 6 * MIB:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert 6 * MIB <= done_before < gguf.size
    assert not (store.manifests_dir / registry.host).exists() or not list(
        store.manifests_dir.rglob("latest")
    )
    parts = load_parts(partial, gguf.size)
    assert parts is not None
    saved = sum(p.completed for p in parts)
    assert saved > 0

    slow.set_rate(None)
    slow.wait_idle()  # the killed process's connections are gone
    slow.reset_counters()
    pull_model(name, store, options=FAST)

    assert_installed(store, pushed, name)
    remainder = gguf.size - saved
    # Only what the killed process had not saved comes again (plus the small layers).
    assert slow.bytes_to_client <= remainder + 1 * MIB
    assert slow.bytes_to_client >= remainder


def test_registry_killed_and_restarted_mid_pull(
    fresh_registry: RegistryServer, models_dir: Path
) -> None:
    pushed = push_small_model(
        fresh_registry, "library/restarted", "latest", gguf_size=16 * MIB, seed=3
    )
    store = ModelStore(models_dir)
    progress = PullProgress(pushed.name)
    result: list[object] = []

    def run() -> None:
        try:
            result.append(
                pull_model(
                    pushed.name,
                    store,
                    progress=progress,
                    options=options(max_rate=4 * MIB, retries=8),
                )
            )
        except Exception as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while progress.snapshot().completed < 4 * MIB:
        time.sleep(0.02)
    fresh_registry.kill()
    time.sleep(1.0)
    fresh_registry.restart()
    worker.join(timeout=60)

    assert not isinstance(result[0], Exception), result[0]
    assert_installed(store, pushed, pushed.name)


def test_connection_cut_mid_body_is_retried(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=8 * MIB, seed=11)
    # The first connection accepted carries the manifest request: the faults hit the next two.
    proxy.cut_after(3 * MIB, connections=3)
    store = ModelStore(models_dir)

    pull_model(via(proxy, pushed), store, options=options(part_size_min=16 * MIB))

    assert proxy.cuts == 2
    assert_installed(store, pushed, via(proxy, pushed))
    assert proxy.bytes_to_client < pushed.total_size + 7 * MIB  # resumed, not restarted


def test_stalled_connection_is_restarted(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=4 * MIB, seed=12)
    proxy.stall_after(1 * MIB)
    store = ModelStore(models_dir)
    started = time.monotonic()

    pull_model(
        via(proxy, pushed),
        store,
        options=options(stall_timeout=1.0, part_size_min=16 * MIB, retries=0),
    )

    assert time.monotonic() - started < 15
    assert_installed(store, pushed, via(proxy, pushed))


def test_corrupt_blob_in_registry_fails_and_leaves_nothing(
    fresh_registry: RegistryServer, models_dir: Path
) -> None:
    pushed = push_small_model(
        fresh_registry, "library/corrupt", "latest", gguf_size=2 * MIB, seed=5
    )
    gguf = pushed.layer("model")
    flip_byte(fresh_registry.blob_data_path(gguf.digest), 12345)
    store = ModelStore(models_dir)
    progress = PullProgress(pushed.name)

    with pytest.raises(DigestMismatchError) as caught:
        pull_model(pushed.name, store, progress=progress, options=FAST)

    assert "sha256" in str(caught.value) and "\n" not in str(caught.value)
    assert progress.snapshot().state is PullState.FAILED
    assert not list(store.manifests_dir.rglob("latest"))
    assert not any(gguf.hex in name for name in blob_files(store))


def test_too_small_filesystem_is_refused_before_download(
    registry: RegistryServer, proxy: CuttingProxy, small_fs: object, unique_repo: str
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=21)
    root = small_fs(8 * MIB)  # type: ignore[operator]
    store = ModelStore(root / "models")

    with pytest.raises(InsufficientSpaceError) as caught:
        pull_model(via(proxy, pushed), store, options=options(disk_margin_bytes=1 * MIB))

    message = str(caught.value)
    assert "needs 12.6 MB" in message and "MB is free" in message
    assert caught.value.available < caught.value.needed
    assert not any("/blobs/" in r.target for r in proxy.requests)
    assert blob_files(store) == []


def test_disk_filling_up_mid_download_leaves_a_resumable_partial(
    registry: RegistryServer, proxy_factory: object, small_fs: object, unique_repo: str
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=16 * MIB, seed=22)
    slow = proxy_factory(registry, rate=8 * MIB)  # type: ignore[operator]
    root = small_fs(24 * MIB)  # type: ignore[operator]
    store = ModelStore(root / "models")
    name = via(slow, pushed)
    progress = PullProgress(name)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            pull_model(name, store, progress=progress, options=options(disk_margin_bytes=0))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while progress.snapshot().completed < 4 * MIB:
        time.sleep(0.01)
    ballast = fill_filesystem(root, leave_free=0)
    worker.join(timeout=60)

    assert failure and isinstance(failure[0], InsufficientSpaceError), failure
    assert "filled up" in str(failure[0])
    gguf = pushed.layer("model")
    parts = load_parts(store.partial_path(gguf.digest), gguf.size)
    assert parts is not None and 0 < sum(p.completed for p in parts) < gguf.size
    assert not list(store.manifests_dir.rglob("latest"))

    ballast.unlink()
    slow.set_rate(None)
    pull_model(name, store, options=options(disk_margin_bytes=0))
    assert_installed(store, pushed, name)


def test_concurrent_pulls_sharing_a_blob_download_it_once(
    registry: RegistryServer, proxy_factory: object, models_dir: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared.gguf"
    shared.write_bytes(os.urandom(8 * MIB))
    first = push_small_model(registry, "library/together-a", "latest", shared_gguf=shared)
    second = push_small_model(registry, "library/together-b", "latest", shared_gguf=shared)
    slow = proxy_factory(registry, rate=16 * MIB)  # type: ignore[operator]
    store = ModelStore(models_dir)
    errors: list[BaseException] = []

    def run(pushed: PushedModel) -> None:
        try:
            pull_model(via(slow, pushed), store, options=FAST)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert_installed(store, first, via(slow, first))
    assert_installed(store, second, via(slow, second))
    assert slow.bytes_to_client < 8 * MIB + 2 * MIB  # the shared 8 MiB crossed the wire once


def test_cancel_leaves_a_resumable_partial(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=31)
    store = ModelStore(models_dir)
    progress = PullProgress(pushed.name)
    cancel = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pull_model(
                pushed.name,
                store,
                progress=progress,
                cancel=cancel,
                options=options(max_rate=4 * MIB),
            )
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while progress.snapshot().completed < 3 * MIB:
        time.sleep(0.01)
    cancel.set()
    worker.join(timeout=10)

    assert errors and isinstance(errors[0], PullCancelledError)
    assert progress.snapshot().state is PullState.CANCELLED
    gguf = pushed.layer("model")
    parts = load_parts(store.partial_path(gguf.digest), gguf.size)
    assert parts is not None and sum(p.completed for p in parts) >= 3 * MIB
    pull_model(pushed.name, store, options=FAST)
    assert_installed(store, pushed, pushed.name)


def test_rate_limit_is_respected(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=6 * MIB, seed=41)
    started = time.monotonic()
    pull_model(pushed.name, ModelStore(models_dir), options=options(max_rate=3 * MIB))
    elapsed = time.monotonic() - started
    assert elapsed >= 1.6  # 6 MiB at 3 MiB/s, less the first burst


@pytest.mark.parametrize("key_case", ["Capitalized", "lower"])
def test_resumes_an_ollama_written_partial(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str, models_dir: Path, key_case: str
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=4 * MIB, seed=51)
    gguf = pushed.layer("model")
    store = ModelStore(models_dir)
    data = gguf.read_bytes()
    half = gguf.size // 2
    partial = store.partial_path(gguf.digest)
    with partial.open("wb") as handle:  # what Ollama leaves: data at absolute offsets, sparse rest
        handle.write(data[:half])
        handle.truncate(gguf.size)
    keys = (
        ("N", "Offset", "Size", "Completed")
        if key_case == "Capitalized"
        else ("n", "offset", "size", "completed")
    )
    state = dict(zip(keys, (0, 0, gguf.size, half), strict=True))
    partial.with_name(partial.name + "-0").write_text(json.dumps(state))

    pull_model(via(proxy, pushed), store, options=FAST)

    assert_installed(store, pushed, via(proxy, pushed))
    gguf_requests = [r for r in proxy.requests if gguf.digest in r.target]
    assert [r.range for r in gguf_requests] == [f"bytes={half}-{gguf.size - 1}"]


def blob_requests(proxy: CuttingProxy, digest: str) -> list[int]:
    """Start offsets of the proxy's ranged GETs for one blob, in the order they were sent."""
    starts = []
    for request in proxy.requests:
        if request.method == "GET" and digest in request.target and request.range:
            starts.append(int(request.range.removeprefix("bytes=").split("-")[0]))
    return starts


def test_one_stream_reads_consecutive_parts_on_one_request(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=31)
    store = ModelStore(models_dir)

    pull_model(via(proxy, pushed), store, options=options(streams=1))  # 1 MiB parts: 12

    gguf = pushed.layer("model")
    parts = [r for r in proxy.requests if gguf.digest in r.target]
    assert blob_requests(proxy, gguf.digest) == [0], [r.range for r in parts]
    assert parts[0].range == f"bytes=0-{gguf.size - 1}"
    assert_installed(store, pushed, via(proxy, pushed))


def test_a_slow_link_gets_more_streams_working_from_the_far_end(
    registry: RegistryServer, proxy_factory: object, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=32)
    slow = proxy_factory(registry, rate=4 * MIB)  # type: ignore[operator]
    store = ModelStore(models_dir)

    pull_model(via(slow, pushed), store, options=options(streams=4))

    gguf = pushed.layer("model")
    starts = blob_requests(slow, gguf.digest)
    assert starts[0] == 0 and len(starts) >= 2, starts
    assert starts[1] > gguf.size // 2, starts  # the second stream took the last parts
    # Parts fetched by later streams were hashed back from disk, the first stream's from memory.
    assert_installed(store, pushed, via(slow, pushed))
    assert slow.bytes_to_client < pushed.total_size + 2 * MIB  # no part fetched twice
