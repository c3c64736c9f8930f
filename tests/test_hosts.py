"""Several Ollama hosts: the settings list for real; daemon calls only when a daemon answers."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import httpx
import pytest

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.runtime.daemon import DaemonUnavailableError, daemon_url
from ecs_models.runtime.hosts import (
    HostList,
    OllamaHost,
    host_status,
    normalize_host_url,
    survey_hosts,
)
from ecs_models.transfer.progress import PullProgress, PullState


def closed_port() -> int:
    """A loopback port nothing listens on (bound a moment ago, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def daemon_answers() -> bool:
    try:
        return httpx.get(daemon_url() + "/api/version", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


needs_daemon = pytest.mark.skipif(
    not daemon_answers(),
    reason=f"no Ollama daemon answers at {daemon_url()} ($OLLAMA_HOST); start `ollama serve`",
)


def test_without_a_file_the_list_is_the_ollama_host_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3:4567")
    assert HostList(tmp_path / "hosts.json").load() == ["http://10.1.2.3:4567"]


def test_add_and_remove_keep_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "config" / "hosts.json"
    hosts = HostList(path)
    hosts.save([])

    assert hosts.add("gpu-box") == ["http://gpu-box:11434"]
    assert hosts.add("https://ollama.example.com") == [
        "http://gpu-box:11434",
        "https://ollama.example.com:443",
    ]
    assert hosts.add("http://gpu-box:11434") == hosts.load()  # no duplicate
    assert json.loads(path.read_text()) == [
        "http://gpu-box:11434",
        "https://ollama.example.com:443",
    ]
    assert hosts.remove("gpu-box:11434") == ["https://ollama.example.com:443"]
    assert HostList(path).load() == ["https://ollama.example.com:443"]
    assert [p.name for p in path.parent.iterdir()] == ["hosts.json"]


def test_bad_settings_and_addresses_are_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "hosts.json"
    path.write_text("{not json")
    with pytest.raises(EcsModelsError, match=r"hosts\.json is not valid JSON; it should be a list"):
        HostList(path).load()
    path.write_text('{"hosts": 1}')
    with pytest.raises(EcsModelsError, match="should be a JSON list of host addresses"):
        HostList(path).load()
    with pytest.raises(EcsModelsError, match="not an http or https address"):
        normalize_host_url("ftp://box")
    with pytest.raises(EcsModelsError, match="not an Ollama host address"):
        normalize_host_url("two words")
    path.write_text("[]")
    with pytest.raises(EcsModelsError, match=r"^http://nowhere:11434 is not in the hosts list"):
        HostList(path).remove("nowhere")


def test_an_unreachable_host_says_so_in_one_sentence() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    expected = (
        f"No Ollama daemon answers at {url} (ConnectError); start one with `ollama serve` "
        "or point OLLAMA_HOST at it."
    )

    (status,) = survey_hosts([url], timeout=2.0)

    assert not status.reachable
    assert status.error == expected
    assert status.installed == [] and status.loaded == []
    # A host on this machine still shows this machine's free memory.
    assert status.free_ram is not None and status.free_ram > 0
    assert status.to_dict()["reachable"] is False
    with OllamaHost(url, timeout=2.0) as host:
        with pytest.raises(DaemonUnavailableError) as pulled:
            host.pull("llama3.2", progress := PullProgress("llama3.2"))
        assert str(pulled.value) == expected
        assert progress.snapshot().state is PullState.FAILED
        with pytest.raises(DaemonUnavailableError, match="No Ollama daemon answers"):
            host.delete("llama3.2")


def test_a_remote_host_reports_no_memory_we_cannot_measure() -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed, so the connection fails without a daemon.
    status = host_status("http://192.0.2.1:11434", timeout=0.5)
    assert not status.reachable
    assert status.free_ram is None and status.free_vram is None


@needs_daemon
def test_the_local_daemon_lists_its_models() -> None:
    status = host_status(daemon_url())
    assert status.reachable, status.error
    assert status.version
    assert all(m.name and m.digest for m in status.installed)


@needs_daemon
def test_deleting_a_model_the_daemon_lacks_is_one_sentence() -> None:
    name = f"ecs-models-absent-{os.getpid()}:never"
    with OllamaHost(daemon_url()) as host, pytest.raises(ModelNotFoundError, match="does not have"):
        host.delete(name)


@needs_daemon
def test_pulling_an_unknown_model_on_the_daemon_fails_in_one_sentence() -> None:
    progress = PullProgress("x")
    with OllamaHost(daemon_url()) as host, pytest.raises(EcsModelsError, match="could not pull"):
        host.pull(f"ecs-models-absent-{os.getpid()}:never", progress)
    assert progress.snapshot().state is PullState.FAILED
