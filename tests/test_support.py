"""Proof that the test infrastructure is real: real registry, real bytes, real faults."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import gguf
import httpx
import pytest
from support.faults import (
    CuttingProxy,
    ProxyFactory,
    SmallFilesystemFactory,
    fill_filesystem,
    flip_byte,
)
from support.model_builder import (
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MIB,
    STREAM_THRESHOLD,
    BuiltModel,
    GGUFFactory,
    build_model,
    gguf_layer,
    human_number,
    install_model,
    json_layer,
    push_model,
    push_small_model,
    small_model_layers,
    text_layer,
    write_gguf,
)
from support.registry_server import RegistryServer

ACCEPT_V2 = {"Accept": MANIFEST_MEDIA_TYPE}


def _client(timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=timeout)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _raw_get(host: str, path: str, extra_headers: str = "") -> tuple[bytes, OSError | None]:
    """GET over a bare socket: every byte that arrived, and the error that ended it, if any."""
    address, _, port = host.rpartition(":")
    received = bytearray()
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}Connection: close\r\n\r\n"
        sock.sendall(request.encode())
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as exc:
            return bytes(received), exc
    return bytes(received), None


def _head_length(response: bytes) -> int:
    return response.index(b"\r\n\r\n") + 4


# -- registry server --------------------------------------------------------------------------


def test_manifest_comes_back_byte_identical(registry: RegistryServer, unique_repo: str) -> None:
    model = push_small_model(registry, unique_repo, "v1")
    assert model.name == f"{registry.host}/{unique_repo}:v1"
    with _client() as client:
        by_tag = client.get(f"{registry.url}/v2/{unique_repo}/manifests/v1", headers=ACCEPT_V2)
        by_digest = client.get(
            f"{registry.url}/v2/{unique_repo}/manifests/{model.manifest_digest}",
            headers=ACCEPT_V2,
        )
    for response in (by_tag, by_digest):
        assert response.status_code == 200
        assert response.content == model.manifest_bytes
        assert response.headers["Docker-Content-Digest"] == model.manifest_digest
    assert _sha256(model.manifest_bytes) == model.manifest_digest
    manifest = json.loads(model.manifest_bytes)
    assert manifest["mediaType"] == MANIFEST_MEDIA_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [layer["mediaType"].rsplit(".", 1)[1] for layer in manifest["layers"]] == [
        "model",
        "template",
        "params",
        "license",
    ]
    # Deterministic, compact serialization: what Ollama's json.Marshal would produce.
    assert model.manifest_bytes == json.dumps(manifest, separators=(",", ":")).encode()


def test_blobs_come_back_with_matching_sha256(registry: RegistryServer, unique_repo: str) -> None:
    model = push_small_model(registry, unique_repo, "latest", seed=3)
    with _client() as client:
        for blob in model.blobs:
            response = client.get(f"{registry.url}/v2/{unique_repo}/blobs/{blob.digest}")
            assert response.status_code == 200
            assert len(response.content) == blob.size
            assert _sha256(response.content) == blob.digest
            assert response.content == blob.read_bytes()
        ranged = client.get(
            f"{registry.url}/v2/{unique_repo}/blobs/{model.layer('model').digest}",
            headers={"Range": "bytes=100-199"},
        )
    assert ranged.status_code == 206
    assert ranged.content == model.layer("model").read_bytes()[100:200]


def test_config_blob_describes_the_gguf(registry: RegistryServer, unique_repo: str) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    config = json.loads(model.config.read_bytes())
    assert list(config) == [
        "model_format",
        "model_family",
        "model_families",
        "model_type",
        "file_type",
        "architecture",
        "os",
        "rootfs",
    ]
    assert config["model_format"] == "gguf"
    assert config["model_family"] == "llama"
    assert config["file_type"] == "Q4_K_M"
    gguf_path = model.layer("model").path
    assert gguf_path is not None
    reader = gguf.GGUFReader(gguf_path)
    assert config["model_type"] == human_number(sum(int(t.n_elements) for t in reader.tensors))
    assert config["rootfs"]["diff_ids"] == [blob.digest for blob in model.layers]
    assert model.total_size == sum(blob.size for blob in model.blobs)


def test_shared_blobs_are_pushed_once_and_stay_shared(
    registry: RegistryServer, unique_repo: str
) -> None:
    first = push_small_model(registry, unique_repo, "a", seed=11)
    second = push_small_model(registry, unique_repo, "b", seed=11)
    third = push_small_model(registry, unique_repo, "c", seed=12)
    assert first.layer("model").digest == second.layer("model").digest
    assert first.layer("model").digest != third.layer("model").digest
    assert first.layer("template").digest == third.layer("template").digest
    assert first.manifest_digest == second.manifest_digest != third.manifest_digest


def test_corrupted_stored_byte_changes_the_served_hash(
    fresh_registry: RegistryServer, unique_repo: str
) -> None:
    model = push_small_model(fresh_registry, unique_repo, "latest")
    blob = model.layer("model")
    stored = fresh_registry.blob_data_path(blob.digest)
    assert stored.read_bytes() == blob.read_bytes()
    flip_byte(stored)
    with _client() as client:
        served = client.get(f"{fresh_registry.url}/v2/{unique_repo}/blobs/{blob.digest}")
    assert served.status_code == 200
    assert len(served.content) == blob.size
    assert _sha256(served.content) != blob.digest


def test_restart_and_kill_keep_port_and_data(
    fresh_registry: RegistryServer, unique_repo: str
) -> None:
    model = push_small_model(fresh_registry, unique_repo, "latest")
    url = f"{fresh_registry.url}/v2/{unique_repo}/manifests/latest"
    host = fresh_registry.host

    fresh_registry.kill()
    assert not fresh_registry.running
    with _client(timeout=2) as client, pytest.raises(httpx.ConnectError):
        client.get(url, headers=ACCEPT_V2)

    fresh_registry.start()
    assert fresh_registry.host == host
    with _client() as client:
        assert client.get(url, headers=ACCEPT_V2).content == model.manifest_bytes

    fresh_registry.restart()
    assert fresh_registry.host == host
    with _client() as client:
        assert client.get(url, headers=ACCEPT_V2).content == model.manifest_bytes


def test_registry_start_failure_reports_the_log(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        server = RegistryServer(workdir=tmp_path / "reg", port=blocker.getsockname()[1])
        with pytest.raises(RuntimeError, match="docker-registry"):
            server.start()
        assert not server.running
    finally:
        blocker.close()


def test_big_blob_upload_streams_from_disk(
    registry: RegistryServer, unique_repo: str, gguf_factory: GGUFFactory
) -> None:
    path = gguf_factory(tensor_bytes=STREAM_THRESHOLD + 4 * MIB, seed=5)
    assert path.stat().st_size > STREAM_THRESHOLD
    model = push_model(registry, unique_repo, "big", [gguf_layer(path)])
    stored = registry.blob_data_path(model.layer("model").digest)
    assert stored.stat().st_size == path.stat().st_size
    hasher = hashlib.sha256()
    with (
        _client(timeout=60) as client,
        client.stream(
            "GET", f"{registry.url}/v2/{unique_repo}/blobs/{model.layer('model').digest}"
        ) as response,
    ):
        for chunk in response.iter_bytes():
            hasher.update(chunk)
    assert "sha256:" + hasher.hexdigest() == model.layer("model").digest


def test_custom_layers_and_config(registry: RegistryServer, unique_repo: str) -> None:
    layers = [
        text_layer("system", "You are terse."),
        json_layer("messages", [{"role": "user", "content": "hi"}]),
        text_layer("license", "Apache-2.0"),
        text_layer("license", "Extra terms"),
    ]
    model = push_model(registry, unique_repo, "custom", layers, {"model_family": "qwen2"})
    assert model.config_dict["model_family"] == "qwen2"
    assert [blob.media_type for blob in model.layers] == [layer.media_type for layer in layers]
    with _client() as client:
        served = client.get(f"{registry.url}/v2/{unique_repo}/manifests/custom", headers=ACCEPT_V2)
    assert served.content == model.manifest_bytes


# -- GGUF -------------------------------------------------------------------------------------


def test_write_gguf_is_read_back_by_gguf_reader(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "m.gguf",
        arch="qwen2",
        n_layers=3,
        n_embd=128,
        n_head=8,
        n_head_kv=2,
        ctx=4096,
        vocab=40,
        tensor_bytes=2 * MIB,
        file_type=1,
        extra_kv={"qwen2.attention.key_length": 16},
    )
    reader = gguf.GGUFReader(path)
    expected = {
        "general.architecture": "qwen2",
        "general.name": "ecs-test-model",
        "general.file_type": 1,
        "qwen2.context_length": 4096,
        "qwen2.block_count": 3,
        "qwen2.embedding_length": 128,
        "qwen2.attention.head_count": 8,
        "qwen2.attention.head_count_kv": 2,
        "qwen2.attention.key_length": 16,
    }
    for key, value in expected.items():
        field = reader.get_field(key)
        assert field is not None, key
        assert field.contents() == value, key
    tokens = reader.get_field("tokenizer.ggml.tokens")
    assert tokens is not None
    assert len(tokens.contents()) == 40
    assert tokens.contents()[:3] == ["<unk>", "<s>", "</s>"]

    names = [tensor.name for tensor in reader.tensors]
    assert "token_embd.weight" in names
    assert "blk.2.attn_k.weight" in names
    tensor_bytes = sum(int(tensor.n_bytes) for tensor in reader.tensors)
    assert 2 * MIB - 1024 < tensor_bytes <= 2 * MIB
    size = path.stat().st_size
    for tensor in reader.tensors:
        # Ollama's own health check: every tensor's data ends inside the file.
        assert tensor.data_offset + int(tensor.n_bytes) <= size
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    assert [int(d) for d in embd.shape] == [128, 40]


def test_write_gguf_is_deterministic_per_seed(tmp_path: Path) -> None:
    one = write_gguf(tmp_path / "a.gguf", seed=1, tensor_bytes=256 * 1024)
    again = write_gguf(tmp_path / "b.gguf", seed=1, tensor_bytes=256 * 1024)
    other = write_gguf(tmp_path / "c.gguf", seed=2, tensor_bytes=256 * 1024)
    assert one.read_bytes() == again.read_bytes()
    assert one.read_bytes() != other.read_bytes()


def test_gguf_factory_scales_and_caches(gguf_factory: GGUFFactory) -> None:
    started = time.monotonic()
    big = gguf_factory(tensor_bytes=50 * MIB, seed=9)
    assert time.monotonic() - started < 10
    assert 50 * MIB <= big.stat().st_size < 50 * MIB + 64 * 1024
    assert gguf_factory(tensor_bytes=50 * MIB, seed=9) == big
    reader = gguf.GGUFReader(big)
    assert reader.get_field("general.architecture") is not None


# -- models directory -------------------------------------------------------------------------


def test_install_model_writes_the_ollama_layout(
    models_dir: Path, gguf_factory: GGUFFactory
) -> None:
    model: BuiltModel = build_model(small_model_layers(gguf_factory(seed=4)))
    manifest_path = install_model(models_dir, model, repository="library/tiny", tag="q4")
    assert manifest_path == models_dir / "manifests/registry.ollama.ai/library/tiny/q4"
    assert manifest_path.read_bytes() == model.manifest_bytes
    names = sorted(p.name for p in (models_dir / "blobs").iterdir())
    assert names == sorted(blob.file_name for blob in model.blobs)
    for blob in model.blobs:
        data = (models_dir / "blobs" / blob.file_name).read_bytes()
        assert _sha256(data) == blob.digest


# -- cutting proxy ----------------------------------------------------------------------------


def test_proxy_forwards_faithfully(proxy: CuttingProxy, unique_repo: str) -> None:
    model = push_small_model(proxy, unique_repo, "latest")
    assert model.host == proxy.host
    blob = model.layer("model")
    with _client() as client:
        response = client.get(f"{proxy.url}/v2/{unique_repo}/blobs/{blob.digest}")
    assert _sha256(response.content) == blob.digest
    assert proxy.bytes_to_client > blob.size
    assert proxy.cuts == 0
    methods = {request.method for request in proxy.requests}
    assert {"HEAD", "POST", "PUT", "GET"} <= methods


def test_proxy_really_cuts_then_forwards_normally(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    blob_url = f"{proxy.url}/v2/{unique_repo}/blobs/{model.layer('model').digest}"
    proxy.cut_after(300_000)
    with _client() as client, pytest.raises(httpx.TransportError):
        client.get(blob_url)
    assert proxy.cuts == 1
    assert proxy.bytes_to_client == 300_000
    with _client() as client:
        response = client.get(blob_url)
    assert _sha256(response.content) == model.layer("model").digest
    assert proxy.cuts == 1


def test_cut_delivers_exactly_n_bytes_then_resets(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    path = f"/v2/{unique_repo}/blobs/{model.layer('model').digest}"
    proxy.cut_after(123_457, mode="rst")
    received, error = _raw_get(proxy.host, path)
    assert isinstance(error, ConnectionResetError)
    assert len(received) == 123_457

    proxy.cut_after(5000, mode="fin")
    received, error = _raw_get(proxy.host, path)
    assert error is None
    assert len(received) == 5000


def test_cut_for_the_next_k_connections(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    blob_url = f"{proxy.url}/v2/{unique_repo}/blobs/{model.layer('model').digest}"
    proxy.cut_after(1000, connections=3)
    for _ in range(3):
        with _client() as client, pytest.raises(httpx.TransportError):
            client.get(blob_url)
    with _client() as client:
        assert _sha256(client.get(blob_url).content) == model.layer("model").digest
    assert proxy.cuts == 3
    assert proxy.connections == 4


def test_resume_after_a_cut_fetches_only_the_remainder(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    blob = model.layer("model")
    path = f"/v2/{unique_repo}/blobs/{blob.digest}"
    proxy.cut_after(400_000)
    first, error = _raw_get(proxy.host, path)
    assert error is not None
    body = first[_head_length(first) :]
    proxy.reset_counters()

    with _client() as client:
        rest = client.get(f"{proxy.url}{path}", headers={"Range": f"bytes={len(body)}-"})
    assert rest.status_code == 206
    assert _sha256(body + rest.content) == blob.digest
    assert len(body) + len(rest.content) == blob.size
    # Only the remainder (plus one response head) crossed the proxy the second time.
    assert proxy.bytes_to_client - len(rest.content) < 1024
    assert [request.range for request in proxy.requests] == [f"bytes={len(body)}-"]


def test_stall_then_release(
    registry: RegistryServer, proxy: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    blob_url = f"{proxy.url}/v2/{unique_repo}/blobs/{model.layer('model').digest}"

    proxy.stall_after(10_000)
    with _client(timeout=0.5) as client, pytest.raises(httpx.ReadTimeout):
        client.get(blob_url)

    proxy.stall_after(10_000)
    result: list[bytes] = []
    worker = threading.Thread(target=lambda: result.append(_client().get(blob_url).content))
    worker.start()
    proxy.wait_for_bytes(proxy.bytes_to_client + 10_000)
    time.sleep(0.2)
    assert not result
    proxy.release_stalls()
    worker.join(timeout=10)
    assert _sha256(result[0]) == model.layer("model").digest


def test_throttled_proxy_can_be_interrupted_mid_blob(
    registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "latest")
    blob = model.layer("model")
    slow: CuttingProxy = proxy_factory(registry, rate=2 * MIB)
    url = f"{slow.url}/v2/{unique_repo}/blobs/{blob.digest}"

    started = time.monotonic()
    with _client() as client:
        assert _sha256(client.get(url).content) == blob.digest
    elapsed = time.monotonic() - started
    assert elapsed >= 0.35, f"1 MiB at 2 MiB/s took only {elapsed:.2f} s"

    slow.reset_counters()
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            with _client() as client:
                client.get(url)
        except httpx.TransportError as exc:
            failures.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    slow.wait_for_bytes(200_000)
    assert slow.cut_active() == 1
    worker.join(timeout=10)
    assert failures
    assert slow.bytes_to_client < blob.size


def test_proxy_in_front_of_a_dead_registry_resets(
    fresh_registry: RegistryServer, proxy_factory: ProxyFactory
) -> None:
    front: CuttingProxy = proxy_factory(fresh_registry)
    with _client(timeout=2) as client:
        assert client.get(f"{front.url}/v2/").status_code == 200
        fresh_registry.kill()
        with pytest.raises(httpx.TransportError):
            client.get(f"{front.url}/v2/")
        fresh_registry.start()
        assert client.get(f"{front.url}/v2/").status_code == 200


# -- filesystems ------------------------------------------------------------------------------


def test_small_filesystem_really_fills_up(small_fs: SmallFilesystemFactory) -> None:
    mount = small_fs(1 * MIB)
    assert shutil.disk_usage(mount).total <= 1 * MIB
    with pytest.raises(OSError) as raised, (mount / "big").open("wb") as handle:
        handle.write(b"x" * (2 * MIB))
        handle.flush()
    assert raised.value.errno == 28  # ENOSPC
    (mount / "big").unlink()
    fill_filesystem(mount, leave_free=100 * 1024)
    assert shutil.disk_usage(mount).free <= 100 * 1024 + 4096
