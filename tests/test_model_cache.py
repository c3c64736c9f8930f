"""LocalModelConfig.model_cache: an LRU sized in bytes whose eviction unloads real llama.cpp models."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from support.model_builder import (
    MIB,
    GGUFFactory,
    build_model,
    bytes_layer,
    gguf_layer,
    install_model,
    text_layer,
)

from ecs_models.app.config import LocalModelConfig, ModelData, ResourceLimits
from ecs_models.gguf.memory import Verdict
from ecs_models.runtime.loading import LlamaHandle, benchmark_loaded, load_planned, plan_load
from ecs_models.runtime.model_cache import ModelCache
from ecs_models.runtime.runtimes import BenchmarkSpec, llama_cpp_unavailable_reason
from ecs_models.store.model_store import ModelStore

LLAMA_MISSING = llama_cpp_unavailable_reason()
needs_llama = pytest.mark.skipif(LLAMA_MISSING is not None, reason=LLAMA_MISSING or "")


def entry(name: str, size: int) -> ModelData:
    return ModelData(name=name, manifest=b"m" * size)


def test_budget_counts_bytes_and_evicts_the_least_recently_used() -> None:
    config = LocalModelConfig(resource_limits=ResourceLimits(model_cache_budget=1000))
    cache = config.model_cache
    assert isinstance(cache, ModelCache) and cache.maxsize == 1000
    cache["a"] = entry("a", 400)
    cache["b"] = entry("b", 400)
    assert cache.currsize == 800
    assert cache["a"].name == "a"  # a use: "b" is now the least recent
    cache["c"] = entry("c", 400)
    assert set(cache) == {"a", "c"} and cache.currsize == 800
    assert [k for k, _ in cache.items_by_recency()] == ["a", "c"]
    # Looking without using keeps the order.
    assert cache.get_quiet("a") is not None
    assert [k for k, _ in cache.items_by_recency()] == ["a", "c"]
    with pytest.raises(ValueError):
        cache["huge"] = entry("huge", 2000)
    version = cache.version
    del cache["a"]
    assert cache.version > version and cache.loaded() == []


def test_default_budget_is_half_the_ram() -> None:
    limits = ResourceLimits()
    assert limits.model_cache_budget == psutil.virtual_memory().total // 2
    assert LocalModelConfig(resource_limits=limits).model_cache.maxsize == limits.model_cache_budget


def install_generated(models_dir: Path, gguf: Path, repository: str) -> ModelStore:
    model = build_model([gguf_layer(gguf), text_layer("template", "{{ .Prompt }}")])
    install_model(models_dir, model, repository=repository)
    return ModelStore(models_dir)


def test_plan_refuses_a_model_over_the_budget(models_dir: Path, gguf_factory: GGUFFactory) -> None:
    store = install_generated(
        models_dir, gguf_factory(tensor_bytes=8 * MIB, seed=71), "library/planme"
    )
    roomy = plan_load(store, "planme", budget=1 << 40)
    assert roomy.allowed and roomy.name == "registry.ollama.ai/library/planme:latest"
    assert roomy.estimate.context_length == 2048
    assert roomy.estimate.weights_bytes == store.resolve("planme").manifest.layers[0].size
    tight = plan_load(store, "planme", budget=roomy.estimate.total_bytes - 1)
    assert not tight.allowed
    assert tight.verdict.verdict is Verdict.TOO_LARGE and tight.verdict.device == "budget"
    assert "more than the model memory budget" in tight.verdict.reason


# -- real loads of Gemma 3 270M --------------------------------------------------------------


@pytest.fixture
def gemma_store(models_dir: Path, gemma_file: Path) -> ModelStore:
    model = build_model(
        [bytes_layer("model", gemma_file.read_bytes()), text_layer("template", "{{ .Prompt }}")]
    )
    for tag in ("one", "two"):
        install_model(models_dir, model, repository="library/gemma3", tag=tag)
    return ModelStore(models_dir)


def loaded_entry(store: ModelStore, name: str, budget: int) -> ModelData:
    plan = plan_load(store, name, budget=budget)
    assert plan.allowed, plan.verdict.reason
    handle = load_planned(plan)
    return ModelData(
        name=plan.name,
        manifest=plan.manifest,
        gguf=plan.info,
        runtime=handle,
        estimated_bytes=plan.estimate.total_bytes,
    )


@pytest.mark.runtime
@needs_llama
def test_eviction_unloads_a_real_llama_model(gemma_store: ModelStore) -> None:
    estimate = plan_load(gemma_store, "gemma3:one", budget=1 << 40).estimate.total_bytes
    config = LocalModelConfig(resource_limits=ResourceLimits(model_cache_budget=estimate * 3 // 2))
    cache = config.model_cache
    one = loaded_entry(gemma_store, "gemma3:one", int(cache.maxsize))
    cache[one.name] = one
    assert cache.currsize == estimate  # a loaded model counts its estimated memory
    handle_one = one.runtime
    assert isinstance(handle_one, LlamaHandle) and handle_one.is_loaded
    # A rescan re-inserts the manifest: the loaded handle stays.
    cache[one.name] = ModelData(name=one.name, manifest=one.manifest)
    assert cache.get_quiet(one.name).runtime is handle_one  # type: ignore[union-attr]
    assert handle_one.is_loaded and cache.currsize == estimate

    two = loaded_entry(gemma_store, "gemma3:two", int(cache.maxsize))
    cache[two.name] = two
    assert one.name not in cache and two.name in cache
    assert not handle_one.is_loaded  # evicted means unloaded
    assert cache.evicted[-1] == one.name
    # The survivor still generates.
    result = benchmark_loaded(two.runtime, BenchmarkSpec(max_tokens=4, context_length=2048))
    assert result.result.generated_tokens == 4 and result.record.kind == "benchmark"

    # Removing a model (as the lifecycle set does) unloads it too.
    handle_two = two.runtime
    cache.pop(two.name)
    assert not handle_two.is_loaded and cache.loaded() == []
    handle_two.unload()  # a second unload does nothing


@pytest.mark.runtime
@needs_llama
def test_replacing_with_another_manifest_unloads(gemma_store: ModelStore) -> None:
    cache = LocalModelConfig(resource_limits=ResourceLimits(model_cache_budget=4 << 30)).model_cache
    one = loaded_entry(gemma_store, "gemma3:one", int(cache.maxsize))
    cache[one.name] = one
    cache[one.name] = ModelData(name=one.name, manifest=one.manifest + b" ")  # an updated tag
    assert not one.runtime.is_loaded
    assert not cache.get_quiet(one.name).loaded  # type: ignore[union-attr]
    other = loaded_entry(gemma_store, "gemma3:two", int(cache.maxsize))
    cache[other.name] = other
    cache.clear()
    assert not other.runtime.is_loaded
