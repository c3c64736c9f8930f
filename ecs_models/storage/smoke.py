"""The opt-in smoke generation of a health check: does each model's GGUF really produce tokens?"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ecs_models.errors import EcsModelsError, OperationCancelledError
from ecs_models.runtime.runtimes import LlamaCppRuntime, RuntimeModel, llama_cpp_unavailable_reason
from ecs_models.store.model_store import ModelStore

SMOKE_TOKENS = 4


def smoke_unavailable_reason() -> str | None:
    """None when a smoke generation can run here; otherwise one sentence saying why not."""
    reason = llama_cpp_unavailable_reason()
    return None if reason is None else f"No runtime is available: {reason}."


def smoke_generate(
    store: ModelStore,
    models: Iterable[tuple[str, str]],
    *,
    quiet: bool = False,
    cancel: threading.Event | None = None,
) -> dict[str, str | None]:
    """(display name, model layer digest) -> None when tokens came, else why not (one sentence).

    Call only when smoke_unavailable_reason() is None; models load one at a time and are
    unloaded before the next, so at most one model is in memory.
    """
    runtime = LlamaCppRuntime(quiet=quiet)
    results: dict[str, str | None] = {}
    for display, digest in models:
        if cancel is not None and cancel.is_set():
            raise OperationCancelledError("The health check was cancelled.")
        model = RuntimeModel(display, store.blob_path(digest))
        try:
            # smoke() raises RuntimeLoadError when no token comes; the text itself may be blank.
            runtime.smoke(model, tokens=SMOKE_TOKENS)
        except EcsModelsError as exc:  # RuntimeLoadError: a load error or no tokens
            results[display] = str(exc)
            continue
        except (ValueError, RuntimeError, OSError) as exc:  # llama.cpp failing mid-generation
            results[display] = f"llama.cpp failed while generating with {display}: {exc}."
            continue
        results[display] = None
    return results
