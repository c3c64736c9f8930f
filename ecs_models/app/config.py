"""Settings and model bookkeeping the ECS keeps as resources: LocalModelConfig and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psutil

from ecs_models.runtime.model_cache import ModelCache
from ecs_models.transfer.streamcount import DEFAULT_STREAMS

if TYPE_CHECKING:
    from ecs_models.gguf.reader import GGUFInfo


def default_model_cache_budget() -> int:
    """Half of this machine's RAM: room for a model or two without crowding everything else."""
    return int(psutil.virtual_memory().total) // 2


@dataclass(slots=True)
class ResourceLimits:
    """What the manager may use: download slots, bandwidth, disk headroom, cache memory."""

    max_concurrent_downloads: int = 2
    bandwidth_cap: float | None = None  # bytes/s shared by every running pull; None = unlimited
    # Most connections one download opens at once (`pull --streams`); fewer run while more
    # would not be faster.
    download_streams: int = DEFAULT_STREAMS
    min_free_disk: int = 1 << 30
    # The disk gauge warns below this much free space; None lets disk.DiskLimits pick it.
    warn_free_disk: int | None = None
    # Bytes the model cache may hold: manifests, and the estimated memory of loaded models.
    model_cache_budget: int = field(default_factory=default_model_cache_budget)

    def per_pull_rate(self, running: int) -> float | None:
        """The cap each pull gets when `running` pulls share the bandwidth cap."""
        if self.bandwidth_cap is None:
            return None
        return self.bandwidth_cap / max(1, running)


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    """What the list and the details area show about one installed model."""

    name: str  # fully qualified host/namespace/model:tag, the key everywhere
    display: str  # Ollama's short form
    digest: str
    model_id: str
    size: int
    modified: datetime
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    format: str | None = None
    layer_count: int = 0
    last_used: datetime | None = None
    # (digest, size) of every blob it needs: models share blobs, so bytes on disk are counted
    # once per digest (the status bar), while `size` is this model's own total.
    blobs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelData:
    """What the model cache holds for a model: its manifest, parsed facts and, once loaded, the
    runtime handle; a loaded model counts its estimated memory against the LRU budget.
    """

    name: str
    manifest: bytes
    config: bytes = b""
    metadata: ModelMetadata | None = None
    gguf: GGUFInfo | None = None
    runtime: Any = None  # a loaded model's handle (has unload()); None when not loaded
    estimated_bytes: int = 0  # the fit estimate of a loaded model (weights + KV + overhead)

    @property
    def nbytes(self) -> int:
        return len(self.manifest) + len(self.config)

    @property
    def loaded(self) -> bool:
        return self.runtime is not None

    @property
    def cache_bytes(self) -> int:
        """What this entry costs the budget: the loaded model's memory, else its bytes."""
        return max(self.estimated_bytes, self.nbytes) if self.loaded else self.nbytes


@dataclass(slots=True)
class PerformanceMetrics:
    """Measured figures for one model: transfers, and the runtime's load time and tokens/s."""

    download_bytes_per_second: float | None = None
    download_seconds: float | None = None
    verify_seconds: float | None = None
    verify_bytes_per_second: float | None = None
    load_seconds: float | None = None
    prompt_tokens_per_second: float | None = None
    generation_tokens_per_second: float | None = None
    time_to_first_token_seconds: float | None = None


def _model_data_size(data: ModelData) -> int:
    return max(1, data.cache_bytes)


def new_model_cache(budget: int) -> ModelCache[ModelData]:
    """An LRU cache whose size is counted in bytes, so the budget is a memory budget; evicting
    (or removing) a loaded model unloads it."""
    return ModelCache(maxsize=max(1, budget), getsizeof=_model_data_size)


@dataclass(slots=True)
class LocalModelConfig:
    """The manager's resource: installed models, cached model data, limits and measurements."""

    installed_models: dict[str, ModelMetadata] = field(default_factory=dict)
    resource_limits: ResourceLimits = field(default_factory=ResourceLimits)
    model_cache: ModelCache[ModelData] = field(init=False)
    performance_stats: dict[str, PerformanceMetrics] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.model_cache = new_model_cache(self.resource_limits.model_cache_budget)

    def stats_for(self, name: str) -> PerformanceMetrics:
        return self.performance_stats.setdefault(name, PerformanceMetrics())


@dataclass(frozen=True, slots=True)
class ManagerSettings:
    """Where models live and which registry short names resolve against."""

    models_dir: str
    default_host: str
    insecure: bool = False
