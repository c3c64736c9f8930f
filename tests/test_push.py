"""Push from the store to a real registry: pull-back identity, mounts, cuts, cancel and resume."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.faults import CuttingProxy, flip_byte
from support.model_builder import (
    MIB,
    BuiltModel,
    GGUFFactory,
    build_model,
    gguf_layer,
    install_model,
    small_model_layers,
)
from support.registry_server import RegistryServer

from ecs_models.errors import DigestMismatchError, ModelNotFoundError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import ProgressEvent, PullProgress, PullState
from ecs_models.transfer.pull import PullOptions, pull_model
from ecs_models.transfer.push import (
    MountHints,
    PushCancelledError,
    PushOptions,
    push_model,
    resolve_destination,
)

# 1 MiB chunks so that test-sized blobs go up in several PATCH requests.
CHUNKED = PushOptions(chunk_size_min=1 * MIB, chunk_size_max=1 * MIB, retry_base_delay=0.05)
PULL = PullOptions(part_size_min=1 * MIB, retry_base_delay=0.05)
LOCAL = "registry.ollama.ai/library/local:v1"


def install(models_dir: Path, model: BuiltModel, name: str = LOCAL) -> ModelStore:
    parsed = parse_model_name(name)
    install_model(models_dir, model, host=parsed.host, repository=parsed.repository, tag=parsed.tag)
    return ModelStore(models_dir)


def small_model(gguf_factory: GGUFFactory, size: int = 3 * MIB, seed: int = 7) -> BuiltModel:
    return build_model(small_model_layers(gguf_factory(tensor_bytes=size, seed=seed)))


def two_gguf_model(gguf_factory: GGUFFactory) -> BuiltModel:
    """Two multi-chunk blobs, so a cut in the second shows whether the first is sent again."""
    return build_model(
        [
            gguf_layer(gguf_factory(tensor_bytes=4 * MIB, seed=21)),
            gguf_layer(gguf_factory(tensor_bytes=4 * MIB, seed=22), "projector"),
        ]
    )


def test_push_then_pull_back_gives_the_same_model(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    tmp_path: Path,
    gguf_factory: GGUFFactory,
) -> None:
    built = small_model(gguf_factory)
    store = install(models_dir, built)
    dest = f"{registry.host}/{unique_repo}:pushed"
    events: list[ProgressEvent] = []

    result = push_model(
        LOCAL, store, dest, progress=PullProgress(dest, events.append), options=CHUNKED
    )

    assert result.digest == built.manifest_digest
    assert sorted(result.uploaded) == sorted(b.digest for b in built.blobs)
    assert result.bytes_sent == built.total_size
    assert events[-1].status == "success"
    assert any(e.status == f"pushing {built.layers[0].hex[:12]}" for e in events)
    other = ModelStore(tmp_path / "other")
    pulled = pull_model(dest, other, options=PULL)
    assert pulled.manifest_path.read_bytes() == built.manifest_bytes
    assert pulled.id == store.resolve(LOCAL).id == built.id
    for blob in built.blobs:
        assert (
            other.blob_path(blob.digest).read_bytes() == store.blob_path(blob.digest).read_bytes()
        )
    # Pushing again finds every blob in place and sends nothing but the manifest.
    again = push_model(LOCAL, store, dest, options=CHUNKED)
    assert again.bytes_sent == 0
    assert sorted(again.present) == sorted(b.digest for b in built.blobs)


def test_push_to_a_new_name_on_the_same_registry_mounts_every_blob(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy: CuttingProxy,
    gguf_factory: GGUFFactory,
) -> None:
    built = small_model(gguf_factory, seed=8)
    first = f"{proxy.host}/{unique_repo}:v1"
    scratch = install(models_dir / "scratch", built)
    push_model(LOCAL, scratch, first, options=CHUNKED)
    store = ModelStore(models_dir / "pulled")
    pull_model(first, store, options=PULL)  # the store now says this registry has the blobs
    proxy.reset_counters()

    renamed = f"{proxy.host}/{unique_repo}-copy:v2"
    result = push_model(first, store, renamed, options=CHUNKED)

    assert sorted(result.mounted) == sorted(b.digest for b in built.blobs)
    assert result.bytes_sent == 0
    mounts = [r.target for r in proxy.requests if r.method == "POST" and "mount=" in r.target]
    for blob in built.blobs:
        assert any(f"mount={blob.digest.replace(':', '%3A')}" in t for t in mounts), mounts
    assert all(f"from={unique_repo.replace('/', '%2F')}" in t for t in mounts)
    assert not [r for r in proxy.requests if r.method in ("PATCH", "PUT") and "uploads" in r.target]
    assert proxy.bytes_to_server < 64 * 1024 < built.layers[0].size
    with RegistryClient() as client:
        assert client.get_manifest(parse_model_name(renamed)) == built.manifest_bytes


def test_mount_hints_carry_blobs_between_pushes(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy: CuttingProxy,
    gguf_factory: GGUFFactory,
) -> None:
    built = small_model(gguf_factory, seed=9)
    store = install(models_dir, built)
    hints = MountHints()
    push_model(LOCAL, store, f"{proxy.host}/{unique_repo}:a", options=CHUNKED, hints=hints)
    proxy.reset_counters()

    result = push_model(
        LOCAL, store, f"{proxy.host}/{unique_repo}-b:a", options=CHUNKED, hints=hints
    )

    assert len(result.mounted) == len(built.blobs)
    assert proxy.bytes_to_server < 64 * 1024


def test_cut_mid_blob_sends_again_only_that_blob(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy: CuttingProxy,
    gguf_factory: GGUFFactory,
) -> None:
    built = two_gguf_model(gguf_factory)
    first, second = built.layers
    store = install(models_dir, built)
    dest = f"{proxy.host}/{unique_repo}:cut"
    cut_once = threading.Event()

    def cut_halfway(event: ProgressEvent) -> None:
        halfway = event.digest == second.digest and (event.completed or 0) >= second.size // 2
        if halfway and not cut_once.is_set():
            cut_once.set()
            proxy.cut_active()

    result = push_model(
        LOCAL, store, dest, progress=PullProgress(dest, cut_halfway), options=CHUNKED
    )

    assert cut_once.is_set() and proxy.cuts >= 1
    patches = [r for r in proxy.requests if r.method == "PATCH"]
    first_sends = [r for r in patches if r.headers.get("content-range", "").startswith("0-")]
    # The first blob went up once; only the second blob's upload started over.
    assert len(first_sends) == 2
    assert proxy.bytes_to_server < built.total_size + second.size + 256 * 1024
    assert result.bytes_sent >= built.total_size
    other = ModelStore(models_dir / "check")
    assert pull_model(dest, other, options=PULL).manifest_path.read_bytes() == built.manifest_bytes
    assert first.size > 2 * MIB


def test_cancelled_push_resumes_at_the_registry_offset(
    registry: RegistryServer,
    unique_repo: str,
    models_dir: Path,
    proxy: CuttingProxy,
    gguf_factory: GGUFFactory,
) -> None:
    built = build_model([gguf_layer(gguf_factory(tensor_bytes=8 * MIB, seed=31))])
    blob = built.layers[0]
    store = install(models_dir, built)
    dest = f"{proxy.host}/{unique_repo}:resume"
    cancel = threading.Event()

    def cancel_at_three(event: ProgressEvent) -> None:
        if event.digest == blob.digest and (event.completed or 0) >= 3 * MIB:
            cancel.set()

    progress = PullProgress(dest, cancel_at_three)
    with pytest.raises(PushCancelledError, match="was cancelled"):
        push_model(LOCAL, store, dest, progress=progress, cancel=cancel, options=CHUNKED)
    assert progress.snapshot().state is PullState.CANCELLED
    sessions = list((store.state_dir / "pushes").iterdir())
    assert len(sessions) == 1
    proxy.reset_counters()

    result = push_model(LOCAL, store, dest, options=CHUNKED)

    status_checks = [
        r for r in proxy.requests if r.method == "GET" and "/blobs/uploads/" in r.target
    ]
    assert status_checks, "the registry was asked how much it holds"
    ranges = [r.headers["content-range"] for r in proxy.requests if r.method == "PATCH"]
    resumed_at = int(ranges[0].split("-")[0])
    assert resumed_at >= 3 * MIB
    assert result.bytes_sent == blob.size - resumed_at + built.config.size
    assert proxy.bytes_to_server < blob.size - resumed_at + 64 * 1024
    assert not list((store.state_dir / "pushes").iterdir())
    with RegistryClient() as client:
        assert client.get_manifest(parse_model_name(dest)) == built.manifest_bytes


def test_damaged_local_blob_is_refused_and_no_manifest_is_pushed(
    registry: RegistryServer, unique_repo: str, models_dir: Path, gguf_factory: GGUFFactory
) -> None:
    built = small_model(gguf_factory, size=2 * MIB, seed=11)
    store = install(models_dir, built)
    flip_byte(store.blob_path(built.layers[0].digest))
    dest = f"{registry.host}/{unique_repo}:bad"

    with pytest.raises(DigestMismatchError, match="does not match its sha256 digest"):
        push_model(LOCAL, store, dest, options=CHUNKED)

    with RegistryClient() as client, pytest.raises(ModelNotFoundError):
        client.get_manifest(parse_model_name(dest))


def test_pushing_a_model_that_is_not_installed_is_one_sentence(
    registry: RegistryServer, models_dir: Path
) -> None:
    with pytest.raises(ModelNotFoundError, match=r"^Model nothing-here:latest is not installed\.$"):
        push_model("nothing-here", ModelStore(models_dir), f"{registry.host}/x/y:z")


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        (None, "registry.ollama.ai/library/local:v1"),
        ("example.com:5000/", "example.com:5000/library/local:v1"),
        ("127.0.0.1:5000", "127.0.0.1:5000/library/local:v1"),
        ("example.com/team/", "example.com/team/local:v1"),
        ("example.com/team/renamed", "example.com/team/renamed:v1"),
        ("example.com/team/renamed:v9", "example.com/team/renamed:v9"),
    ],
)
def test_destination_names(dest: str | None, expected: str) -> None:
    assert str(resolve_destination(parse_model_name(LOCAL), dest)) == expected
