"""Several Ollama hosts side by side: the list in settings, their models and memory, pull, delete."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ecs_models.errors import EcsModelsError, ModelNotFoundError, PullCancelledError
from ecs_models.registry.client import is_loopback_host
from ecs_models.registry.credentials import config_home
from ecs_models.runtime.daemon import (
    DaemonError,
    DaemonUnavailableError,
    LoadedModel,
    OllamaDaemon,
    daemon_url,
)
from ecs_models.transfer.progress import PullProgress, PullState

HOSTS_FILE_NAME = "hosts.json"
STATUS_TIMEOUT_S = 5.0


def hosts_file() -> Path:
    """Where the list lives: beside credentials.json in ~/.config/ecs_models (XDG aware)."""
    return config_home() / HOSTS_FILE_NAME


def normalize_host_url(text: str) -> str:
    """`host`, `host:port` or a URL, as Ollama reads OLLAMA_HOST: http://host:port."""
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise EcsModelsError(f"{text!r} is not an Ollama host address such as 192.168.1.5:11434.")
    scheme = value.partition("://")[0] if "://" in value else "http"
    if scheme not in ("http", "https"):
        raise EcsModelsError(f"{text!r} is not an http or https address of an Ollama host.")
    return daemon_url({"OLLAMA_HOST": value})


class HostList:
    """The Ollama hosts the user manages: a JSON list of addresses.

    Without a file the list is the one daemon OLLAMA_HOST names, so a single-machine user
    sees their own daemon without configuring anything.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else hosts_file()

    def load(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [daemon_url()]
        except OSError as exc:
            raise EcsModelsError(f"Cannot read {self.path}: {exc.strerror or exc}.") from exc
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise EcsModelsError(
                f"{self.path} is not valid JSON; it should be a list of host addresses."
            ) from exc
        if not isinstance(doc, list) or not all(isinstance(x, str) for x in doc):
            raise EcsModelsError(f"{self.path} should be a JSON list of host addresses.")
        return list(dict.fromkeys(normalize_host_url(x) for x in doc))

    def save(self, hosts: Sequence[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(list(hosts), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, address: str) -> list[str]:
        url = normalize_host_url(address)
        hosts = self.load()
        if url not in hosts:
            hosts.append(url)
            self.save(hosts)
        return hosts

    def remove(self, address: str) -> list[str]:
        url = normalize_host_url(address)
        hosts = self.load()
        if url not in hosts:
            raise EcsModelsError(f"{url} is not in the hosts list {self.path}.")
        hosts.remove(url)
        self.save(hosts)
        return hosts


@dataclass(frozen=True, slots=True)
class HostModel:
    """One entry of a host's /api/tags."""

    name: str
    size: int
    digest: str
    modified_at: str


@dataclass(slots=True)
class HostStatus:
    """What one host says about itself, or the sentence saying why it did not answer."""

    url: str
    version: str | None = None
    installed: list[HostModel] = field(default_factory=list)
    loaded: list[LoadedModel] = field(default_factory=list)
    # Ollama's API does not report memory: only a host on this machine can be measured.
    free_ram: int | None = None
    free_vram: int | None = None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "reachable": self.reachable,
            "version": self.version,
            "installed": [asdict(m) for m in self.installed],
            "loaded": [m.to_dict() for m in self.loaded],
            "free_ram": self.free_ram,
            "free_vram": self.free_vram,
            "error": self.error,
        }


