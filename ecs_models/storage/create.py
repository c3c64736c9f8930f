"""`create NAME --from-gguf PATH`: a local GGUF file becomes a model, hard-linked or copied."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ecs_models.errors import EcsModelsError, OperationCancelledError
from ecs_models.gguf.reader import GGUFInfo, read_gguf_info, validate_structure
from ecs_models.manifest import (
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    OLLAMA_LAYER_PREFIX,
    sha256_digest,
)
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.storage.disk import DiskLimits, HasMinFreeDisk, check_install_fits
from ecs_models.store.model_store import InstalledModel, ModelStore

_CHUNK = 1 << 20


def human_number(count: int) -> str:
    """A parameter count as Ollama's format.HumanNumber prints it: 8B, 8.2B, 1.05M, 5K."""
    for scale, suffix, decimals in ((1e9, "B", 1), (1e6, "M", 2), (1e3, "K", 0)):
        if count >= scale:
            value = count / scale
            if suffix == "K" or value == math.floor(value):
                return f"{value:.0f}{suffix}"
            return f"{value:.{decimals}f}{suffix}"
    return str(count)


def ollama_config(info: GGUFInfo, layer_digests: list[str]) -> bytes:
    """The config blob Ollama's create writes for a GGUF model (ConfigV2, compact JSON)."""
    family = info.architecture or "unknown"
    doc = {
        "model_format": "gguf",
        "model_family": family,
        "model_families": [family],
        "model_type": human_number(info.parameter_count) if info.parameter_count else "",
        "file_type": info.quantization or "",
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": layer_digests},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _write_small(store: ModelStore, data: bytes) -> str:
    digest = sha256_digest(data)
    target = store.blob_path(digest)
    if not target.exists():
        tmp = store.state_dir / f"create-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return digest


def _hash_into(
    source: Path,
    staging: Path,
    *,
    link: bool,
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> str:
    """Hard-link or copy `source` to `staging`, returning the sha256 of what `staging` holds."""
    sha = hashlib.sha256()

    def feed(handle: Any, out: Any) -> None:
        while chunk := handle.read(_CHUNK):
            if cancel is not None and cancel.is_set():
                raise OperationCancelledError("Creating the model was cancelled.")
            sha.update(chunk)
            if out is not None:
                out.write(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))

    if link:
        try:
            os.link(source, staging)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                raise EcsModelsError(
                    f"--link needs {source} on the same filesystem as the models directory; "
                    "drop --link to copy it instead."
                ) from exc
            raise EcsModelsError(f"Cannot hard-link {source}: {exc.strerror or exc}.") from exc
        # Hashed through the link itself: what is hashed is exactly what the blob will hold.
        with open(staging, "rb") as handle:
            feed(handle, None)
    else:
        with open(source, "rb") as handle, open(staging, "wb") as out:
            feed(handle, out)
        os.chmod(staging, 0o644)
    return "sha256:" + sha.hexdigest()


def create_from_gguf(
    store: ModelStore,
    name: str | ModelName,
    gguf_path: str | os.PathLike[str],
    *,
    template: str | None = None,
    system: str | None = None,
    params: Mapping[str, Any] | None = None,
    link: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    limits: DiskLimits | HasMinFreeDisk | None = None,
    default_host: str = DEFAULT_HOST,
) -> InstalledModel:
    """Install a local GGUF as a model, with optional template, system prompt and parameters.

    With `link` the blob is a hard link to the file (no second copy; the file must then never
    be edited in place, which a health check would catch); otherwise the file is copied.
    """
    model_name = (
        name if isinstance(name, ModelName) else parse_model_name(name, default_host=default_host)
    )
    source = Path(gguf_path).expanduser()
    if not source.is_file():
        raise EcsModelsError(f"{source} is not a file.")
    problems = validate_structure(source)
    if problems:
        raise EcsModelsError(f"{source} is not a usable GGUF file: {problems[0]}")
    info = read_gguf_info(source)
    if params is not None and not isinstance(params, Mapping):
        raise EcsModelsError("The parameters must be a JSON object.")
    size = source.stat().st_size
    if not link:
        check_install_fits(store, size, limits)

    staging = store.state_dir / f"create-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        digest = _hash_into(source, staging, link=link, on_bytes=on_bytes, cancel=cancel)
        layers: list[tuple[str, str, int]] = [(OLLAMA_LAYER_PREFIX + "model", digest, size)]
        small: list[tuple[str, bytes]] = []
        if template is not None:
            small.append(("template", template.encode()))
        if system is not None:
            small.append(("system", system.encode()))
        if params:
            small.append(("params", json.dumps(dict(params), separators=(",", ":")).encode()))
        for kind, data in small:
            layers.append((OLLAMA_LAYER_PREFIX + kind, sha256_digest(data), len(data)))
        config = ollama_config(info, [d for _, d, _ in layers])
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": [{"mediaType": m, "digest": d, "size": s} for m, d, s in layers],
        }
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        # Pinned before the first blob lands, until the manifest names them all.
        with store.pin([sha256_digest(config), *(d for _, d, _ in layers)]):
            target = store.blob_path(digest)
            if target.exists() and target.stat().st_size == size:
                staging.unlink()  # the store has these bytes already
            else:
                os.replace(staging, target)
            for _kind, data in small:
                _write_small(store, data)
            _write_small(store, config)
            return store.write_manifest(model_name, raw)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
