"""Runtimes behind one small interface, and the fixed benchmark every runtime runs."""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import psutil

from ecs_models.errors import EcsModelsError
from ecs_models.names import DEFAULT_HOST
from ecs_models.runtime.perfstats import PerformanceRecord, machine_summary
from ecs_models.store.model_store import ModelStore

# Plain prose that a base or an instruction model continues at length: the benchmark wants
# all of its tokens, not an early end of text.
BENCH_PROMPT = (
    "The history of the printing press begins in the fifteenth century, when Johannes "
    "Gutenberg combined movable metal type, oil-based ink and a wooden screw press. Over the "
    "next decades, printing spread from Mainz to Venice, Paris and London, and the price of "
    "books fell sharply. Describe, in several detailed paragraphs, how this change affected "
    "science, religion, politics and everyday life in Europe:"
)


DEFAULT_BENCH_TOKENS = 64


class RuntimeUnavailableError(EcsModelsError):
    """The requested runtime is not installed or cannot run here."""


class RuntimeLoadError(EcsModelsError):
    """A runtime could not load or run a model."""


@dataclass(frozen=True, slots=True)
class RuntimeModel:
    """What a runtime needs to find a model: its name and, for in-process runtimes, its blob."""

    name: str
    path: Path | None = None
    digest: str | None = None  # the manifest digest, recorded with the figures


@dataclass(frozen=True, slots=True)
class BenchmarkSpec:
    """The fixed benchmark: same prompt, same token count, same seed, greedy sampling."""

    prompt: str = BENCH_PROMPT
    max_tokens: int = DEFAULT_BENCH_TOKENS
    seed: int = 1234
    context_length: int = 2048
    threads: int | None = None  # None: the runtime's own default


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    model: str
    runtime: str
    load_seconds: float
    prompt_tokens: int
    prompt_tokens_per_second: float | None
    generated_tokens: int
    generation_tokens_per_second: float | None
    time_to_first_token_seconds: float | None
    peak_memory_bytes: int | None
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_record(self, *, digest: str | None = None) -> PerformanceRecord:
        return PerformanceRecord(
            model=self.model,
            kind="benchmark",
            runtime=self.runtime,
            digest=digest,
            load_seconds=self.load_seconds,
            prompt_tokens_per_second=self.prompt_tokens_per_second,
            generation_tokens_per_second=self.generation_tokens_per_second,
            time_to_first_token_seconds=self.time_to_first_token_seconds,
            peak_memory_bytes=self.peak_memory_bytes,
            machine=machine_summary(),
        )


class Runtime(Protocol):
    """What the Performance set and the `bench` command need from a runtime."""

    name: str

    def benchmark(self, model: RuntimeModel, spec: BenchmarkSpec) -> BenchmarkResult: ...


def runtime_model(
    store: ModelStore, name: str, *, default_host: str = DEFAULT_HOST
) -> RuntimeModel:
    """An installed model's GGUF blob, which in-process runtimes load straight from the store."""
    model = store.resolve(name, default_host=default_host)
    layer = model.manifest.layer_of_kind("model")
    if layer is None:
        raise RuntimeLoadError(f"{model.display} has no GGUF model layer a runtime can load.")
    return RuntimeModel(model.display, store.blob_path(layer.digest), model.digest)


class PeakRss:
    """Samples this process's resident memory on a thread; `peak` is the highest reading."""

    def __init__(self, interval: float = 0.01) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = int(self._process.memory_info().rss)
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, int(self._process.memory_info().rss))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, int(self._process.memory_info().rss))


def llama_cpp_unavailable_reason() -> str | None:
    """None when llama-cpp-python imports; otherwise why the in-process runtime cannot run."""
    try:
        importlib.import_module("llama_cpp")
    except ImportError as exc:
        return f"llama-cpp-python is not installed ({exc}); install ecs-models[runtime]"
    return None


@dataclass(slots=True)
class LoadedLlama:
    """A model loaded in this process by llama-cpp-python."""

    model: RuntimeModel
    handle: Any  # llama_cpp.Llama
    load_seconds: float