class OllamaHost(OllamaDaemon):
    """The daemon client plus what managing a host needs: /api/tags, /api/pull, /api/delete."""

    def __enter__(self) -> OllamaHost:
        return self

    def tags(self) -> list[HostModel]:
        try:
            response = self._http.get("/api/tags")
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        models = self._json(response).get("models") or []
        return [
            HostModel(
                name=str(m.get("name") or m.get("model") or ""),
                size=int(m.get("size") or 0),
                digest=str(m.get("digest") or ""),
                modified_at=str(m.get("modified_at") or ""),
            )
            for m in models
            if isinstance(m, dict)
        ]

    def delete(self, model: str) -> None:
        try:
            response = self._http.request("DELETE", "/api/delete", json={"model": model})
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        if response.status_code == 404:
            raise ModelNotFoundError(f"{self.base_url} does not have model {model}.")
        if response.status_code >= 400:
            self._json(response, model)

    def pull(
        self, model: str, progress: PullProgress, cancel: threading.Event | None = None
    ) -> None:
        """Pull on the host, feeding its /api/pull stream into `progress` (the same UI)."""
        feed = _PullFeed(progress)
        with progress.reporting(f"The pull of {model} on {self.base_url} failed"):
            try:
                with self._http.stream(
                    "POST", "/api/pull", json={"model": model, "stream": True}
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        self._json(response, model)
                    for line in response.iter_lines():
                        if cancel is not None and cancel.is_set():
                            # Ollama stops a pull whose client went away; its data stays.
                            raise PullCancelledError(
                                f"The pull of {model} on {self.base_url} was cancelled."
                            )
                        if line.strip():
                            feed.event(json.loads(line), model, self.base_url)
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from exc
            except EcsModelsError:
                raise  # already one sentence (some of ours are ValueErrors too)
            except ValueError as exc:
                raise DaemonError(
                    f"{self.base_url} sent a pull progress line that is not JSON."
                ) from exc
        if not feed.succeeded:
            error = DaemonError(f"The pull of {model} on {self.base_url} ended without success.")
            progress.fail(str(error))
            raise error


class _PullFeed:
    """Ollama's pull objects into PullProgress: layers appear as the stream names them."""

    def __init__(self, progress: PullProgress) -> None:
        self.progress = progress
        self.layers: dict[str, list[int]] = {}  # digest -> [total, completed]
        self.succeeded = False

    def event(self, doc: Any, model: str, host: str) -> None:
        if not isinstance(doc, dict):
            return
        if doc.get("error"):
            raise DaemonError(f"{host} could not pull {model}: {doc['error']}.")
        status = str(doc.get("status") or "")
        digest = doc.get("digest")
        if isinstance(digest, str) and digest:
            self._layer(digest, int(doc.get("total") or 0), int(doc.get("completed") or 0), status)
        elif status == "pulling manifest":
            self.progress.set_state(PullState.RESOLVING, status)
        elif status.startswith("verifying"):
            self.progress.set_state(PullState.VERIFYING, status)
        elif status.startswith("writing") or status.startswith("removing"):
            self.progress.set_state(PullState.WRITING, status)
        elif status == "success":
            self.succeeded = True
            self.progress.set_state(PullState.DONE, status)

    def _layer(self, digest: str, total: int, completed: int, status: str) -> None:
        known = self.layers.get(digest)
        if known is None or known[0] != total:
            self.layers[digest] = [total, 0]
            # PullProgress is declared with all layers at once: declare again, keeping counts.
            self.progress.set_layers([(d, "", t) for d, (t, _c) in self.layers.items()])
            for d, (_t, c) in self.layers.items():
                self.progress.layer_started(d, c)
            self.progress.set_state(PullState.DOWNLOADING)
            known = self.layers[digest]
        if completed > known[1]:
            self.progress.advance(digest, completed - known[1])
            known[1] = completed
        self.progress.emit_layer(digest, status or None)


def host_status(url: str, *, timeout: float = STATUS_TIMEOUT_S) -> HostStatus:
    """Version, installed and loaded models of one host; an unreachable host says why."""
    status = HostStatus(url=url)
    with OllamaHost(url, timeout=timeout) as host:
        try:
            status.version = host.version()
            status.installed = host.tags()
            status.loaded = host.ps()
        except EcsModelsError as exc:
            status.error = str(exc)
    if is_loopback_host(url.split("://", 1)[-1]):
        from ecs_models.gguf.memory import measure_machine  # psutil loads only when it is needed

        machine = measure_machine()
        status.free_ram = machine.ram_available
        status.free_vram = sum(g.free for g in machine.gpus) if machine.gpus else None
    return status


def survey_hosts(urls: Sequence[str], *, timeout: float = STATUS_TIMEOUT_S) -> list[HostStatus]:
    """Every host at once: a slow or dead host costs its timeout once, not once per host."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(urls)), thread_name_prefix="hosts") as pool:
        return list(pool.map(lambda u: host_status(u, timeout=timeout), urls))


__all__ = [
    "DaemonUnavailableError",
    "HostList",
    "HostModel",
    "HostStatus",
    "OllamaHost",
    "host_status",
    "hosts_file",
    "normalize_host_url",
    "survey_hosts",
]
