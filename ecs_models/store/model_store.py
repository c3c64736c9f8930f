"""The Ollama-compatible models directory: manifests, blobs, partials, references, locks."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_models.errors import (
    EcsModelsError,
    ManifestError,
    ModelNotFoundError,
    OperationCancelledError,
    with_fix,
)
from ecs_models.manifest import Layer, Manifest, blob_file_name, normalize_digest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.manifest_policy import CONFIG_LIMIT
from ecs_models.store.locking import FileLock

# Our own bookkeeping lives beside blobs/ and manifests/, never inside them: Ollama deletes
# unknown files in blobs/ and would list a file four levels under manifests/ as a model.
STATE_DIR_NAME = ".ecs-models"
_BLOB_NAME_RE = re.compile(r"sha256-([0-9a-f]{64})")
_PARTIAL_RE = re.compile(r"(sha256-[0-9a-f]{64})-partial(?:-(\d+))?")
_HEX_DIGEST_RE = re.compile(rb"sha256[:-]([0-9a-fA-F]{64})")
_HASH_BUFFER = 1 << 20
# O_NOATIME: a verification pass must not look like use to anything reading access times.
_NOATIME = getattr(os, "O_NOATIME", 0)


def default_models_dir(environ: dict[str, str] | None = None) -> Path:
    """`$OLLAMA_MODELS` (trimmed of spaces and quotes, as Ollama does) or ~/.ollama/models."""
    env = os.environ if environ is None else environ
    value = env.get("OLLAMA_MODELS", "").strip().strip("\"'").strip()
    if value:
        return Path(value).expanduser()
    return Path.home() / ".ollama" / "models"


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """What Ollama shows as a model's details, read from its config blob."""

    format: str | None = None
    family: str | None = None
    families: tuple[str, ...] = ()
    parameter_size: str | None = None
    quantization_level: str | None = None
    parent_model: str = ""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelDetails:
        def text(key: str) -> str | None:
            value = config.get(key)
            return value if isinstance(value, str) and value else None

        families = config.get("model_families")
        return cls(
            format=text("model_format"),
            family=text("model_family"),
            families=tuple(f for f in families if isinstance(f, str))
            if isinstance(families, list)
            else (),
            parameter_size=text("model_type"),
            quantization_level=text("file_type"),
        )


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """One manifest in the store, with what `ollama list` shows of it."""

    name: ModelName
    manifest: Manifest
    manifest_path: Path
    modified: dt.datetime
    details: ModelDetails

    @property
    def display(self) -> str:
        return self.name.display

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def id(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def size(self) -> int:
        return self.manifest.total_size

    def to_api_dict(self) -> dict[str, Any]:
        """One entry of Ollama's `/api/tags` "models" list."""
        return {
            "name": self.display,
            "model": self.display,
            "modified_at": self.modified.astimezone().isoformat(),
            "size": self.size,
            "digest": self.digest.removeprefix("sha256:"),
            "details": {
                "parent_model": self.details.parent_model,
                "format": self.details.format or "",
                "family": self.details.family or "",
                "families": list(self.details.families) or None,
                "parameter_size": self.details.parameter_size or "",
                "quantization_level": self.details.quantization_level or "",
            },
        }


@dataclass(frozen=True, slots=True)
class BlobRef:
    digest: str
    size: int
    path: Path


@dataclass(slots=True)
class RemovalPlan:
    """What removing some models does: manifests to delete and blobs nothing else needs."""

    models: list[InstalledModel] = field(default_factory=list)
    blobs: list[BlobRef] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(blob.size for blob in self.blobs)


@dataclass(slots=True)
class PrunePlan:
    orphan_blobs: list[BlobRef] = field(default_factory=list)
    stale_partials: list[Path] = field(default_factory=list)
    partial_bytes: int = 0

    @property
    def bytes_freed(self) -> int:
        return sum(blob.size for blob in self.orphan_blobs) + self.partial_bytes


@dataclass(frozen=True, slots=True)
class BlobProblem:
    digest: str
    kind: str  # "missing", "size" or "digest"
    detail: str


@dataclass(slots=True)
class VerifyReport:
    model: InstalledModel
    problems: list[BlobProblem] = field(default_factory=list)
    bytes_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


class Pin:
    """Marks blobs as needed by an operation in flight, so rm and prune leave them alone.

    A pin is a file in .ecs-models/pins held with a shared flock: if its process dies the lock
    goes with it and the next reader drops the stale file.
    """

    def __init__(self, lock: FileLock) -> None:
        self._lock = lock

    def release(self) -> None:
        path = self._lock.path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._lock.release()

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_pin_counter = iter(range(1, 1 << 62))
_pin_counter_lock = threading.Lock()


class ModelStore:
    """An Ollama models directory: `blobs/` and `manifests/` exactly as Ollama lays them out."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_models_dir()
        self.blobs_dir = self.root / "blobs"
        self.manifests_dir = self.root / "manifests"
        self.state_dir = self.root / STATE_DIR_NAME
        for directory in (self.blobs_dir, self.manifests_dir, self.state_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        self._config_cache: dict[str, ModelDetails] = {}

    # -- paths -----------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        return self.blobs_dir / blob_file_name(digest)

    def partial_path(self, digest: str) -> Path:
        return self.blobs_dir / (blob_file_name(digest) + "-partial")

    def manifest_path(self, name: ModelName) -> Path:
        return self.manifests_dir.joinpath(*name.path_parts)

    def has_blob(self, layer: Layer) -> bool:
        try:
            return self.blob_path(layer.digest).stat().st_size == layer.size
        except FileNotFoundError:
            return False

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    # -- locks and pins --------------------------------------------------------------------
    def lock(self) -> FileLock:
        """The store-wide lock: held briefly around every change to manifests or blobs."""
        return FileLock(self.state_dir / "store.lock")

    def blob_lock(self, digest: str) -> FileLock:
        """Held while one blob downloads, so concurrent pulls fetch it once."""
        return FileLock(self.state_dir / "locks" / (blob_file_name(digest) + ".lock"))

    def pin(self, digests: Iterable[str]) -> Pin:
        pins_dir = self.state_dir / "pins"
        pins_dir.mkdir(parents=True, exist_ok=True)
        with _pin_counter_lock:
            serial = next(_pin_counter)
        staging = self.state_dir / f"pin-{os.getpid()}-{serial}.tmp"
        lock = FileLock(staging, shared=True)
        lock.acquire()
        staging.write_text("".join(normalize_digest(d) + "\n" for d in digests))
        # Renamed into place only once locked and written, so no reader can see it unlocked.
        final = pins_dir / staging.name.removesuffix(".tmp")
        os.replace(staging, final)
        lock.path = final
        return Pin(lock)

    def pinned_digests(self) -> set[str]:
        pinned: set[str] = set()
        pins_dir = self.state_dir / "pins"
        if not pins_dir.is_dir():
            return pinned
        for path in pins_dir.iterdir():
            probe = FileLock(path)
            if probe.try_acquire():  # nobody holds it: its process is gone
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                probe.release()
                continue
            with contextlib.suppress(FileNotFoundError):
                pinned.update(line for line in path.read_text().split() if line)
        return pinned

    # -- manifests -------------------------------------------------------------------------
    def _manifest_files(self) -> Iterator[tuple[tuple[str, str, str, str], Path]]:
        """Files exactly four levels under manifests/, the only ones Ollama lists."""
        for host in _subdirs(self.manifests_dir):
            for namespace in _subdirs(host):
                for model in _subdirs(namespace):
                    with contextlib.suppress(OSError):
                        for tag in os.scandir(model):
                            if tag.is_file(follow_symlinks=False):
                                parts = (host.name, namespace.name, model.name, tag.name)
                                yield parts, Path(tag.path)

    def _load(self, parts: tuple[str, str, str, str], path: Path) -> InstalledModel:
        raw = path.read_bytes()
        manifest = Manifest.parse(raw)
        mtime = path.stat().st_mtime
        return InstalledModel(
            name=ModelName(*parts),
            manifest=manifest,
            manifest_path=path,
            modified=dt.datetime.fromtimestamp(mtime, tz=dt.UTC),
            details=self._details(manifest),
        )

    def _details(self, manifest: Manifest) -> ModelDetails:
        key = manifest.config.digest
        cached = self._config_cache.get(key)
        if cached is not None:
            return cached
        config = self.read_json_blob(manifest.config)
        if config is None:
            return ModelDetails()
        details = ModelDetails.from_config(config if isinstance(config, dict) else {})
        self._config_cache[key] = details
        return details

    def read_config(self, model: InstalledModel) -> dict[str, Any]:
        config = self.read_json_blob(model.manifest.config)
        return config if isinstance(config, dict) else {}

    def read_json_blob(self, layer: Layer, *, limit: int = CONFIG_LIMIT) -> Any:
        """A small JSON blob (a config) parsed, or None when missing, unparsable or over
        `limit` bytes: it is read whole into memory, so never a huge one."""
        if layer.size > limit:
            return None
        try:
            with open(self.blob_path(layer.digest), "rb") as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                return None
            return json.loads(data.decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            return None

    def list_models(self) -> list[InstalledModel]:
        """Every readable manifest, sorted by name; unreadable ones are in unreadable_manifests()."""
        models = []
        for parts, path in self._manifest_files():
            with contextlib.suppress(OSError, ManifestError):
                models.append(self._load(parts, path))
        models.sort(key=lambda m: m.display.lower())
        return models

    def unreadable_manifests(self) -> list[tuple[Path, str]]:
        problems = []
        for _parts, path in self._manifest_files():
            try:
                Manifest.parse(path.read_bytes())
            except (OSError, ManifestError) as exc:
                problems.append((path, str(exc)))
        return problems

    def resolve(self, name: str | ModelName, *, default_host: str = DEFAULT_HOST) -> InstalledModel:
        """Find an installed model as Ollama does: exact path first, then case-insensitively."""
        wanted = (
            parse_model_name(name, default_host=default_host) if isinstance(name, str) else name
        )
        path = self.manifest_path(wanted)
        if path.is_file():
            try:
                return self._load(wanted.path_parts, path)
            except ManifestError as exc:
                raise _unreadable(wanted, exc) from exc
        for parts, candidate in self._manifest_files():
            if ModelName(*parts).matches(wanted):
                try:
                    return self._load(parts, candidate)
                except ManifestError as exc:
                    raise _unreadable(wanted, exc) from exc
        raise ModelNotFoundError(f"Model {wanted.display} is not installed.")

    def write_manifest(self, name: ModelName, raw: bytes) -> InstalledModel:
        """Install a manifest atomically, after checking every blob it names is complete."""
        manifest = Manifest.parse(raw)
        with self.lock():
            for layer in manifest.blobs:
                if not self.has_blob(layer):
                    raise EcsModelsError(
                        f"Blob {layer.digest[:19]} of {name.display} is missing or incomplete; "
                        "the manifest was not written."
                    )
            target = self.manifest_path(name)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            # The temporary file sits in our state dir (same filesystem), never beside the
            # manifest: Ollama would list a stray file in a model directory as a tag.
            tmp = self.state_dir / f"manifest-{os.getpid()}-{threading.get_ident()}.tmp"
            with open(tmp, "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        return self._load(name.path_parts, target)

    # -- references, removal and pruning -------------------------------------------------
    def referenced_digests(self, *, excluding: Iterable[Path] = ()) -> set[str]:
        """Digests any manifest needs. An unreadable manifest protects every digest it mentions."""
        skip = {p.resolve() for p in excluding}
        refs: set[str] = set()
        for _parts, path in self._manifest_files():
            if path.resolve() in skip:
                continue
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            try:
                refs.update(layer.digest for layer in Manifest.parse(raw).blobs)
            except ManifestError:
                refs.update("sha256:" + m.decode().lower() for m in _HEX_DIGEST_RE.findall(raw))
        return refs

    def plan_removal(
        self, names: Iterable[str | ModelName], *, default_host: str = DEFAULT_HOST
    ) -> RemovalPlan:
        plan = RemovalPlan()
        seen: set[Path] = set()
        for name in names:
            model = self.resolve(name, default_host=default_host)
            if model.manifest_path not in seen:
                seen.add(model.manifest_path)
                plan.models.append(model)
        keep = self.referenced_digests(excluding=seen) | self.pinned_digests()
        candidates: dict[str, int] = {}
        for model in plan.models:
            for layer in model.manifest.blobs:
                if layer.digest not in keep:
                    candidates[layer.digest] = layer.size
        for digest in candidates:
            path = self.blob_path(digest)
            with contextlib.suppress(FileNotFoundError):
                plan.blobs.append(BlobRef(digest, path.stat().st_size, path))
        return plan

    def remove(
        self,
        names: Iterable[str | ModelName],
        *,
        dry_run: bool = False,
        default_host: str = DEFAULT_HOST,
    ) -> RemovalPlan:
        """Delete manifests, their empty directories and blobs no other model references."""
        names = list(names)
        if dry_run:
            return self.plan_removal(names, default_host=default_host)
        with self.lock():
            plan = self.plan_removal(names, default_host=default_host)
            for model in plan.models:
                with contextlib.suppress(FileNotFoundError):
                    model.manifest_path.unlink()
                self._remove_empty_dirs(model.manifest_path.parent)
            for blob in plan.blobs:
                with contextlib.suppress(FileNotFoundError):
                    blob.path.unlink()
        return plan

    def _remove_empty_dirs(self, directory: Path) -> None:
        while directory != self.manifests_dir and self.manifests_dir in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def plan_prune(self, *, partial_max_age_s: float = 3600.0) -> PrunePlan:
        plan = PrunePlan()
        keep = self.referenced_digests() | self.pinned_digests()
        now = time.time()
        for entry in os.scandir(self.blobs_dir):
            if not entry.is_file(follow_symlinks=False):
                continue
            name_match = _BLOB_NAME_RE.fullmatch(entry.name)
            if name_match is not None:
                digest = "sha256:" + name_match.group(1)
                if digest not in keep:
                    plan.orphan_blobs.append(
                        BlobRef(digest, entry.stat().st_size, Path(entry.path))
                    )
                continue
            partial_match = _PARTIAL_RE.fullmatch(entry.name)
            if partial_match is None:
                continue  # not ours to judge: left alone
            digest = partial_match.group(1).replace("-", ":", 1)
            if digest in keep or now - entry.stat().st_mtime < partial_max_age_s:
                continue
            if self._being_downloaded(digest):
                continue
            plan.stale_partials.append(Path(entry.path))
            if partial_match.group(2) is None:
                plan.partial_bytes += entry.stat().st_blocks * 512  # sparse: count real usage
        return plan

    def _being_downloaded(self, digest: str) -> bool:
        return self.blob_lock(digest).held_elsewhere()

    def prune(self, *, dry_run: bool = False, partial_max_age_s: float = 3600.0) -> PrunePlan:
        """Delete blobs no manifest references and partial downloads nobody is writing."""
        if dry_run:
            return self.plan_prune(partial_max_age_s=partial_max_age_s)
        with self.lock():
            plan = self.plan_prune(partial_max_age_s=partial_max_age_s)
            for blob in plan.orphan_blobs:
                with contextlib.suppress(FileNotFoundError):
                    blob.path.unlink()
            for path in plan.stale_partials:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        return plan

    # -- verification ------------------------------------------------------------------------
    def verify(
        self,
        names: Iterable[str | ModelName] | None = None,
        *,
        on_bytes: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
        workers: int | None = None,
        default_host: str = DEFAULT_HOST,
    ) -> list[VerifyReport]:
        """Check presence, size and sha256 of every blob of the models (all when names is None).

        Each distinct blob is hashed once, in parallel (hashlib releases the GIL).
        """
        if names is None:
            models = self.list_models()
        else:
            models = [self.resolve(n, default_host=default_host) for n in names]
        layers: dict[str, Layer] = {}
        for model in models:
            for layer in model.manifest.blobs:
                layers.setdefault(layer.digest, layer)
        started = time.monotonic()
        results: dict[str, tuple[BlobProblem | None, int]] = {}

        def check(layer: Layer) -> tuple[str, BlobProblem | None, int]:
            return (layer.digest, *self._check_blob(layer, on_bytes, cancel))

        with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 2)) as pool:
            ordered = sorted(layers.values(), key=lambda x: -x.size)
            for digest, problem, checked in pool.map(check, ordered):
                results[digest] = (problem, checked)
        if cancel is not None and cancel.is_set():
            raise OperationCancelledError("Verification was cancelled.")
        elapsed = time.monotonic() - started
        reports = []
        for model in models:
            report = VerifyReport(model=model, seconds=elapsed)
            for layer in model.manifest.blobs:
                problem, checked = results[layer.digest]
                report.bytes_checked += checked
                if problem is not None:
                    report.problems.append(problem)
            reports.append(report)
        return reports

    def _check_blob(
        self,
        layer: Layer,
        on_bytes: Callable[[int], None] | None,
        cancel: threading.Event | None,
    ) -> tuple[BlobProblem | None, int]:
        path = self.blob_path(layer.digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return BlobProblem(layer.digest, "missing", "the blob file is missing"), 0
        if size != layer.size:
            detail = f"the file has {size} bytes, the manifest says {layer.size}"
            return BlobProblem(layer.digest, "size", detail), 0
        actual = hash_file(path, on_bytes=on_bytes, cancel=cancel)
        if actual is None:
            return None, 0
        if actual != layer.digest:
            detail = f"the content hashes to {actual[:19]}…"
            return BlobProblem(layer.digest, "digest", detail), size
        return None, size


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


def _unreadable(name: ModelName, error: ManifestError) -> ModelNotFoundError:
    unreadable = ModelNotFoundError(f"The manifest of {name.display} is unreadable: {error}")
    return with_fix(unreadable, "pull", name.display, purpose="to download it again")


def _subdirs(path: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
