"""Health of models and of the whole store: manifests, blob sizes, sha256, GGUF structure, config."""

from __future__ import annotations

import contextlib
import enum
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.gguf.reader import read_gguf_info, validate_structure
from ecs_models.manifest import Layer
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.storage.smoke import smoke_generate, smoke_unavailable_reason
from ecs_models.store.locking import FileLock
from ecs_models.store.model_store import InstalledModel, ModelStore
from ecs_models.store.scan import scan_store
from ecs_models.store.verify import VerifyReport, check_blobs

HEALTH_FILE = "health.json"
# What a saved result checked: `verify` (and the Models tab's Verify) hash every blob;
# `health` (and the Storage tab) also read each GGUF's structure and the config.
SCOPE_VERIFY = "verify"
SCOPE_HEALTH = "health"
GGUF_LAYER_KINDS = frozenset({"model", "projector", "adapter"})


class FindingKind(enum.Enum):
    MANIFEST = "manifest"  # unreadable or an unknown schema
    MISSING = "missing"
    SIZE = "size"
    DIGEST = "digest"
    GGUF = "gguf"  # the bytes match their digest but are not a valid GGUF
    CONFIG = "config"  # the config blob disagrees with the model or is not JSON
    RUNTIME = "runtime"  # a smoke generation failed: llama.cpp did not load it or gave no tokens


REPAIRABLE = frozenset({FindingKind.MISSING, FindingKind.SIZE, FindingKind.DIGEST})


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    detail: str
    digest: str | None = None
    layer: str | None = None  # Ollama's layer kind (model, template, config...)

    @property
    def repairable(self) -> bool:
        """Fixed by downloading the blob again: the registry has the right bytes."""
        return self.kind in REPAIRABLE

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "detail": self.detail,
            "digest": self.digest,
            "layer": self.layer,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Finding:
        return cls(
            FindingKind(doc["kind"]), str(doc["detail"]), doc.get("digest"), doc.get("layer")
        )


@dataclass(slots=True)
class ModelHealth:
    """The result of checking one model, kept in the state dir with when it was taken."""

    name: str  # host/namespace/model:tag
    display: str
    digest: str | None  # the manifest's; None when it could not be read
    checked_at: float  # UNIX time
    findings: list[Finding] = field(default_factory=list)
    hashed: bool = True  # False when only sizes were checked
    bytes_hashed: int = 0
    smoke: str | None = None  # "passed" or "failed" when a smoke generation ran, else None
    scope: str = SCOPE_HEALTH  # SCOPE_VERIFY: blobs only (size and sha256), no GGUF or config

    @property
    def ok(self) -> bool:
        return not self.findings

    def checked(self) -> str:
        """What this check covered, in words: 'sha256 of every blob', 'sizes only'..."""
        if not self.hashed:
            return "blob sizes only"
        if self.scope == SCOPE_VERIFY:
            return "sha256 of every blob"
        return "sha256, GGUF and config" + (", smoke generation" if self.smoke else "")

    @property
    def repairable(self) -> list[Finding]:
        return [f for f in self.findings if f.repairable]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display": self.display,
            "digest": self.digest,
            "checked_at": self.checked_at,
            "ok": self.ok,
            "hashed": self.hashed,
            "bytes_hashed": self.bytes_hashed,
            "smoke": self.smoke,
            "scope": self.scope,
            "findings": [f.to_json() for f in self.findings],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ModelHealth:
        return cls(
            name=str(doc["name"]),
            display=str(doc.get("display", doc["name"])),
            digest=doc.get("digest"),
            checked_at=float(doc["checked_at"]),
            findings=[Finding.from_json(f) for f in doc.get("findings", [])],
            hashed=bool(doc.get("hashed", True)),
            bytes_hashed=int(doc.get("bytes_hashed", 0)),
            smoke=doc.get("smoke") if doc.get("smoke") in ("passed", "failed") else None,
            scope=SCOPE_VERIFY if doc.get("scope") == SCOPE_VERIFY else SCOPE_HEALTH,
        )


