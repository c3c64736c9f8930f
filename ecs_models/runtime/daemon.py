"""Client of a running Ollama daemon at $OLLAMA_HOST: ps, load, unload and a benchmark."""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.registry.tls import lazy_tls_client
from ecs_models.runtime.runtimes import BenchmarkResult, BenchmarkSpec, RuntimeModel

DEFAULT_PORT = 11434


class DaemonError(EcsModelsError):
    """The Ollama daemon answered with an error."""


class DaemonUnavailableError(DaemonError):
    """No Ollama daemon answers at the configured address."""


def daemon_url(environ: Mapping[str, str] | None = None) -> str:
    """Base URL from $OLLAMA_HOST as Ollama's envconfig.Host reads it (default 127.0.0.1:11434)."""
    env = os.environ if environ is None else environ
    text = env.get("OLLAMA_HOST", "").strip().strip("\"'").strip()
    scheme, sep, hostport = text.partition("://")
    port = str(DEFAULT_PORT)
    if not sep:
        scheme, hostport = "http", text
    elif scheme == "http":
        port = "80"
    elif scheme == "https":
        port = "443"
    hostport = hostport.split("/", 1)[0]
    host, has_port, given_port = hostport.rpartition(":")
    if has_port and (not host.count(":") or host.endswith("]")) and given_port.isdigit():
        host = host or "127.0.0.1"
        port = given_port
    else:
        host = hostport or "127.0.0.1"
    bare = host.strip("[]")
    try:
        if ipaddress.ip_address(bare).version == 6:
            host = f"[{bare}]"
    except ValueError:
        pass
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One entry of /api/ps: a model the daemon holds in memory."""

    name: str
    size: int
    size_vram: int
    expires_at: str | None
    context_length: int | None
    digest: str | None

    @property
    def size_ram(self) -> int:
        return max(0, self.size - self.size_vram)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "size_ram": self.size_ram}


class OllamaDaemon:
    """The daemon as a runtime: every call is one HTTP request; errors are one sentence."""

    name = "ollama"

    def __init__(self, base_url: str | None = None, *, timeout: float = 600.0) -> None:
        self.base_url = (base_url or daemon_url()).rstrip("/")
        self._http = lazy_tls_client(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=3.0), trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OllamaDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        return self._json(response, body.get("model"))

    def _unavailable(self, exc: Exception) -> DaemonUnavailableError:
        return DaemonUnavailableError(
            f"No Ollama daemon answers at {self.base_url} ({exc.__class__.__name__}); start one "
            "with `ollama serve` or point OLLAMA_HOST at it."
        )

    def _json(self, response: httpx.Response, model: object = None) -> dict[str, Any]:
        try:
            doc = response.json()
        except ValueError:
            doc = {}
        message = doc.get("error") if isinstance(doc, dict) else None
        if response.status_code == 404 and model:
            raise ModelNotFoundError(f"The Ollama daemon does not have model {model}.")
        if response.status_code >= 400:
            raise DaemonError(
                f"The Ollama daemon answered HTTP {response.status_code}: {message or 'no detail'}."
            )
        if not isinstance(doc, dict):
            raise DaemonError("The Ollama daemon sent an answer that is not a JSON object.")
        return doc

    def version(self) -> str:
        try:
            response = self._http.get("/api/version")
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        return str(self._json(response).get("version", ""))

    def ps(self) -> list[LoadedModel]:
        try:
            response = self._http.get("/api/ps")
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        models = self._json(response).get("models") or []
        return [
            LoadedModel(
                name=str(m.get("name") or m.get("model") or ""),
                size=int(m.get("size") or 0),
                size_vram=int(m.get("size_vram") or 0),
                expires_at=m.get("expires_at"),
                context_length=m.get("context_length"),
                digest=m.get("digest"),
            )
            for m in models
            if isinstance(m, dict)
        ]

    def load(self, model: str, *, keep_alive: str | int | None = None) -> float:
        """Load a model (an empty prompt); returns the daemon's load time in seconds."""
        body: dict[str, Any] = {"model": model, "prompt": "", "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        doc = self._post("/api/generate", body)
        return float(doc.get("load_duration") or 0) / 1e9

    def unload(self, model: str) -> None:
        """Unload now: an empty prompt with keep_alive 0."""
        self._post(
            "/api/generate", {"model": model, "prompt": "", "keep_alive": 0, "stream": False}
        )

    def benchmark(self, model: RuntimeModel, spec: BenchmarkSpec) -> BenchmarkResult:
        """The fixed benchmark through /api/generate, from the daemon's nanosecond metrics."""
        self.unload(model.name)  # measure a cold load, as the in-process runtime does
        body = {
            "model": model.name,
            "prompt": spec.prompt,
            "raw": True,
            "stream": True,
            "options": {
                "seed": spec.seed,
                "temperature": 0,
                "num_predict": spec.max_tokens,
                "num_ctx": spec.context_length,
            },
        }
        started = time.perf_counter()
        first: float | None = None
        final: dict[str, Any] = {}
        text: list[str] = []
        try:
            with self._http.stream("POST", "/api/generate", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._json(response, model.name)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    chunk = json.loads(line)
                    if chunk.get("error"):
                        raise DaemonError(f"The Ollama daemon failed: {chunk['error']}.")
                    if chunk.get("response"):
                        first = first or time.perf_counter()
                        text.append(chunk["response"])
                    if chunk.get("done"):
                        final = chunk
        except httpx.TransportError as exc:
            raise self._unavailable(exc) from exc
        loaded = {m.name: m for m in self.ps()}.get(model.name)
        load_s = float(final.get("load_duration") or 0) / 1e9
        prompt_n = int(final.get("prompt_eval_count") or 0)
        prompt_s = float(final.get("prompt_eval_duration") or 0) / 1e9
        gen_n = int(final.get("eval_count") or 0)
        gen_s = float(final.get("eval_duration") or 0) / 1e9
        return BenchmarkResult(
            model=model.name,
            runtime=self.name,
            load_seconds=load_s,
            prompt_tokens=prompt_n,
            prompt_tokens_per_second=prompt_n / prompt_s if prompt_s else None,
            generated_tokens=gen_n,
            generation_tokens_per_second=gen_n / gen_s if gen_s else None,
            # From the request to the first token, minus the cold load the request included.
            time_to_first_token_seconds=(first - started - load_s) if first else None,
            peak_memory_bytes=loaded.size if loaded else None,
            text="".join(text),
        )
