"""The Ollama-compatible models directory: manifests, blobs, partials, references, locks."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecs_models.errors import (
    EcsModelsError,
    ManifestError,
    ModelNotFoundError,
    with_fix,
)
from ecs_models.formatting import rfc3339_nano
from ecs_models.manifest import Layer, Manifest, blob_file_name, normalize_digest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.manifest_policy import CONFIG_LIMIT
from ecs_models.store.cleanup import PRUNE_KINDS, CleanupKind, CleanupPlan, clean
from ecs_models.store.locking import FileLock
from ecs_models.store.scan import ManifestParts, manifest_files, referenced_digests
from ecs_models.store.verify import VerifyReport, verify_models

# Our own bookkeeping lives beside blobs/ and manifests/, never inside them: Ollama deletes
# unknown files in blobs/ and would list a file four levels under manifests/ as a model.
STATE_DIR_NAME = ".ecs-models"


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
    modified_ns: int = 0  # the manifest's mtime in nanoseconds, what Ollama's modified_at shows

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
            "modified_at": rfc3339_nano(self.modified_ns or int(self.modified.timestamp() * 1e9)),
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
    """What prune deleted (or would): cleanup's plan limited to orphans and stale partials."""

    orphan_blobs: list[BlobRef] = field(default_factory=list)
    stale_partials: list[Path] = field(default_factory=list)
    partial_bytes: int = 0

    @property
    def bytes_freed(self) -> int:
        return sum(blob.size for blob in self.orphan_blobs) + self.partial_bytes

    @classmethod
    def of(cls, plan: CleanupPlan) -> PrunePlan:
        prune = cls()
        for item in plan.of_kind(CleanupKind.ORPHAN_BLOB):
            prune.orphan_blobs.append(BlobRef(item.digest or "", item.bytes, item.path))
        for item in plan.of_kind(CleanupKind.STALE_PARTIAL):
            prune.stale_partials += [item.path, *item.extra_paths]
            prune.partial_bytes += item.bytes
        return prune


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
    def load_manifest(self, parts: ManifestParts, path: Path) -> InstalledModel:
        """The model whose manifest is at `path` (its host/namespace/model/tag `parts`)."""
        raw = path.read_bytes()
        manifest = Manifest.parse(raw)
        mtime_ns = path.stat().st_mtime_ns
        return InstalledModel(
            name=ModelName(*parts),
            manifest=manifest,
            manifest_path=path,
            modified=dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=dt.UTC),
            details=self._details(manifest),
            modified_ns=mtime_ns,
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
        for parts, path in manifest_files(self.manifests_dir):
            with contextlib.suppress(OSError, ManifestError):
                models.append(self.load_manifest(parts, path))
        models.sort(key=lambda m: m.display.lower())
        return models

    def unreadable_manifests(self) -> list[tuple[Path, str]]:
        problems = []
        for _parts, path in manifest_files(self.manifests_dir):
            try:
                Manifest.parse(path.read_bytes())
            except (OSError, ManifestError) as exc:
                problems.append((path, str(exc)))
        return problems

    def resolve(self, name: str | ModelName, *, default_host: str = DEFAULT_HOST) -> InstalledModel:
        """Find an installed model as Ollama does: each part matched without regard to case."""
        wanted = (
            parse_model_name(name, default_host=default_host) if isinstance(name, str) else name
        )
        existing = self.existing_name(wanted)
        path = self.manifest_path(existing)
        if path.is_file():
            try:
                return self.load_manifest(existing.path_parts, path)
            except ManifestError as exc:
                raise _unreadable(wanted, exc) from exc
        raise ModelNotFoundError(f"Model {wanted.display} is not installed.")

    def existing_name(self, name: ModelName) -> ModelName:
        """`name` with each part spelled as it already is on disk, as Ollama's getExistingName
        switches them before pull, show, rm and cp: `LLAMA3` finds and replaces `llama3`.

        The parts are matched down the manifest path (host, then namespace, model, tag), an
        exact spelling first, so a name spelled two ways by an older tool still finds the
        manifest it has; parts with no match on disk keep the case they were typed in.
        """
        wanted = name.path_parts
        found: list[str] = []

        def walk(directory: Path, chosen: list[str]) -> bool:
            depth = len(chosen)
            if depth == len(wanted):
                found[:] = chosen
                return True
            if depth > len(found):
                found[:] = chosen
            for spelling in _spellings(directory, wanted[depth], tag=depth == len(wanted) - 1):
                if walk(directory / spelling, [*chosen, spelling]):
                    return True
            return False

        walk(self.manifests_dir, [])
        host, namespace, model, tag = [*found, *wanted[len(found) :]]
        return ModelName(host, namespace, model, tag, name.scheme)

    def write_manifest(self, name: ModelName, raw: bytes) -> InstalledModel:
        """Install a manifest atomically, after checking every blob it names is complete.

        It lands under the spelling already on disk (existing_name), so `LLAMA3` replaces
        `llama3` instead of becoming a second model, as in Ollama.
        """
        manifest = Manifest.parse(raw)
        with self.lock():
            name = self.existing_name(name)
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
        return self.load_manifest(name.path_parts, target)

    def copy(
        self,
        source: str | ModelName,
        destination: str | ModelName,
        *,
        default_host: str = DEFAULT_HOST,
    ) -> tuple[InstalledModel, InstalledModel]:
        """Ollama's `cp`: the source's manifest bytes written again under `destination`.

        Both names are matched without regard to case (resolve, write_manifest), so copying
        onto a name already on disk in another spelling replaces it; no blob is copied.
        """
        model = self.resolve(source, default_host=default_host)
        target = (
            parse_model_name(destination, default_host=default_host)
            if isinstance(destination, str)
            else destination
        )
        return model, self.write_manifest(target, model.manifest.raw)

    # -- references, removal and pruning -------------------------------------------------
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
        keep = referenced_digests(self.manifests_dir, excluding=seen) | self.pinned_digests()
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

    def prune(self, *, dry_run: bool = False, partial_max_age_s: float = 3600.0) -> PrunePlan:
        """Delete blobs no manifest references and partial downloads nobody is writing:
        cleanup limited to those two kinds, under the same rules and the store lock."""
        plan = clean(self, dry_run=dry_run, partial_max_age_s=partial_max_age_s, kinds=PRUNE_KINDS)
        return PrunePlan.of(plan)

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
        """Check presence, size and sha256 of every blob of the models (all when names is None)."""
        if names is None:
            models = self.list_models()
        else:
            models = [self.resolve(n, default_host=default_host) for n in names]
        return verify_models(self, models, on_bytes=on_bytes, cancel=cancel, workers=workers)


def _spellings(directory: Path, part: str, *, tag: bool) -> list[str]:
    """Entries of `directory` equal to `part` but for ASCII case (model-name parts are ASCII),
    the exact spelling first: directories above the tag level, files at it."""
    folded = part.lower()
    matches: list[str] = []
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.isascii() or entry.name.lower() != folded:
                continue
            with contextlib.suppress(OSError):
                if (
                    entry.is_file(follow_symlinks=False)
                    if tag
                    else entry.is_dir(follow_symlinks=False)
                ):
                    matches.append(entry.name)
    return sorted(matches, key=lambda spelling: (spelling != part, spelling))


def _unreadable(name: ModelName, error: ManifestError) -> ModelNotFoundError:
    unreadable = ModelNotFoundError(f"The manifest of {name.display} is unreadable: {error}")
    return with_fix(unreadable, "pull", name.display, purpose="to download it again")