@dataclass(slots=True)
class HealthReport:
    models: list[ModelHealth] = field(default_factory=list)
    bytes_hashed: int = 0
    seconds: float = 0.0
    smoke_requested: bool = False
    smoke_skipped: str | None = None  # why no smoke generation ran although one was asked for

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.models)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "bytes_hashed": self.bytes_hashed,
            "seconds": round(self.seconds, 3),
            "smoke": {"requested": self.smoke_requested, "skipped": self.smoke_skipped},
            "models": [m.to_json() for m in self.models],
        }


class HealthProgress:
    """Bytes hashed of bytes to hash, updated from the hashing threads; poll `snapshot()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total_bytes = 0
        self.done_bytes = 0
        self.total_blobs = 0
        self.done_blobs = 0
        self.started = time.monotonic()

    def begin(self, total_bytes: int, total_blobs: int) -> None:
        with self._lock:
            self.total_bytes, self.total_blobs = total_bytes, total_blobs
            self.done_bytes = self.done_blobs = 0
            self.started = time.monotonic()

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.done_bytes += nbytes

    def blob_done(self) -> None:
        with self._lock:
            self.done_blobs += 1

    def snapshot(self) -> tuple[int, int, float]:
        """(done bytes, total bytes, bytes per second)."""
        with self._lock:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            return self.done_bytes, self.total_bytes, self.done_bytes / elapsed

    @property
    def fraction(self) -> float:
        with self._lock:
            return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


# -- GGUF checks, through ecs_models.gguf.reader (the project's one GGUF reader) ------------------


def gguf_problems(path: Path) -> list[str]:
    """Structural problems of a GGUF file (magic, version, tables, tensor data bounds)."""
    return validate_structure(path)


def gguf_architecture(path: Path) -> str | None:
    try:
        return read_gguf_info(path, shape_only=True).architecture
    except (EcsModelsError, OSError):  # structural problems: gguf_problems says them
        return None


# -- checking ------------------------------------------------------------------------------


def _layer_kind(model: InstalledModel, digest: str) -> str:
    if digest == model.manifest.config.digest:
        return "config"
    for layer in model.manifest.layers:
        if layer.digest == digest:
            return layer.kind
    return "blob"


def _select(
    store: ModelStore, names: Iterable[str | ModelName] | None, default_host: str
) -> tuple[list[InstalledModel], list[ModelHealth]]:
    """The models to check, and health records for named or listed unreadable manifests."""
    now = time.time()
    if names is None:
        scan = scan_store(store)
        broken = [
            ModelHealth(
                name=bad.name,
                display=bad.name,
                digest=None,
                checked_at=now,
                findings=[Finding(FindingKind.MANIFEST, bad.reason)],
                hashed=False,
            )
            for bad in scan.unreadable
        ]
        return scan.models, broken
    models: list[InstalledModel] = []
    broken = []
    for raw in names:
        wanted = parse_model_name(raw, default_host=default_host) if isinstance(raw, str) else raw
        try:
            model = store.resolve(wanted)
        except ModelNotFoundError as exc:
            if not store.manifest_path(wanted).is_file():
                raise
            broken.append(
                ModelHealth(
                    name=str(wanted),
                    display=wanted.display,
                    digest=None,
                    checked_at=now,
                    findings=[Finding(FindingKind.MANIFEST, str(exc))],
                    hashed=False,
                )
            )
            continue
        if all(m.manifest_path != model.manifest_path for m in models):
            models.append(model)
    return models, broken


def check_health(
    store: ModelStore,
    names: Iterable[str | ModelName] | None = None,
    *,
    hash_content: bool = True,
    progress: HealthProgress | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    default_host: str = DEFAULT_HOST,
    save: bool = True,
    smoke: bool = False,
    smoke_quiet: bool = False,
) -> HealthReport:
    """Check models (all, with unreadable manifests, when names is None); blocking, so call it
    on a worker thread. Each distinct blob is hashed once across all models.

    `smoke` also generates a few tokens with llama.cpp from each otherwise healthy GGUF model
    (skipped, with the reason in the report, when no runtime is installed); `smoke_quiet` hides
    llama.cpp's own log lines by redirecting the whole process's stdout/stderr meanwhile.

    Results are saved per model in the state dir (`load_health` reads them back).
    """
    started = time.monotonic()
    models, broken = _select(store, names, default_host)
    layers: dict[str, Layer] = {}
    for model in models:
        for layer in model.manifest.blobs:
            layers.setdefault(layer.digest, layer)

    begin = None if progress is None else progress.begin

    def counted(nbytes: int) -> None:
        if progress is not None:
            progress.add(nbytes)
        if on_bytes is not None:
            on_bytes(nbytes)

    # The one blob check `verify` and the panel use: presence, size, then sha256.
    check = check_blobs(
        store,
        layers.values(),
        hash_content=hash_content,
        on_start=begin,
        on_bytes=counted,
        cancel=cancel,
        workers=workers,
        what="The health check",
    )
    problems = {
        digest: Finding(FindingKind(problem.kind), problem.detail, digest=digest)
        for digest, problem in check.problems.items()
    }

    gguf_findings: dict[str, list[str]] = {}
    architectures: dict[str, str | None] = {}
    for model in models:
        for layer in model.manifest.layers:
            digest = layer.digest
            if layer.kind not in GGUF_LAYER_KINDS or digest in gguf_findings:
                continue
            if digest in problems:
                continue
            path = store.blob_path(digest)
            gguf_findings[digest] = gguf_problems(path)
            if layer.kind == "model" and not gguf_findings[digest]:
                architectures[digest] = gguf_architecture(path)

    now = time.time()
    report = HealthReport()
    for model in models:
        health = ModelHealth(
            name=str(model.name),
            display=model.display,
            digest=model.digest,
            checked_at=now,
            hashed=hash_content,
        )
        for digest in dict.fromkeys(layer.digest for layer in model.manifest.blobs):
            kind = _layer_kind(model, digest)
            problem = problems.get(digest)
            if problem is not None:
                health.findings.append(
                    Finding(problem.kind, problem.detail, digest=digest, layer=kind)
                )
                continue
            health.bytes_hashed += check.hashed.get(digest, 0)
            health.findings += [
                Finding(FindingKind.GGUF, text, digest=digest, layer=kind)
                for text in gguf_findings.get(digest, [])
            ]
        health.findings += _config_findings(
            store, model, architectures, problems
        )
        report.models.append(health)
    if smoke:
        _smoke(store, models, report, gguf_findings, quiet=smoke_quiet, cancel=cancel)
    report.models += broken
    report.bytes_hashed = sum(check.hashed.values())
    report.seconds = time.monotonic() - started
    if save:
        save_health(store, report.models, replace_all=names is None)
    return report


def _smoke(
    store: ModelStore,
    models: list[InstalledModel],
    report: HealthReport,
    gguf_findings: dict[str, list[str]],
    *,
    quiet: bool,
    cancel: threading.Event | None,
) -> None:
    """Smoke-generate with every model whose blobs passed and whose model layer is a valid GGUF."""
    report.smoke_requested = True
    report.smoke_skipped = smoke_unavailable_reason()
    if report.smoke_skipped is not None:
        return
    wanted: dict[str, tuple[ModelHealth, str]] = {}
    for model, health in zip(models, report.models, strict=True):
        layer = model.manifest.layer_of_kind("model")
        # gguf_findings holds only blobs that passed size and sha256; [] means a valid GGUF.
        if health.ok and layer is not None and gguf_findings.get(layer.digest) == []:
            wanted[health.display] = (health, layer.digest)
    outcome = smoke_generate(
        store, [(name, digest) for name, (_, digest) in wanted.items()], quiet=quiet, cancel=cancel
    )
    for name, why in outcome.items():
        health, digest = wanted[name]
        health.smoke = "passed" if why is None else "failed"
        if why is not None:
            health.findings.append(Finding(FindingKind.RUNTIME, why, digest=digest, layer="model"))


def _config_findings(
    store: ModelStore,
    model: InstalledModel,
    architectures: dict[str, str | None],
    *damaged: dict[str, Finding],
) -> list[Finding]:
    config_layer = model.manifest.config
    if any(config_layer.digest in d for d in damaged):
        return []  # already reported as a blob problem
    config = store.read_json_blob(config_layer)
    if not isinstance(config, dict):
        return [
            Finding(
                FindingKind.CONFIG,
                "the config blob is not a JSON object",
                digest=config_layer.digest,
                layer="config",
            )
        ]
    model_layer = model.manifest.layer_of_kind("model")
    if model_layer is None:
        return []
    arch = architectures.get(model_layer.digest)
    family = config.get("model_family")
    if arch is None or not isinstance(family, str) or not family:
        return []
    if family.lower() != arch.lower():
        return [
            Finding(
                FindingKind.CONFIG,
                f"the config says family {family!r} but the GGUF's architecture is {arch!r}",
                digest=config_layer.digest,
                layer="config",
            )
        ]
    return []


# -- stored results --------------------------------------------------------------------------


def _health_path(store: ModelStore) -> Path:
    return store.state_dir / HEALTH_FILE


def load_health(store: ModelStore) -> dict[str, ModelHealth]:
    """The last check of each model (full name -> result); {} when none was saved."""
    try:
        doc = json.loads(_health_path(store).read_bytes())
        entries = doc["models"]
        return {str(k): ModelHealth.from_json(v) for k, v in entries.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save_health(store: ModelStore, results: list[ModelHealth], *, replace_all: bool) -> None:
    """Merge results into the saved ones; a whole-store check drops models no longer there."""
    with FileLock(store.state_dir / "health.lock"):
        current = {} if replace_all else load_health(store)
        for result in results:
            current[result.name] = result
        target = _health_path(store)
        tmp = target.with_name(f"{HEALTH_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(
            json.dumps(
                {"version": 1, "models": {k: v.to_json() for k, v in sorted(current.items())}},
                indent=1,
            )
        )
        os.replace(tmp, target)


def health_from_verify(report: VerifyReport, *, checked_at: float | None = None) -> ModelHealth:
    """A `verify` result as a saved health result: blobs only, so no GGUF or config finding."""
    model = report.model
    return ModelHealth(
        name=str(model.name),
        display=model.display,
        digest=model.digest,
        checked_at=time.time() if checked_at is None else checked_at,
        findings=[
            Finding(
                FindingKind(p.kind), p.detail, digest=p.digest, layer=_layer_kind(model, p.digest)
            )
            for p in report.problems
        ],
        bytes_hashed=report.bytes_checked,
        scope=SCOPE_VERIFY,
    )


def record_verify(store: ModelStore, reports: Iterable[VerifyReport]) -> list[ModelHealth]:
    """Keep each verified model's result as its last health check (what the badges show).

    A store we may not write to (another user's, read-only) still verifies: the results are
    returned, only not kept.
    """
    now = time.time()
    results = [health_from_verify(report, checked_at=now) for report in reports]
    if results:
        with contextlib.suppress(OSError):
            save_health(store, results, replace_all=False)
    return results


def forget_health(store: ModelStore, names: Iterable[str]) -> None:
    drop = set(names)
    with contextlib.suppress(OSError):
        current = load_health(store)
        if drop & current.keys():
            save_health(store, [v for k, v in current.items() if k not in drop], replace_all=True)
