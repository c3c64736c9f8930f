"""Memory a model needs (weights + KV cache + overhead) and whether this machine has it now."""

from __future__ import annotations

import contextlib
import enum
import importlib
from dataclasses import asdict, dataclass
from typing import Any

import psutil

from ecs_models.errors import EcsModelsError
from ecs_models.formatting import human_bytes
from ecs_models.gguf.reader import GGUFInfo

# Bytes per cached K or V element: ggml block sizes (q8_0: 34 bytes per 32, q4_0: 18 per 32).
KV_TYPE_BYTES: dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
DEFAULT_CONTEXT = 4096  # Ollama's default num_ctx when neither the model nor the user sets one
BATCH = 512  # llama.cpp's and Ollama's default (micro)batch: sizes the compute buffers
RUNTIME_BASE = 64 << 20  # the runtime's own code, threads and small buffers
FITS_FRACTION = 0.8  # above this share of what is free, the machine starts to struggle


class Verdict(enum.StrEnum):
    FITS = "fits"
    TIGHT = "tight"
    TOO_LARGE = "too large"


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """What loading a model needs, in bytes, and the settings it was computed for.

    overhead = RUNTIME_BASE + compute buffers of one batch: 4 bytes x BATCH x (vocabulary +
    4 x embedding) for the logits and activations, the terms that dominate llama.cpp's buffer.
    """

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    context_length: int
    kv_type: str

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def describe(self) -> str:
        return (
            f"{human_bytes(self.total_bytes)} (weights {human_bytes(self.weights_bytes)} + KV cache "
            f"{human_bytes(self.kv_cache_bytes)} for {self.context_length} tokens as "
            f"{self.kv_type} + overhead {human_bytes(self.overhead_bytes)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_bytes": self.total_bytes}


@dataclass(frozen=True, slots=True)
class GpuMemory:
    index: int
    name: str
    total: int
    free: int
    utilization_percent: float | None = None


@dataclass(frozen=True, slots=True)
class MachineMemory:
    """RAM (and NVIDIA VRAM when nvidia-ml-py sees a GPU) as measured at one moment."""

    ram_total: int
    ram_available: int
    swap_total: int
    swap_free: int
    gpus: tuple[GpuMemory, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FitVerdict:
    verdict: Verdict
    device: str  # "RAM", "GPU 0 (name)", "RAM + GPU" or "budget"
    needed: int
    available: int
    reason: str  # one sentence for the user

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict)}


def kv_cache_bytes(info: GGUFInfo, context_length: int, kv_type: str = "f16") -> int:
    """Ollama's KV formula per layer: kv_heads x (key_length + value_length) x n_ctx x bytes.

    Layers that attend within a sliding window keep only window + one batch of positions
    (llama.cpp's SWA cache), so long contexts cost little on models like Gemma 3.
    """
    per_element = _kv_type_bytes(kv_type)
    key = info.key_length or 0
    value = info.value_length or 0
    sliding = info.sliding_window_layers
    swa_positions = min(context_length, (info.sliding_window or 0) + BATCH)
    elements = 0
    for layer, heads in enumerate(info.kv_heads_by_layer):
        uses_window = sliding is not None and layer < len(sliding) and sliding[layer]
        positions = swa_positions if uses_window else context_length
        elements += heads * (key + value) * positions
    return int(elements * per_element)


def estimate_memory(
    info: GGUFInfo,
    *,
    weights_bytes: int,
    context_length: int | None = None,
    kv_type: str = "f16",
) -> MemoryEstimate:
    """Weights (model blob + projectors, as given) + KV cache + overhead for one context size."""
    ctx = context_length or min(DEFAULT_CONTEXT, info.context_length or DEFAULT_CONTEXT)
    if ctx <= 0:
        raise EcsModelsError(f"The context length must be a positive number of tokens, not {ctx}.")
    if info.block_count is None:
        raise EcsModelsError(
            f"The GGUF header of this {info.architecture or 'unknown'} model does not give its "
            "layer count, so its KV cache cannot be estimated."
        )
    overhead = RUNTIME_BASE + 4 * BATCH * (
        (info.vocab_size or 0) + 4 * (info.embedding_length or 0)
    )
    return MemoryEstimate(
        weights_bytes=weights_bytes,
        kv_cache_bytes=kv_cache_bytes(info, ctx, kv_type),
        overhead_bytes=overhead,
        context_length=ctx,
        kv_type=kv_type,
    )


