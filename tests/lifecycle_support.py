"""Helpers shared by the lifecycle tests (cleanup, health, du, disk, archive)."""

from __future__ import annotations

from pathlib import Path

from support.faults import CuttingProxy
from support.model_builder import MIB, PushedModel

from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.transfer.pull import PullOptions, pull_model

FAST = PullOptions(part_size_min=1 * MIB, retry_base_delay=0.05, retry_max_delay=0.5)


def via(proxy: CuttingProxy, pushed: PushedModel) -> str:
    """The pushed model's name, reached through the proxy instead of the registry."""
    return f"{proxy.host}/{pushed.repository}:{pushed.tag}"


def pull(store: ModelStore, name: str) -> InstalledModel:
    return pull_model(name, store, options=FAST)


def blob_names(store: ModelStore) -> set[str]:
    return {p.name for p in store.blobs_dir.iterdir()}


def manifest_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "manifests").rglob("*") if p.is_file())
