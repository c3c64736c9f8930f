"""The range engine over shaped links: capped, straggling, collapsing and slow-to-answer
connections from the real registry, a real SIGKILL in the middle of a steal, the partial state
left behind resumed both by us and by a port of Ollama's own resume code, and the same engine
under `mirror`'s relay and `fit`'s header reads."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.faults import CuttingProxy, LinkProfile, ProxyFactory
from support.model_builder import (
    MIB,
    GGUFFactory,
    PushedModel,
    push_model,
    push_small_model,
    small_model_layers,
)
from support.ollama_resume import ollama_resume, prepare
from support.registry_server import RegistryServer
from test_pull import FAST, assert_installed, options, via

from ecs_models.gguf.reader import read_gguf_info
from ecs_models.gguf.remote_header import fetch_remote_header
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.mirror import MirrorJob, mirror_models
from ecs_models.transfer.partial import Part, load_parts, save_part
from ecs_models.transfer.progress import ProgressEvent, PullProgress
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.transfer.push import PushOptions


def pull_watched(name: str, store: ModelStore, opts: PullOptions) -> list[ProgressEvent]:
    """Pull `name`, returning its progress events after checking they never went back."""
    events: list[ProgressEvent] = []
    pull_model(name, store, progress=PullProgress(name, listener=events.append), options=opts)
    by_digest: dict[str, list[int]] = {}
    for event in events:
        if event.digest is not None and event.completed is not None:
            by_digest.setdefault(event.digest, []).append(event.completed)
    for digest, completed in by_digest.items():
        assert completed == sorted(completed), f"progress of {digest} went backwards"
    return events


def pull_through(
    proxy: CuttingProxy, pushed: PushedModel, store: ModelStore, opts: PullOptions
) -> None:
    """Pull through `proxy`: installed exactly, and progress ended at the GGUF's size."""
    events = pull_watched(via(proxy, pushed), store, opts)
    assert_installed(store, pushed, via(proxy, pushed))
    gguf = pushed.layer("model")
    progress = [e.completed for e in events if e.digest == gguf.digest and e.completed]
    assert progress[-1] == gguf.size


def blob_ranges(proxy_requests: list[tuple[int, str | None]]) -> list[tuple[int, int, int]]:
    """(connection, start, end inclusive) of ranged requests."""
    out = []
    for connection, header in proxy_requests:
        if header:
            start, _, end = header.removeprefix("bytes=").partition("-")
            out.append((connection, int(start), int(end)))
    return out


