"""Every thread the app starts belongs to a pool in WorkerPools, and plugin.close() ends them all:
a host left behind after close (the Remote area's survey threads once were) keeps running."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from panel_harness import PanelHarness
from support.registry_server import RegistryServer

from ecs_models.app.workers import WorkerPools
from ecs_models.components.remote_state import RemoteState

CLOSED_HOST = "http://127.0.0.1:9"  # nothing listens on the discard port: refused at once


def _pool_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ecs-models-")]


def test_close_ends_every_pool_thread_including_host_surveys(
    models_dir: Path, registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    (config / "ecs_models").mkdir(parents=True)
    (config / "ecs_models" / "hosts.json").write_text(json.dumps([CLOSED_HOST]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    before = set(_pool_threads())

    harness = PanelHarness(models_dir, registry.host)
    try:
        harness.settle()
        harness.click_tab("Remote")
        state = harness.plugin.resources.get(RemoteState)
        harness.run_until(lambda: CLOSED_HOST in state.statuses, timeout=20)
        pools = harness.plugin.resources.get(WorkerPools)
        assert any(name.startswith("ecs-models-hosts") for name in _pool_threads())
    finally:
        harness.close()

    for pool in (pools.downloads, pools.chores, pools.long_jobs, pools.runtime, pools.surveys):
        with pytest.raises(RuntimeError):  # shut down: it takes no more work
            pool.submit(int)
    assert set(_pool_threads()) <= before
