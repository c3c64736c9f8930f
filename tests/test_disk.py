"""Disk levels and install admission on a real small tmpfs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lifecycle_support import pull
from support.faults import SmallFilesystemFactory, fill_filesystem
from support.model_builder import MIB, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.config import ResourceLimits
from ecs_models.errors import InsufficientSpaceError
from ecs_models.storage.archive import export_model, import_archive
from ecs_models.storage.disk import (
    DiskLevel,
    DiskLimits,
    DiskSampler,
    check_install_fits,
    disk_status,
)
from ecs_models.store.model_store import ModelStore

SIZE = 32 * MIB


def test_levels_follow_the_thresholds_as_the_disk_fills(small_fs: SmallFilesystemFactory) -> None:
    store = ModelStore(small_fs(SIZE) / "models")
    limits = DiskLimits(warn_free=16 * MIB, critical_free=8 * MIB)

    status = disk_status(store, limits)
    assert status.total == SIZE and status.level is DiskLevel.OK
    assert status.free + status.used <= status.total

    fill_filesystem(store.root, leave_free=12 * MIB)
    assert disk_status(store, limits).level is DiskLevel.WARN
    fill_filesystem(store.root, leave_free=4 * MIB)
    status = disk_status(store, limits)
    assert status.level is DiskLevel.CRITICAL and status.free < 8 * MIB


def test_install_crossing_the_critical_floor_is_refused_with_both_numbers(
    small_fs: SmallFilesystemFactory,
) -> None:
    store = ModelStore(small_fs(SIZE) / "models")
    limits = DiskLimits(warn_free=8 * MIB, critical_free=4 * MIB)
    free = disk_status(store, limits).free

    assert check_install_fits(store, free - 5 * MIB, limits).free == free
    with pytest.raises(InsufficientSpaceError) as refused:
        check_install_fits(store, free - 3 * MIB, limits)
    message = str(refused.value)
    assert f"({free - 3 * MIB} bytes)" in message and f"({free} bytes)" in message
    assert refused.value.available == free


def test_resource_limits_min_free_disk_is_the_critical_floor(tmp_path: Path) -> None:
    limits = DiskLimits.from_resource_limits(ResourceLimits(min_free_disk=2 << 30))
    assert limits.critical_free == 2 << 30 and limits.warn_free > limits.critical_free
    status = disk_status(tmp_path, ResourceLimits(min_free_disk=1 << 60))
    assert status.level is DiskLevel.CRITICAL


def test_sampler_reads_the_disk_only_once_per_interval(small_fs: SmallFilesystemFactory) -> None:
    root = small_fs(SIZE)
    sampler = DiskSampler(root, DiskLimits(warn_free=1 * MIB, critical_free=0), interval_s=60)
    first = sampler.sample()
    (root / "ballast").write_bytes(os.urandom(4 * MIB))
    assert sampler.sample() is first  # within the interval: no system call, same reading
    later = sampler.sample(now=first.sampled_at + 61)
    assert later.free <= first.free - 4 * MIB


def test_import_that_would_cross_the_floor_writes_nothing(
    registry: RegistryServer,
    small_fs: SmallFilesystemFactory,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    pushed = push_small_model(registry, unique_repo, "latest", gguf_size=6 * MIB, seed=51)
    source = ModelStore(tmp_path / "source")
    pull(source, pushed.name)
    archive = tmp_path / "model.tar"
    export_model(source, pushed.name, archive)
    target = ModelStore(small_fs(SIZE) / "models")
    free = disk_status(target).free

    with pytest.raises(InsufficientSpaceError, match="critical"):
        import_archive(target, archive, limits=DiskLimits(free - 1 * MIB, free - 2 * MIB))

    assert list(target.blobs_dir.iterdir()) == []
    assert list(target.manifests_dir.iterdir()) == []
    assert not list(target.state_dir.glob("import-*"))