class LlamaCppRuntime:
    """llama.cpp in this process through llama-cpp-python, loading GGUF blobs from the store."""

    name = "llama.cpp"

    def __init__(self, *, quiet: bool = False) -> None:
        reason = llama_cpp_unavailable_reason()
        if reason is not None:
            raise RuntimeUnavailableError(reason[0].upper() + reason[1:] + ".")
        # llama.cpp logs a few lines to stderr even with verbose=False; the command line hides
        # them while loading. Not the default: it redirects the whole process's stdout/stderr.
        self.quiet = quiet

    def load(self, model: RuntimeModel, spec: BenchmarkSpec | None = None) -> LoadedLlama:
        llama_cpp: Any = importlib.import_module("llama_cpp")
        spec = spec or BenchmarkSpec()
        if model.path is None or not model.path.is_file():
            raise RuntimeLoadError(f"The GGUF blob of {model.name} is missing from the store.")
        options: dict[str, Any] = {"n_ctx": spec.context_length, "seed": spec.seed}
        if spec.threads is not None:
            options["n_threads"] = spec.threads
        started = time.perf_counter()
        try:
            with self._silenced():
                handle = llama_cpp.Llama(model_path=str(model.path), verbose=False, **options)
        except (ValueError, RuntimeError, OSError) as exc:
            raise RuntimeLoadError(f"llama.cpp could not load {model.name}: {exc}.") from exc
        return LoadedLlama(model, handle, time.perf_counter() - started)

    def _silenced(self) -> contextlib.AbstractContextManager[Any]:
        if not self.quiet:
            return contextlib.nullcontext()
        try:
            utils: Any = importlib.import_module("llama_cpp._utils")
            return cast(contextlib.AbstractContextManager[Any], utils.suppress_stdout_stderr())
        except (ImportError, AttributeError):
            return contextlib.nullcontext()

    def unload(self, loaded: LoadedLlama) -> None:
        close = getattr(loaded.handle, "close", None)
        if close is not None:
            close()
        loaded.handle = None

    def generate(self, loaded: LoadedLlama, spec: BenchmarkSpec) -> BenchmarkResult:
        """Run the fixed prompt and time it: TTFT, prompt and generation tokens per second."""
        llm = loaded.handle
        prompt = llm.tokenize(spec.prompt.encode("utf-8"))
        prompt_tokens = len(prompt)
        llm.set_seed(spec.seed)
        started = time.perf_counter()
        stamps: list[float] = []
        tokens: list[int] = []
        # generate() is llama-cpp-python's own token loop (what Llama(...) calls run on); it does
        # not stop at end-of-text, so every run does exactly max_tokens steps.
        for token in llm.generate(prompt, temp=0.0, top_k=1, reset=True):
            stamps.append(time.perf_counter())
            tokens.append(int(token))
            if len(tokens) >= spec.max_tokens:
                break
        if not stamps:
            raise RuntimeLoadError(f"{loaded.model.name} produced no tokens.")
        pieces = [llm.detokenize(tokens).decode("utf-8", errors="replace")]
        ttft = stamps[0] - started
        generated = len(stamps)
        decode_seconds = stamps[-1] - stamps[0]
        return BenchmarkResult(
            model=loaded.model.name,
            runtime=self.name,
            load_seconds=loaded.load_seconds,
            prompt_tokens=prompt_tokens,
            # The first token costs the prompt's evaluation plus one sampling step.
            prompt_tokens_per_second=prompt_tokens / ttft if ttft > 0 else None,
            generated_tokens=generated,
            generation_tokens_per_second=(generated - 1) / decode_seconds
            if decode_seconds > 0
            else None,
            time_to_first_token_seconds=ttft,
            peak_memory_bytes=None,
            text="".join(pieces),
        )

    def benchmark(self, model: RuntimeModel, spec: BenchmarkSpec) -> BenchmarkResult:
        """Load, run the fixed benchmark, unload; peak RSS covers the whole run."""
        with PeakRss() as rss:
            loaded = self.load(model, spec)
            try:
                result = self.generate(loaded, spec)
            finally:
                self.unload(loaded)
        return BenchmarkResult(**{**result.to_dict(), "peak_memory_bytes": rss.peak})

    def smoke(self, model: RuntimeModel, *, tokens: int = 4) -> str:
        """Does it really produce tokens? A few greedy tokens; RuntimeLoadError when none come."""
        spec = BenchmarkSpec(
            prompt="The capital of France is", max_tokens=tokens, context_length=256
        )
        loaded = self.load(model, spec)
        try:
            return self.generate(loaded, spec).text
        finally:
            self.unload(loaded)
