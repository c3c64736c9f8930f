"""Loading installed models into the in-process llama.cpp runtime under the cache's budget."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ecs_models.gguf.fit import fit_installed
from ecs_models.gguf.memory import FitVerdict, MachineMemory, MemoryEstimate, Verdict
from ecs_models.gguf.reader import GGUFInfo
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.runtime.runtimes import (
    BenchmarkResult,
    BenchmarkSpec,
    LlamaCppRuntime,
    LoadedLlama,
    PeakRss,
    RuntimeLoadError,
    RuntimeModel,
    runtime_model,
)
from ecs_models.store.model_store import ModelStore

# Loads and benchmarks share one context size, so the budget check estimates what is loaded.
LOAD_SPEC = BenchmarkSpec()


@dataclass(slots=True)
class LlamaHandle:
    """A model llama.cpp holds in this process; the model cache's runtime handle."""

    runtime: LlamaCppRuntime
    loaded: LoadedLlama
    _lock: threading.Lock

    @classmethod
    def wrap(cls, runtime: LlamaCppRuntime, loaded: LoadedLlama) -> LlamaHandle:
        return cls(runtime, loaded, threading.Lock())

    @property
    def is_loaded(self) -> bool:
        return self.loaded.handle is not None

    @property
    def load_seconds(self) -> float:
        return self.loaded.load_seconds

    def unload(self) -> None:
        """Free the model; a second call does nothing."""
        with self._lock:
            if self.loaded.handle is not None:
                self.runtime.unload(self.loaded)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What loading a model would take, judged against the machine and the cache budget."""

    name: str  # the fully qualified name, the model cache's key
    model: RuntimeModel
    manifest: bytes
    info: GGUFInfo
    estimate: MemoryEstimate
    verdict: FitVerdict

    @property
    def allowed(self) -> bool:
        return self.verdict.verdict is not Verdict.TOO_LARGE


def plan_load(
    store: ModelStore,
    name: str,
    *,
    budget: int,
    machine: MachineMemory | None = None,
    spec: BenchmarkSpec = LOAD_SPEC,
) -> LoadPlan:
    """Worker side: find the blob and estimate it (cached GGUF facts, no model bytes read)."""
    report = fit_installed(
        store, name, context_length=spec.context_length, machine=machine, budget=budget
    )
    installed = store.resolve(name)
    return LoadPlan(
        name=str(installed.name),
        model=runtime_model(store, name),
        manifest=installed.manifest.raw,
        info=report.info,
        estimate=report.estimate,
        verdict=report.verdict,
    )


def load_planned(plan: LoadPlan, spec: BenchmarkSpec = LOAD_SPEC) -> LlamaHandle:
    """Runtime worker: load the blob with llama.cpp; RuntimeLoadError in one sentence."""
    runtime = LlamaCppRuntime()
    return LlamaHandle.wrap(runtime, runtime.load(plan.model, spec))


@dataclass(frozen=True, slots=True)
class BenchmarkOutcome:
    result: BenchmarkResult
    record: PerformanceRecord


def benchmark_loaded(
    handle: LlamaHandle, spec: BenchmarkSpec = LOAD_SPEC, *, digest: str | None = None
) -> BenchmarkOutcome:
    """Runtime worker: the fixed benchmark on an already loaded model (its load time kept)."""
    with handle._lock:
        if handle.loaded.handle is None:
            raise RuntimeLoadError(f"{handle.loaded.model.name} was unloaded before its benchmark.")
        with PeakRss() as rss:
            result = handle.runtime.generate(handle.loaded, spec)
    result = BenchmarkResult(**{**result.to_dict(), "peak_memory_bytes": rss.peak})
    # to_record reads the machine summary (/proc, NVML): worker-side too. The app records each
    # load on its own, so the benchmark's copy of that load time would count it twice.
    record = result.to_record(digest=digest)
    record.load_seconds = None
    return BenchmarkOutcome(result, record)
