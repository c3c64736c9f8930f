"""Memory estimates (weights + KV cache + overhead) and fit verdicts, on real GGUF headers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import psutil
import pytest
from support.model_builder import (
    GGUFFactory,
    build_model,
    gguf_layer,
    install_model,
    json_layer,
    text_layer,
)

from ecs_models.cli import main
from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.gguf.fit import fit_installed
from ecs_models.gguf.memory import (
    BATCH,
    FitVerdict,
    GpuMemory,
    MachineMemory,
    MemoryEstimate,
    Verdict,
    estimate_memory,
    judge_fit,
    kv_cache_bytes,
    measure_machine,
    nvidia_gpus,
)
from ecs_models.gguf.reader import read_gguf_info
from ecs_models.store.model_store import ModelStore

GIB = 1 << 30


def machine(ram: int, gpus: tuple[GpuMemory, ...] = ()) -> MachineMemory:
    return MachineMemory(ram_total=2 * ram, ram_available=ram, swap_total=0, swap_free=0, gpus=gpus)


def estimate(total: int) -> MemoryEstimate:
    return MemoryEstimate(
        weights_bytes=total, kv_cache_bytes=0, overhead_bytes=0, context_length=2048, kv_type="f16"
    )


def test_kv_cache_follows_ollamas_formula(gguf_factory: GGUFFactory) -> None:
    info = read_gguf_info(gguf_factory(n_layers=3, n_embd=64, n_head=4, n_head_kv=2))
    # 2 (K and V) x layers x kv heads x head dim x context x 2 bytes (f16)
    assert kv_cache_bytes(info, 2048) == 2 * 3 * 2 * 16 * 2048 * 2
    assert kv_cache_bytes(info, 2048, "q8_0") == 2 * 3 * 2 * 16 * 2048 * 34 // 32
    assert kv_cache_bytes(info, 2048, "q4_0") == 2 * 3 * 2 * 16 * 2048 * 18 // 32


def test_sliding_window_layers_cap_the_context(gguf_factory: GGUFFactory) -> None:
    gemma = read_gguf_info(
        gguf_factory(
            arch="gemma3",
            n_layers=12,
            n_embd=64,
            n_head=4,
            n_head_kv=1,
            extra_kv={"gemma3.attention.sliding_window": 512, "gemma3.attention.key_length": 32},
        )
    )
    ctx = 32768
    per_position = 1 * (32 + 16) * 2  # one KV head, key 32 + value 16 (64/4), f16
    # Gemma 3: layers 5 and 11 are global; the other ten keep window + one batch of positions.
    expected = 2 * ctx * per_position + 10 * (512 + BATCH) * per_position
    assert kv_cache_bytes(gemma, ctx) == expected
    # A short context is not capped at all.
    assert kv_cache_bytes(gemma, 512) == 12 * 512 * per_position
    mistral = read_gguf_info(
        gguf_factory(arch="mistral", extra_kv={"mistral.attention.sliding_window": 1024})
    )
    assert mistral.sliding_window_layers == (True, True)
    assert kv_cache_bytes(mistral, 65536) == kv_cache_bytes(mistral, 1024 + BATCH)


def test_estimate_defaults_and_errors(gguf_factory: GGUFFactory) -> None:
    info = read_gguf_info(gguf_factory(ctx=2048))
    small = estimate_memory(info, weights_bytes=1000)
    assert small.context_length == 2048  # the model's own limit is below Ollama's 4096
    big = read_gguf_info(gguf_factory(ctx=131072))
    assert estimate_memory(big, weights_bytes=1000).context_length == 4096
    result = estimate_memory(info, weights_bytes=123_456, context_length=1024, kv_type="q8_0")
    assert result.weights_bytes == 123_456
    assert result.total_bytes == 123_456 + result.kv_cache_bytes + result.overhead_bytes
    assert result.overhead_bytes > 64 << 20
    with pytest.raises(EcsModelsError, match="Unknown KV cache type 'f8'"):
        estimate_memory(info, weights_bytes=1, kv_type="f8")
    with pytest.raises(EcsModelsError, match="positive"):
        estimate_memory(info, weights_bytes=1, context_length=-5)
    shapeless = dataclasses.replace(info, block_count=None)
    with pytest.raises(EcsModelsError, match="layer count"):
        estimate_memory(shapeless, weights_bytes=1)


@pytest.mark.parametrize(
    ("needed", "verdict"),
    [(8 * GIB, Verdict.FITS), (9 * GIB, Verdict.TIGHT), (11 * GIB, Verdict.TOO_LARGE)],
)
def test_verdict_thresholds_against_ram(needed: int, verdict: Verdict) -> None:
    result = judge_fit(estimate(needed), machine(10 * GIB))
    assert (result.verdict, result.device, result.available) == (verdict, "RAM", 10 * GIB)
    assert result.reason.endswith(".") and result.reason.count(". ") == 0
    assert "10.7 GB of RAM" in result.reason


def test_gpu_is_preferred_and_partial_offload_is_tight() -> None:
    gpu = GpuMemory(index=0, name="Test GPU", total=24 * GIB, free=20 * GIB)
    on_gpu = judge_fit(estimate(12 * GIB), machine(4 * GIB, (gpu,)))
    assert (on_gpu.verdict, on_gpu.device) == (Verdict.FITS, "GPU 0 (Test GPU)")
    split = judge_fit(estimate(22 * GIB), machine(8 * GIB, (gpu,)))
    assert (split.verdict, split.device) == (Verdict.TIGHT, "RAM + GPU")
    budget = judge_fit(estimate(2 * GIB), machine(64 * GIB), budget=1 * GIB)
    assert (budget.verdict, budget.device) == (Verdict.TOO_LARGE, "budget")
    assert "model memory budget" in budget.reason
    assert isinstance(budget, FitVerdict) and budget.to_dict()["verdict"] == "too large"


def test_machine_is_measured_now() -> None:
    measured = measure_machine()
    assert measured.ram_total == psutil.virtual_memory().total
    assert 0 < measured.ram_available <= measured.ram_total
    # nvidia-ml-py is optional: without it (or a GPU) the GPU list is simply empty.
    assert measured.gpus == nvidia_gpus()
    assert all(g.free <= g.total for g in measured.gpus)


def test_fit_installed_reads_the_local_blob(gguf_factory: GGUFFactory, models_dir: Path) -> None:
    path = gguf_factory(n_layers=4, ctx=8192)
    projector = gguf_factory(seed=7, tensor_bytes=256 << 10)
    model = build_model(
        [
            gguf_layer(path),
            gguf_layer(projector, "projector"),
            text_layer("template", "{{ .Prompt }}"),
            json_layer("params", {"num_ctx": 3000}),
        ]
    )
    install_model(models_dir, model, repository="library/fitme", tag="v1")
    store = ModelStore(models_dir)
    report = fit_installed(store, "fitme:v1", machine=machine(64 * GIB))
    assert report.installed and report.header_bytes_fetched == 0
    assert report.estimate.weights_bytes == path.stat().st_size + projector.stat().st_size
    assert report.estimate.context_length == 3000  # from the model's params layer
    assert report.info == read_gguf_info(path)
    assert report.verdict.verdict is Verdict.FITS
    cached = store.state_dir / "gguf-info" / (model.layers[0].file_name + ".json")
    assert json.loads(cached.read_text())["block_count"] == 4
    explicit = fit_installed(store, "fitme:v1", context_length=512, kv_type="q4_0")
    assert (explicit.estimate.context_length, explicit.estimate.kv_type) == (512, "q4_0")
    with pytest.raises(ModelNotFoundError):
        fit_installed(store, "absent:v1")


def test_fit_command_json(
    gguf_factory: GGUFFactory, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = gguf_factory(n_layers=2)
    install_model(models_dir, build_model([gguf_layer(path)]), repository="library/clifit")
    status = main(["--models", str(models_dir), "fit", "clifit", "--ctx", "1024", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0 and doc["installed"] is True
    assert doc["estimate"]["context_length"] == 1024
    assert doc["verdict"] in ("fits", "tight", "too large") and doc["reason"]
    assert doc["gguf"]["block_count"] == 2
    with pytest.raises(SystemExit) as usage:
        main(["--models", str(models_dir), "fit", "clifit", "--kv-type", "f8"])
    assert usage.value.code == 2 and "f8" in capsys.readouterr().err


def test_fit_of_a_damaged_blob_is_one_sentence(
    gguf_factory: GGUFFactory, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_model([gguf_layer(gguf_factory(seed=3))])
    install_model(models_dir, model, repository="library/broken")
    blob = models_dir / "blobs" / model.layers[0].file_name
    blob.write_bytes(b"GGUF" + b"\xff" * 20)
    status = main(["--models", str(models_dir), "fit", "broken"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "version" in err