def _kv_type_bytes(kv_type: str) -> float:
    try:
        return KV_TYPE_BYTES[kv_type]
    except KeyError:
        raise EcsModelsError(
            f"Unknown KV cache type {kv_type!r}; use one of {', '.join(KV_TYPE_BYTES)}."
        ) from None


def measure_machine() -> MachineMemory:
    """RAM and swap from psutil now, plus NVIDIA GPUs when nvidia-ml-py finds any."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return MachineMemory(
        ram_total=int(memory.total),
        ram_available=int(memory.available),
        swap_total=int(swap.total),
        swap_free=int(swap.free),
        gpus=nvidia_gpus(),
    )


def nvidia_gpus() -> tuple[GpuMemory, ...]:
    """NVIDIA GPUs through nvidia-ml-py (optional); () without it, a driver or a GPU."""
    try:
        nvml: Any = importlib.import_module("pynvml")
    except ImportError:
        return ()
    try:
        nvml.nvmlInit()
    except Exception:  # NVMLError without a driver: no GPU to count
        return ()
    gpus: list[GpuMemory] = []
    try:
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            info = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            utilization: float | None = None
            with contextlib.suppress(Exception):
                utilization = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            gpus.append(
                GpuMemory(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    total=int(info.total),
                    free=int(info.free),
                    utilization_percent=utilization,
                )
            )
    except Exception:
        return tuple(gpus)
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()
    return tuple(gpus)


def judge_fit(
    estimate: MemoryEstimate, machine: MachineMemory, *, budget: int | None = None
) -> FitVerdict:
    """fits (needs at most 80 % of what is free), tight (at most all of it) or too large.

    A GPU that holds the whole model wins; otherwise RAM; RAM and VRAM together (a partial
    offload) can at best be tight. A `budget` (ResourceLimits) caps everything.
    """
    needed = estimate.total_bytes
    need_text = estimate.describe()
    if budget is not None and needed > budget:
        return FitVerdict(
            Verdict.TOO_LARGE,
            "budget",
            needed,
            budget,
            f"Needs about {need_text}, more than the model memory budget of {human_bytes(budget)}.",
        )
    candidates = [(f"GPU {g.index} ({g.name})", g.free, False) for g in machine.gpus]
    candidates.append(("RAM", machine.ram_available, False))
    if machine.gpus:
        best_gpu = max(g.free for g in machine.gpus)
        candidates.append(("RAM + GPU", machine.ram_available + best_gpu, True))
    order = {Verdict.FITS: 0, Verdict.TIGHT: 1, Verdict.TOO_LARGE: 2}
    best: tuple[Verdict, str, int] | None = None
    for device, free, partial in candidates:
        verdict = _classify(needed, free)
        if partial and verdict is Verdict.FITS:
            verdict = Verdict.TIGHT
        if best is None or order[verdict] < order[best[0]]:
            best = (verdict, device, free)
    assert best is not None
    verdict, device, free = best
    where = f"{human_bytes(free)} of {device} is free now"
    if verdict is Verdict.FITS:
        reason = f"Needs about {need_text}; {where}."
    elif verdict is Verdict.TIGHT:
        reason = (
            f"Needs about {need_text}, close to the {where.replace(' is free now', '')} free now; "
            "close other programs or use a shorter context or a q8_0/q4_0 KV cache."
        )
    else:
        reason = (
            f"Needs about {need_text} but only {where}; a smaller quantization, a shorter context "
            "or a q4_0 KV cache would help."
        )
    return FitVerdict(verdict, device, needed, free, reason)


def _classify(needed: int, free: int) -> Verdict:
    if needed <= free * FITS_FRACTION:
        return Verdict.FITS
    if needed <= free:
        return Verdict.TIGHT
    return Verdict.TOO_LARGE
