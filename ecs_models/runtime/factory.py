"""A runtime by the name a person types: llama.cpp in this process, or the Ollama daemon."""

from __future__ import annotations

from ecs_models.runtime.daemon import OllamaDaemon
from ecs_models.runtime.runtimes import LlamaCppRuntime, Runtime, RuntimeUnavailableError


def make_runtime(name: str, *, quiet: bool = False) -> Runtime:
    """ "llama.cpp" (in process) or "ollama" (the daemon at $OLLAMA_HOST)."""
    if name in ("llama.cpp", "llama-cpp", "llamacpp"):
        return LlamaCppRuntime(quiet=quiet)
    if name == "ollama":
        return OllamaDaemon()
    raise RuntimeUnavailableError(f"Unknown runtime {name!r}; use llama.cpp or ollama.")