def covered(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the inclusive intervals together cover [start, end]."""
    reach = start
    for low, high in sorted(intervals):
        if low > reach:
            break
        reach = max(reach, high + 1)
    return reach > end


def gguf_requests(proxy: CuttingProxy, pushed: PushedModel) -> list[tuple[int, int, int]]:
    digest = pushed.layer("model").digest
    requests = proxy.requests
    return blob_ranges([(r.connection, r.range) for r in requests if digest in r.target])


def resume_through(proxy: CuttingProxy, pushed: PushedModel, store: ModelStore) -> int:
    """Finish the pull through `proxy`; returns how many bytes of the GGUF it asked for."""
    pull_through(proxy, pushed, store, FAST)
    return sum(end - start + 1 for _, start, end in gguf_requests(proxy, pushed))


def test_capped_connections_get_more_streams_but_never_more_than_asked(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=61)
    # Each connection alone is slow, and every request waits a little for its answer.
    capped = proxy_factory(registry, profile=LinkProfile(rate=1.5 * MIB, latency=0.05))
    models = tmp_path / "models"
    argv = [sys.executable, "-m", "ecs_models", "--models", str(models)]
    result = subprocess.run(
        [*argv, "pull", via(capped, pushed), "--json", "--streams", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert_installed(ModelStore(models), pushed, via(capped, pushed))
    gguf = pushed.layer("model")
    completed = [
        json.loads(line)["completed"]
        for line in result.stdout.splitlines()
        if json.loads(line).get("digest") == gguf.digest and "completed" in json.loads(line)
    ]
    assert completed == sorted(completed) and completed[-1] == gguf.size
    # More streams came in (the rate grew with them), never more than three at once.
    assert capped.peak_blob_connections == 3
    # Stolen ranges were cut where whole requests pay: a handful, not one per chunk.
    assert len(gguf_requests(capped, pushed)) <= 8


def test_a_straggling_connection_is_replaced_and_its_range_read_elsewhere(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=16 * MIB, seed=62)
    # Every second connection crawls at 32 KiB/s: holding its range it would need minutes.
    link = LinkProfile(rate=4 * MIB, slow_every=2, slow_rate=32 * 1024)
    proxy = proxy_factory(registry, profile=link)
    store = ModelStore(models_dir)

    pull_through(proxy, pushed, store, options(streams=4))

    stragglers = proxy.straggler_connections
    requests = gguf_requests(proxy, pushed)
    asked_on_stragglers = [r for r in requests if r[0] in stragglers]
    assert asked_on_stragglers, "no straggling connection was used: the test shows nothing"
    delivered = proxy.bytes_by_connection
    for connection, start, end in asked_on_stragglers:
        got = delivered.get(connection, 0)
        assert got < (end - start + 1) // 2, "a straggler kept its range"
        # What it did not deliver was asked for on other connections (a replacement or a race).
        others = [(s, e) for c, s, e in requests if c != connection]
        assert covered(others, start + got, end), (connection, start, end, requests)


def test_connections_that_turn_slow_are_replaced_by_fresh_ones(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=63)
    # A connection is quick for its first 2 MiB, then crawls (a CDN's per-connection burst).
    link = LinkProfile(rate=8 * MIB, slow_after=2 * MIB, slow_rate=48 * 1024)
    proxy = proxy_factory(registry, profile=link)
    store = ModelStore(models_dir)

    pull_through(proxy, pushed, store, options(streams=1))

    used = {connection for connection, _, _ in gguf_requests(proxy, pushed)}
    assert len(used) >= 5  # 12 MiB at 2 MiB a connection, with one stream
    delivered = proxy.bytes_by_connection
    # Each was dropped soon after it turned slow, not kept crawling.
    assert all(delivered[c] < 2 * MIB + 256 * 1024 for c in used), delivered
    assert proxy.peak_blob_connections == 1


def test_sigkill_mid_steal_leaves_a_state_ollama_and_we_both_resume(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=64)
    gguf = pushed.layer("model")
    capped = proxy_factory(registry, profile=LinkProfile(rate=MIB))
    models = tmp_path / "models"
    # Ollama's plan gives a blob this small one part: every stream after the first steals.
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecs_models",
            "--models",
            str(models),
            "pull",
            via(capped, pushed),
            "--streams",
            "4",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = ModelStore(models)
    partial = store.partial_path(gguf.digest)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            parts = load_parts(partial, gguf.size) if partial.exists() else None
            stolen = [p for p in parts or [] if p.n > 0 and 0 < p.completed < p.size]
            if len(stolen) >= 2:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert len(stolen) >= 2, "no steal happened before the deadline"

    # What Ollama checks: numbers 0..n-1, Sizes summing to the blob, tiling, N = file number.
    names = sorted(p.name for p in partial.parent.glob(partial.name + "-*"))
    assert sorted(int(n.rsplit("-", 1)[1]) for n in names) == list(range(len(names)))
    ollama_parts = prepare(store.blob_path(gguf.digest))
    assert sum(p.size for p in ollama_parts) == gguf.size
    offsets = sorted((p.offset, p.size) for p in ollama_parts)
    assert all(a + s == b for (a, s), (b, _) in itertools.pairwise(offsets))
    saved = sum(p.completed for p in ollama_parts)
    assert 0 < saved < gguf.size

    # Ollama's resume, on a copy: it fetches exactly what the parts say is missing.
    copy = tmp_path / "ollama-blobs"
    shutil.copytree(store.blobs_dir, copy)
    blob_url = f"{registry.url}/v2/{pushed.repository}/blobs/{gguf.digest}"
    resumed = ollama_resume(copy / gguf.file_name, blob_url)
    assert resumed.fetched_bytes == gguf.size - saved
    data = (copy / gguf.file_name).read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == gguf.digest
    assert not list(copy.glob("*-partial*"))

    # Ours, on the original, with the link open: only the remainder crosses the wire again.
    capped.set_profile(LinkProfile())
    capped.wait_idle()  # the killed process's connections are gone
    capped.reset_counters()
    assert resume_through(capped, pushed, store) == gguf.size - saved


def test_a_split_killed_between_its_two_writes_is_repaired(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=4 * MIB, seed=65)
    gguf = pushed.layer("model")
    store = ModelStore(models_dir)
    partial = store.partial_path(gguf.digest)
    data = gguf.read_bytes()
    with partial.open("wb") as handle:  # the first MiB on disk, the rest sparse
        handle.write(data[:MIB])
        handle.truncate(gguf.size)
    # The tail part was written, the part it was cut from not yet shrunk: they overlap.
    save_part(partial, Part(0, 0, gguf.size, MIB))
    save_part(partial, Part(1, 2 * MIB, gguf.size - 2 * MIB, 0))

    parts = load_parts(partial, gguf.size)
    assert parts is not None
    assert [(p.n, p.offset, p.size, p.completed) for p in parts] == [
        (0, 0, 2 * MIB, MIB),
        (1, 2 * MIB, gguf.size - 2 * MIB, 0),
    ]
    assert resume_through(proxy_factory(registry), pushed, store) == gguf.size - MIB


def test_max_rate_caps_all_streams_together(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str, models_dir: Path
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=6 * MIB, seed=66)
    # Connections are capped below the pull's limit, so more streams would be faster.
    proxy = proxy_factory(registry, profile=LinkProfile(rate=1 * MIB))
    store = ModelStore(models_dir)
    started = time.monotonic()
    pull_through(proxy, pushed, store, options(max_rate=1.5 * MIB, streams=8))
    elapsed = time.monotonic() - started

    # The cap over every stream: 6 MiB at 1.5 MiB/s, less the first tenth-second burst.
    assert elapsed >= (6 * MIB - 0.15 * MIB) / (1.5 * MIB)
    assert proxy.peak_blob_connections >= 2  # streams were added; the cap still held


def test_fit_reads_a_header_through_a_cut_connection(
    registry: RegistryServer, proxy_factory: ProxyFactory, gguf_factory: GGUFFactory
) -> None:
    path = gguf_factory(tensor_bytes=4 * MIB, vocab=40000, arch="qwen2", n_layers=2)
    pushed = push_model(registry, "library/fit-cut", "latest", small_model_layers(path))
    proxy = proxy_factory(registry)
    # The manifest's connection comes first; the header's first range is cut halfway.
    proxy.cut_after(1 << 20, connections=1)
    proxy.cut_after(100_000, connections=1)

    with RegistryClient() as client:
        remote = fetch_remote_header(parse_model_name(via(proxy, pushed)), client)

    assert proxy.cuts == 1
    assert remote.info == read_gguf_info(path)


def test_mirror_relays_over_capped_connections_with_several_streams(
    registry: RegistryServer,
    fresh_registry: RegistryServer,
    proxy_factory: ProxyFactory,
    unique_repo: str,
    models_dir: Path,
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=12 * MIB, seed=67)
    source = proxy_factory(registry, profile=LinkProfile(rate=2 * MIB))
    store = ModelStore(models_dir)
    dest = f"{fresh_registry.host}/{unique_repo}:v1"
    mirror = MirrorJob(parse_model_name(via(source, pushed)), parse_model_name(dest))

    (result,) = mirror_models([mirror], store, options=PushOptions(retry_base_delay=0.05))

    with RegistryClient() as client:
        assert client.get_manifest(parse_model_name(dest)) == pushed.manifest_bytes
    assert result.bytes_sent == pushed.total_size
    assert source.peak_blob_connections >= 2  # the relay added streams on the capped source
    assert source.bytes_to_client < pushed.total_size + 2 * MIB  # nothing fetched twice
    assert not list(store.blobs_dir.iterdir())  # relayed, never stored
    assert not list(store.manifests_dir.rglob("*"))
