"""Samples of the machine's resources (disk, RAM, swap, CPU, network, NVIDIA GPUs) via psutil."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from cachetools import TTLCache

from ecs_models.gguf.memory import GpuMemory, MachineMemory, nvidia_gpus

# The Performance set asks every SAMPLE_INTERVAL_S (2 Hz); a TTL a little shorter makes each
# of its requests a real reading, while any other caller gets the cached one.
SAMPLE_INTERVAL_S = 0.5
SAMPLE_TTL_S = 0.45
# NVML init + queries cost milliseconds and GPU memory moves slowly: read it less often.
GPU_TTL_S = 2.0


@dataclass(frozen=True, slots=True)
class SystemSample:
    """One reading of the machine; the status line and the monitor's gauges show it."""

    disk_free: int
    disk_total: int
    ram_available: int
    ram_total: int
    cpu_percent: float
    sampled_at: float
    swap_total: int = 0
    swap_used: int = 0
    # Bytes received per second by every interface since the previous sample (None: first one).
    net_receive_bytes_per_second: float | None = None
    gpus: tuple[GpuMemory, ...] = ()

    @property
    def ram_used_fraction(self) -> float:
        return 1.0 - self.ram_available / self.ram_total if self.ram_total else 0.0

    @property
    def disk_used_fraction(self) -> float:
        return 1.0 - self.disk_free / self.disk_total if self.disk_total else 0.0

    def machine_memory(self) -> MachineMemory:
        """The memory part, as fit verdicts take it (no second psutil or NVML reading)."""
        return MachineMemory(
            ram_total=self.ram_total,
            ram_available=self.ram_available,
            swap_total=self.swap_total,
            swap_free=max(0, self.swap_total - self.swap_used),
            gpus=self.gpus,
        )


def _existing_ancestor(path: Path) -> Path:
    # A models directory that does not exist yet still lives on some filesystem: measure that.
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(os.sep)


def sample_system(models_dir: str | os.PathLike[str]) -> SystemSample:
    """Read disk, memory, swap and CPU figures; a statvfs and a few /proc reads, so off-frame."""
    disk = psutil.disk_usage(str(_existing_ancestor(Path(models_dir))))
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    # interval=None compares with the previous call instead of sleeping.
    cpu = psutil.cpu_percent(interval=None)
    return SystemSample(
        disk_free=disk.free,
        disk_total=disk.total,
        ram_available=memory.available,
        ram_total=memory.total,
        cpu_percent=cpu,
        sampled_at=time.monotonic(),
        swap_total=int(swap.total),
        swap_used=int(swap.used),
    )


class SystemSampler:
    """Samples for the monitor: network rates from counter deltas, GPUs when NVML finds one.

    Readings live in a TTLCache, so asking more often than SAMPLE_TTL_S returns the cached
    sample instead of reading /proc again; thread-safe, meant to be called on a worker.
    """

    def __init__(
        self,
        models_dir: str | os.PathLike[str],
        *,
        ttl: float = SAMPLE_TTL_S,
        gpu_ttl: float = GPU_TTL_S,
    ) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()
        self._samples: TTLCache[str, SystemSample] = TTLCache(maxsize=1, ttl=ttl)
        self._gpus: TTLCache[str, tuple[GpuMemory, ...]] = TTLCache(maxsize=1, ttl=gpu_ttl)
        self._last_net: tuple[float, int] | None = None

    def sample(self) -> SystemSample:
        with self._lock:
            cached = self._samples.get("sample")
            if cached is not None:
                return cached
            base = sample_system(self.models_dir)
            fresh = SystemSample(
                disk_free=base.disk_free,
                disk_total=base.disk_total,
                ram_available=base.ram_available,
                ram_total=base.ram_total,
                cpu_percent=base.cpu_percent,
                sampled_at=base.sampled_at,
                swap_total=base.swap_total,
                swap_used=base.swap_used,
                net_receive_bytes_per_second=self._net_rate(base.sampled_at),
                gpus=self._gpu_reading(),
            )
            self._samples["sample"] = fresh
            return fresh

    def _net_rate(self, now: float) -> float | None:
        counters = psutil.net_io_counters()
        received = int(counters.bytes_recv) if counters is not None else 0
        previous, self._last_net = self._last_net, (now, received)
        if previous is None or now <= previous[0]:
            return None
        # Counters wrap or reset when an interface goes away: never report a negative rate.
        return max(0, received - previous[1]) / (now - previous[0])

    def _gpu_reading(self) -> tuple[GpuMemory, ...]:
        gpus = self._gpus.get("gpus")
        if gpus is None:
            gpus = nvidia_gpus()
            self._gpus["gpus"] = gpus
        return gpus
