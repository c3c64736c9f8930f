"""Performance set: load / unload / benchmark requests through the model cache, and fit verdicts."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Future
from typing import Any

import esper

from ecs_models.app.config import LocalModelConfig, ModelData
from ecs_models.app.frame_state import SystemStatus
from ecs_models.app.perf_log import PerformanceLog
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.fit_cache import FitNote, FitVerdicts
from ecs_models.components.panel import ModelManagerPanel
from ecs_models.components.performance import (
    ModelLoadRequest,
    ModelUnloadRequest,
    PerformanceSelection,
    RuntimeJob,
    RuntimeJobKind,
)
from ecs_models.errors import EcsModelsError
from ecs_models.explain import explain
from ecs_models.formatting import human_bytes
from ecs_models.gguf.fit import fit_installed
from ecs_models.names import parse_model_name
from ecs_models.runtime.loading import (
    LOAD_SPEC,
    BenchmarkOutcome,
    LlamaHandle,
    LoadPlan,
    benchmark_loaded,
    load_planned,
    plan_load,
)
from ecs_models.runtime.model_cache import RuntimeHandle
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.runtime.runtimes import llama_cpp_unavailable_reason
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.notices import post_error, post_notice


def _sentence(error: BaseException) -> str:
    if isinstance(error, EcsModelsError):
        return str(error)
    return f"The runtime failed: {explain(error)}"


def _display(name: str) -> str:
    return parse_model_name(name).display


def _runtime_missing() -> str:
    reason = llama_cpp_unavailable_reason()
    return "" if reason is None else reason[0].upper() + reason[1:] + "."


class RuntimeSystem(System):
    """Turns load/unload/benchmark requests into runtime jobs and applies their results.

    Never loads a model whose estimate exceeds the cache budget (or this machine); makes room
    by evicting least recently used models first, whose unloads run on the runtime worker
    before the new load does.
    """

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.config = resources.get(LocalModelConfig)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.status = resources.get(SystemStatus)
        self.selection = resources.get(PerformanceSelection)
        self.perf_log = PerformanceLog.of(resources)
        self._probe: Future[str] | None = None
        self.config.model_cache.unloader = self._unload_later

    # -- the runtime's availability ----------------------------------------------------
    def probe_runtime(self) -> None:
        """Find out (on a worker: importing llama_cpp takes a while) whether it can run."""
        if self._probe is None and self.selection.runtime_missing is None:
            self._probe = self.pools.chores.submit(_runtime_missing)

    def _poll_probe(self) -> None:
        probe = self._probe
        if probe is not None and probe.done():
            self._probe = None
            error = probe.exception()
            self.selection.runtime_missing = (
                probe.result() if error is None else f"llama.cpp cannot be loaded: {error}."
            )

    def _unload_later(self, handle: RuntimeHandle) -> None:
        try:
            self.pools.runtime.submit(handle.unload)
        except RuntimeError:  # the pools are shut down (closing): nothing else uses it now
            handle.unload()

    # -- frame -------------------------------------------------------------------------
    def process(self, dt: float) -> None:
        self._poll_probe()
        self._unload_requests()
        self._load_requests()
        self._finish_jobs()

    def _busy(self, name: str) -> bool:
        return any(job.model_name == name for _, job in esper.get_component(RuntimeJob))

    def _unload_requests(self) -> None:
        cache = self.config.model_cache
        for ent, request in list(esper.get_component(ModelUnloadRequest)):
            esper.delete_entity(ent)
            name = request.model_name
            data = cache.get(name)
            if data is None or not data.loaded:
                post_notice(f"{_display(name)} is not loaded.")
                continue
            del cache[name]  # unloads on the runtime worker
            cache[name] = dataclasses.replace(data, runtime=None, estimated_bytes=0)
            post_notice(
                f"Unloaded {_display(name)} and freed about {human_bytes(data.cache_bytes)}."
            )

    def _load_requests(self) -> None:
        requests = list(esper.get_component(ModelLoadRequest))
        if not requests:
            return
        missing = self.selection.runtime_missing
        if missing is None:
            self.probe_runtime()
            return  # keep the requests until we know
        for ent, request in requests:
            esper.delete_entity(ent)
            name = request.model_name
            if missing:
                post_error(missing)
            elif self._busy(name):
                post_notice(f"{_display(name)} is already being loaded or benchmarked.")
            else:
                self._start(name, benchmark=request.benchmark)

    def _start(self, name: str, *, benchmark: bool) -> None:
        data = self.config.model_cache.get(name)  # a lookup is a use: it becomes most recent
        if data is not None and isinstance(data.runtime, LlamaHandle) and data.runtime.is_loaded:
            if benchmark:
                self._submit_benchmark(name, data)
            else:
                post_notice(f"{_display(name)} is already loaded.")
            return
        sample = self.status.sample
        future = self.pools.chores.submit(
            plan_load,
            self.store,
            name,
            budget=int(self.config.model_cache.maxsize),
            machine=sample.machine_memory() if sample is not None else None,
        )
        esper.create_entity(
            RuntimeJob(RuntimeJobKind.PLAN, name, future, benchmark, started_at=time.monotonic())
        )

    def _submit_benchmark(self, name: str, data: ModelData) -> None:
        digest = data.metadata.digest if data.metadata is not None else None
        future = self.pools.runtime.submit(benchmark_loaded, data.runtime, LOAD_SPEC, digest=digest)
        esper.create_entity(RuntimeJob(RuntimeJobKind.BENCHMARK, name, future, True))

    # -- results -----------------------------------------------------------------------
    def _finish_jobs(self) -> None:
        for ent, job in list(esper.get_component(RuntimeJob)):
            if not job.future.done():
                continue
            esper.delete_entity(ent, immediate=True)
            error = job.future.exception()
            if error is not None:
                post_error(_sentence(error))
            elif job.kind is RuntimeJobKind.PLAN:
                self._planned(job, job.future.result())
            elif job.kind is RuntimeJobKind.LOAD:
                self._loaded(job, job.future.result())
            else:
                self._benchmarked(job, job.future.result())

    def _planned(self, job: RuntimeJob, plan: LoadPlan) -> None:
        if not plan.allowed:
            post_error(f"Not loading {plan.model.name}: {plan.verdict.reason}")
            return
        cache = self.config.model_cache
        needed = plan.estimate.total_bytes
        evicted = [n for n in cache.evict_for(needed) if n != plan.name]
        if evicted:
            names = ", ".join(_display(n) for n in evicted)
            post_notice(f"Making room for {plan.model.name}: evicted {names} from the model cache.")
        future = self.pools.runtime.submit(load_planned, plan, LOAD_SPEC)
        esper.create_entity(
            RuntimeJob(RuntimeJobKind.LOAD, job.model_name, future, job.benchmark, plan)
        )

    def _loaded(self, job: RuntimeJob, handle: LlamaHandle) -> None:
        plan: LoadPlan = job.plan
        cache = self.config.model_cache
        old = cache.get_quiet(plan.name)
        metadata = self.config.installed_models.get(plan.name)
        data = ModelData(
            name=plan.name,
            manifest=plan.manifest,
            config=old.config if old is not None else b"",
            metadata=metadata,
            gguf=plan.info,
            runtime=handle,
            estimated_bytes=plan.estimate.total_bytes,
        )
        try:
            cache[plan.name] = data
        except ValueError:  # the budget shrank meanwhile: never keep what does not fit
            self._unload_later(handle)
            post_error(f"{plan.model.name} no longer fits the model cache budget.")
            return
        stats = self.config.stats_for(plan.name)
        stats.load_seconds = handle.load_seconds
        self.perf_log.record(
            PerformanceRecord(
                model=plan.model.name,
                kind="load",
                runtime="llama.cpp",
                digest=plan.model.digest,
                load_seconds=handle.load_seconds,
            )
        )
        if job.benchmark:
            self._submit_benchmark(plan.name, data)
            return
        post_notice(
            f"Loaded {plan.model.name} in {handle.load_seconds:.2f} s "
            f"(about {human_bytes(plan.estimate.total_bytes)} of the "
            f"{human_bytes(cache.maxsize)} budget)."
        )

    def _benchmarked(self, job: RuntimeJob, outcome: BenchmarkOutcome) -> None:
        result = outcome.result
        stats = self.config.stats_for(job.model_name)
        stats.load_seconds = result.load_seconds
        stats.prompt_tokens_per_second = result.prompt_tokens_per_second
        stats.generation_tokens_per_second = result.generation_tokens_per_second
        stats.time_to_first_token_seconds = result.time_to_first_token_seconds
        self.perf_log.record(outcome.record)
        speed = result.generation_tokens_per_second
        post_notice(
            f"Benchmarked {result.model}: "
            + (f"{speed:.1f} tokens/s" if speed else "no generation speed")
            + f", first token after {result.time_to_first_token_seconds or 0:.2f} s."
        )

    def unload_all(self) -> None:
        """Closing: free every loaded model now (the runtime worker has stopped)."""
        cache = self.config.model_cache
        for name, data in list(cache.items()):
            if data.loaded:
                del cache[name]


class FitSystem(System):
    """Fit verdicts for the models the panel shows (Models details, Performance area)."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.config = resources.get(LocalModelConfig)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.status = resources.get(SystemStatus)
        self.selection = resources.get(PerformanceSelection)
        self.fits = resources.get(FitVerdicts)

    def process(self, dt: float) -> None:
        if self.fits.pending:
            self._poll()
        now = time.monotonic()
        for name in self._wanted():
            metadata = self.config.installed_models.get(name)
            if metadata is None or name in self.fits.pending:
                continue
            if self.fits.stale(name, metadata.digest, now):
                self._submit(name, metadata.digest)

    def _wanted(self) -> tuple[str, ...]:
        names: list[str] = []
        for _, panel in esper.get_component(ModelManagerPanel):
            if panel.focused_model:
                names.append(panel.focused_model)
        if self.selection.model_name:
            names.append(self.selection.model_name)
        return tuple(names)

    def _submit(self, name: str, digest: str) -> None:
        sample = self.status.sample
        future = self.pools.chores.submit(
            fit_installed,
            self.store,
            name,
            machine=sample.machine_memory() if sample is not None else None,
        )
        self.fits.pending[name] = (digest, future)

    def _poll(self) -> None:
        now = time.monotonic()
        for name, (digest, future) in list(self.fits.pending.items()):
            if not future.done():
                continue
            del self.fits.pending[name]
            error = future.exception()
            if error is not None:
                self.fits.put(name, FitNote(digest, None, _short(error), now))
                continue
            report = future.result()
            self.fits.put(name, FitNote(digest, report, None, now))
            self._remember_facts(name, report.info)

    def _remember_facts(self, name: str, info: Any) -> None:
        # ModelData carries the parsed facts too, so a later load needs no second read.
        cache = self.config.model_cache
        data = cache.get_quiet(name)
        if data is not None and data.gguf is None:
            cache[name] = dataclasses.replace(
                data, gguf=info, metadata=self.config.installed_models.get(name)
            )


def _short(error: BaseException) -> str:
    return str(error).rstrip(".") if isinstance(error, EcsModelsError) else error.__class__.__name__
