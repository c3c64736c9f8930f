"""Will a model fit this machine: for an installed one from its blob, else from its remote header."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.gguf.memory import (
    FitVerdict,
    MachineMemory,
    MemoryEstimate,
    estimate_memory,
    judge_fit,
    measure_machine,
)
from ecs_models.gguf.reader import GGUFError, GGUFInfo, read_gguf_info
from ecs_models.gguf.remote_header import fetch_remote_header, model_layer
from ecs_models.manifest import Layer, Manifest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore

_INFO_DIR = "gguf-info"
_cache: dict[tuple[str, bool], GGUFInfo] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class FitReport:
    """The answer to "will it fit": facts, estimate, verdict and where the facts came from."""

    model: str
    installed: bool
    info: GGUFInfo
    estimate: MemoryEstimate
    verdict: FitVerdict
    machine: MachineMemory
    model_blob_size: int
    header_bytes_fetched: int  # 0 for an installed model (read from the local blob)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "installed": self.installed,
            "verdict": str(self.verdict.verdict),
            "reason": self.verdict.reason,
            "fit": self.verdict.to_dict(),
            "estimate": self.estimate.to_dict(),
            "machine": self.machine.to_dict(),
            "gguf": self.info.to_dict(),
            "model_blob_size": self.model_blob_size,
            "header_bytes_fetched": self.header_bytes_fetched,
        }


def weights_bytes(manifest: Manifest, layer: Layer) -> int:
    """The model blob plus any projectors: what a runtime maps as weights."""
    return layer.size + sum(x.size for x in manifest.layers if x.kind == "projector")


def blob_gguf_info(store: ModelStore, layer: Layer, *, shape_only: bool = False) -> GGUFInfo:
    """GGUF facts of an installed blob, cached by digest in memory and (full reads) on disk.

    Blobs are content-addressed, so a digest's facts never change: the full read (which walks
    the tokenizer arrays, ~50 ms for a 262k vocabulary) happens once per store.
    """
    key = (layer.digest, shape_only)
    with _cache_lock:
        cached = _cache.get(key) or _cache.get((layer.digest, False))
    if cached is not None:
        return cached
    disk = store.state_dir / _INFO_DIR / (layer.digest.replace(":", "-") + ".json")
    info = None if shape_only else _load_cached(disk)
    if info is None:
        path = store.blob_path(layer.digest)
        if not path.is_file():
            raise ModelNotFoundError(f"Blob {layer.digest[7:19]} is missing from {store.root}.")
        info = read_gguf_info(path, shape_only=shape_only)
        if info.complete:
            _save_cached(disk, info)
    with _cache_lock:
        _cache[key] = info
    return info


def _load_cached(path: os.PathLike[str]) -> GGUFInfo | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return GGUFInfo.from_dict(json.load(handle))
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: read the blob again


def _save_cached(path: Any, info: GGUFInfo) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(info.to_dict()), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only store still answers, just without the cache


def default_context(store: ModelStore | None, manifest: Manifest, info: GGUFInfo) -> int | None:
    """num_ctx from the model's params layer when installed; None lets the estimate decide."""
    params = manifest.layer_of_kind("params")
    if store is None or params is None or params.size > 65536:
        return None
    try:
        doc = json.loads(store.blob_path(params.digest).read_bytes())
    except (OSError, ValueError):
        return None
    value = doc.get("num_ctx") if isinstance(doc, dict) else None
    return value if isinstance(value, int) and value > 0 else None


def fit_installed(
    store: ModelStore,
    name: str | ModelName,
    *,
    context_length: int | None = None,
    kv_type: str = "f16",
    machine: MachineMemory | None = None,
    budget: int | None = None,
    default_host: str = DEFAULT_HOST,
) -> FitReport:
    """Fit of an installed model, from the GGUF header of its local blob (no network)."""
    model = store.resolve(name, default_host=default_host)
    layer = model_layer(model.manifest, model.name)
    try:
        # The full read (parameter count, quantization) is cached by digest after the first one.
        info = blob_gguf_info(store, layer)
    except GGUFError as exc:
        raise GGUFError(f"The model blob of {model.display} is unreadable: {exc}") from exc
    ctx = context_length or default_context(store, model.manifest, info)
    estimate = estimate_memory(
        info,
        weights_bytes=weights_bytes(model.manifest, layer),
        context_length=ctx,
        kv_type=kv_type,
    )
    machine = machine or measure_machine()
    return FitReport(
        model=model.display,
        installed=True,
        info=info,
        estimate=estimate,
        verdict=judge_fit(estimate, machine, budget=budget),
        machine=machine,
        model_blob_size=layer.size,
        header_bytes_fetched=0,
    )


def fit_remote(
    name: str | ModelName,
    registry: RegistryClient,
    *,
    context_length: int | None = None,
    kv_type: str = "f16",
    machine: MachineMemory | None = None,
    budget: int | None = None,
    default_host: str = DEFAULT_HOST,
) -> FitReport:
    """Fit of a model not downloaded yet: only the GGUF header of its blob is fetched."""
    parsed = (
        name if isinstance(name, ModelName) else parse_model_name(name, default_host=default_host)
    )
    remote = fetch_remote_header(parsed, registry)
    estimate = estimate_memory(
        remote.info,
        weights_bytes=remote.weights_bytes,
        context_length=context_length,
        kv_type=kv_type,
    )
    machine = machine or measure_machine()
    return FitReport(
        model=parsed.display,
        installed=False,
        info=remote.info,
        estimate=estimate,
        verdict=judge_fit(estimate, machine, budget=budget),
        machine=machine,
        model_blob_size=remote.model_layer.size,
        header_bytes_fetched=remote.bytes_transferred,
    )


def fit_model(
    store: ModelStore | None,
    name: str,
    registry: RegistryClient,
    *,
    context_length: int | None = None,
    kv_type: str = "f16",
    budget: int | None = None,
    default_host: str = DEFAULT_HOST,
) -> FitReport:
    """Installed models are judged from the local blob; others from their remote header.

    `store` is None when the models directory holds no store yet: nothing is installed.
    """
    try:
        if store is None:
            raise ModelNotFoundError(f"{name} is not installed.")
        return fit_installed(
            store,
            name,
            context_length=context_length,
            kv_type=kv_type,
            budget=budget,
            default_host=default_host,
        )
    except ModelNotFoundError as exc:
        if "not installed" not in str(exc):
            raise
    try:
        return fit_remote(
            name,
            registry,
            context_length=context_length,
            kv_type=kv_type,
            budget=budget,
            default_host=default_host,
        )
    except ModelNotFoundError:
        raise
    except GGUFError as exc:
        raise EcsModelsError(f"Cannot read the model header of {name}: {exc}") from exc
