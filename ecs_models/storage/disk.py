"""Free and used space of the models filesystem, warn/critical levels, and install admission."""

from __future__ import annotations

import enum
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ecs_models.errors import InsufficientSpaceError
from ecs_models.formatting import human_bytes
from ecs_models.store.model_store import ModelStore

GIB = 1 << 30


class DiskLevel(enum.Enum):
    OK = "ok"
    WARN = "warn"
    CRITICAL = "critical"


class HasMinFreeDisk(Protocol):
    """The part of config.ResourceLimits this module reads (duck-typed: no UI imports)."""

    @property
    def min_free_disk(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DiskLimits:
    """Free-space floors: below `warn_free` the gauge warns, below `critical_free` installs stop."""

    warn_free: int = 5 * GIB
    critical_free: int = 1 * GIB

    def __post_init__(self) -> None:
        if self.critical_free < 0 or self.warn_free < self.critical_free:
            raise ValueError("need 0 <= critical_free <= warn_free")

    @classmethod
    def from_resource_limits(cls, limits: HasMinFreeDisk) -> DiskLimits:
        """ResourceLimits.min_free_disk is the critical floor; the warn level is its
        warn_free_disk when set (never below the floor), else twice the floor (>= +4 GiB)."""
        critical = max(0, int(limits.min_free_disk))
        warn = getattr(limits, "warn_free_disk", None)
        if warn is None:
            warn = max(2 * critical, critical + 4 * GIB)
        return cls(warn_free=max(int(warn), critical), critical_free=critical)


def as_disk_limits(limits: DiskLimits | HasMinFreeDisk | None) -> DiskLimits:
    if limits is None:
        return DiskLimits()
    if isinstance(limits, DiskLimits):
        return limits
    return DiskLimits.from_resource_limits(limits)


@dataclass(frozen=True, slots=True)
class DiskStatus:
    """One reading of the filesystem holding the models directory."""

    path: Path
    total: int
    used: int
    free: int
    level: DiskLevel
    limits: DiskLimits
    sampled_at: float  # time.monotonic()

    @property
    def used_fraction(self) -> float:
        return self.used / self.total if self.total else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "total": self.total,
            "used": self.used,
            "free": self.free,
            "level": self.level.value,
            "warn_free": self.limits.warn_free,
            "critical_free": self.limits.critical_free,
        }


def _measured_path(path: Path) -> Path:
    # A models directory not created yet still lives on some filesystem: measure that one.
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(os.sep)


def level_for(free: int, limits: DiskLimits) -> DiskLevel:
    if free < limits.critical_free:
        return DiskLevel.CRITICAL
    if free < limits.warn_free:
        return DiskLevel.WARN
    return DiskLevel.OK


def disk_status(
    target: ModelStore | str | os.PathLike[str],
    limits: DiskLimits | HasMinFreeDisk | None = None,
) -> DiskStatus:
    """statvfs of the models filesystem (one system call: cheap, but keep it off the frame)."""
    resolved = as_disk_limits(limits)
    root = target.root if isinstance(target, ModelStore) else Path(target)
    path = _measured_path(root)
    usage = shutil.disk_usage(path)
    return DiskStatus(
        path=path,
        total=usage.total,
        used=usage.used,
        free=usage.free,
        level=level_for(usage.free, resolved),
        limits=resolved,
        sampled_at=time.monotonic(),
    )


def check_install_fits(
    store: ModelStore | str | os.PathLike[str],
    bytes_needed: int,
    limits: DiskLimits | HasMinFreeDisk | None = None,
) -> DiskStatus:
    """Refuse (InsufficientSpaceError) an install that would leave less than the critical floor.

    Returns the status read, so a caller can still warn when the install lands in WARN.
    """
    status = disk_status(store, limits)
    floor = status.limits.critical_free
    after = status.free - max(0, bytes_needed)
    if after < floor:
        raise InsufficientSpaceError(
            f"Not installing: it needs {human_bytes(bytes_needed)} ({bytes_needed} bytes) but "
            f"{status.path} has {human_bytes(status.free)} ({status.free} bytes) free, which "
            f"would leave less than the critical {human_bytes(floor)} floor.",
            needed=bytes_needed + floor,
            available=status.free,
        )
    return status


class DiskSampler:
    """A disk reading at most every `interval_s`: call `sample()` every frame, it rarely stats.

    Thread-safe, so a worker may refresh it while the frame reads `latest`.
    """

    def __init__(
        self,
        target: ModelStore | str | os.PathLike[str],
        limits: DiskLimits | HasMinFreeDisk | None = None,
        *,
        interval_s: float = 5.0,
    ) -> None:
        self._target = target
        self._limits = as_disk_limits(limits)
        self._interval = interval_s
        self._lock = threading.Lock()
        self._latest: DiskStatus | None = None

    @property
    def latest(self) -> DiskStatus | None:
        return self._latest

    def set_limits(self, limits: DiskLimits | HasMinFreeDisk) -> None:
        with self._lock:
            self._limits = as_disk_limits(limits)
            self._latest = None  # the level depends on the limits: re-read next time

    def sample(self, *, now: float | None = None, force: bool = False) -> DiskStatus:
        moment = time.monotonic() if now is None else now
        with self._lock:
            latest = self._latest
            if not force and latest is not None and moment - latest.sampled_at < self._interval:
                return latest
            limits = self._limits
        status = disk_status(self._target, limits)
        with self._lock:
            self._latest = status
        return status
