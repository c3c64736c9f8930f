"""The one blob check: is each blob present, of its manifest's size and of its sha256.

`verify`, `health` and the panel's Verify all ask `check_blobs`; each distinct blob is hashed
once, in parallel, biggest first (hashlib releases the GIL).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ecs_models.errors import OperationCancelledError
from ecs_models.manifest import Layer

if TYPE_CHECKING:
    from ecs_models.store.model_store import InstalledModel

_HASH_BUFFER = 1 << 20
# O_NOATIME: a verification pass must not look like use to anything reading access times.
_NOATIME = getattr(os, "O_NOATIME", 0)


class HasBlobs(Protocol):
    def blob_path(self, digest: str) -> Path: ...


@dataclass(frozen=True, slots=True)
class BlobProblem:
    digest: str
    kind: str  # "missing", "size" or "digest"
    detail: str


@dataclass(slots=True)
class BlobCheck:
    """What `check_blobs` found: the problems, and the bytes of each blob it hashed."""

    problems: dict[str, BlobProblem] = field(default_factory=dict)
    hashed: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class VerifyReport:
    model: InstalledModel
    problems: list[BlobProblem] = field(default_factory=list)
    bytes_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_blobs(
    store: HasBlobs,
    layers: Iterable[Layer],
    *,
    hash_content: bool = True,
    on_start: Callable[[int, int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    what: str = "Verification",
) -> BlobCheck:
    """Stat every distinct blob, then hash the ones of the right size (unless `hash_content`
    is False). `on_start(bytes, blobs)` hears what is about to be hashed; a cancel raises
    OperationCancelledError naming `what` was cancelled."""
    check = BlobCheck()
    present: list[Layer] = []
    for layer in {layer.digest: layer for layer in layers}.values():
        try:
            size = store.blob_path(layer.digest).stat().st_size
        except FileNotFoundError:
            check.problems[layer.digest] = BlobProblem(
                layer.digest, "missing", "the blob file is missing"
            )
            continue
        if size != layer.size:
            detail = f"the file has {size} bytes, the manifest says {layer.size}"
            check.problems[layer.digest] = BlobProblem(layer.digest, "size", detail)
            continue
        present.append(layer)
    if not hash_content or not present:
        return check
    present.sort(key=lambda x: -x.size)
    if on_start is not None:
        on_start(sum(x.size for x in present), len(present))

    def one(layer: Layer) -> tuple[Layer, str | None]:
        try:
            path = store.blob_path(layer.digest)
            return layer, hash_file(path, on_bytes=on_bytes, cancel=cancel)
        except FileNotFoundError:
            return layer, ""

    count = workers or max(1, min(len(present), 4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="ecs-models-verify") as pool:
        for layer, actual in pool.map(one, present):
            if actual is None:  # cancelled
                continue
            check.hashed[layer.digest] = layer.size
            if actual == "":
                check.problems[layer.digest] = BlobProblem(
                    layer.digest, "missing", "the blob file vanished while checked"
                )
            elif actual != layer.digest:
                check.problems[layer.digest] = BlobProblem(
                    layer.digest, "digest", f"the content hashes to {actual[:19]}…"
                )
    if cancel is not None and cancel.is_set():
        raise OperationCancelledError(f"{what} was cancelled.")
    return check


def verify_models(
    store: HasBlobs,
    models: list[InstalledModel],
    *,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> list[VerifyReport]:
    """One report per model: presence, size and sha256 of each of its blobs."""
    started = time.monotonic()
    check = check_blobs(
        store,
        (layer for model in models for layer in model.manifest.blobs),
        on_bytes=on_bytes,
        cancel=cancel,
        workers=workers,
    )
    elapsed = time.monotonic() - started
    reports = []
    for model in models:
        report = VerifyReport(model=model, seconds=elapsed)
        for layer in model.manifest.blobs:
            report.bytes_checked += check.hashed.get(layer.digest, 0)
            problem = check.problems.get(layer.digest)
            if problem is not None:
                report.problems.append(problem)
        reports.append(report)
    return reports


def hash_file(
    path: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> str | None:
    """sha256 of a file as `sha256:<hex>`, or None when cancelled."""
    digest = hashlib.sha256()
    buffer = bytearray(_HASH_BUFFER)
    view = memoryview(buffer)
    try:
        fd = os.open(path, os.O_RDONLY | _NOATIME)
    except PermissionError:  # O_NOATIME needs ownership of the file (or root)
        fd = os.open(path, os.O_RDONLY)
    with open(fd, "rb", buffering=0) as handle:
        while True:
            if cancel is not None and cancel.is_set():
                return None
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
            if on_bytes is not None:
                on_bytes(count)
    return "sha256:" + digest.hexdigest()
