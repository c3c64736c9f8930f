"""Samples of the machine's resources (disk free for the models directory, RAM, CPU) via psutil."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True, slots=True)
class SystemSample:
    """One reading of the machine; the status line shows it."""

    disk_free: int
    disk_total: int
    ram_available: int
    ram_total: int
    cpu_percent: float
    sampled_at: float


def _existing_ancestor(path: Path) -> Path:
    # A models directory that does not exist yet still lives on some filesystem: measure that.
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(os.sep)


def sample_system(models_dir: str | os.PathLike[str]) -> SystemSample:
    """Read disk, memory and CPU figures; a statvfs and two /proc reads, so run it off-frame."""
    disk = psutil.disk_usage(str(_existing_ancestor(Path(models_dir))))
    memory = psutil.virtual_memory()
    # interval=None compares with the previous call instead of sleeping.
    cpu = psutil.cpu_percent(interval=None)
    return SystemSample(
        disk_free=disk.free,
        disk_total=disk.total,
        ram_available=memory.available,
        ram_total=memory.total,
        cpu_percent=cpu,
        sampled_at=time.monotonic(),
    )
