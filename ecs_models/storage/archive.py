"""Export a model to one OCI image layout tar (optionally zstd) and import it back, verified."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from ecs_models.errors import (
    DigestMismatchError,
    EcsModelsError,
    ManifestError,
    OperationCancelledError,
    with_fix,
)
from ecs_models.formatting import human_bytes
from ecs_models.manifest import Layer, Manifest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.storage.disk import DiskLimits, HasMinFreeDisk, check_install_fits
from ecs_models.store.model_store import InstalledModel, ModelStore

OCI_LAYOUT_VERSION = "1.0.0"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MIN_SAVING = 0.05  # compress only when the archive gets at least 5 % smaller
ZSTD_LEVEL = 3
_CHUNK = 1 << 20
_SMALL = 4 << 20  # members up to this size are also kept in memory (index, manifest)
_SAMPLE = 256 << 10
_SAMPLES_PER_BLOB = 8
_BLOB_MEMBER_RE = re.compile(r"blobs/sha256/([0-9a-f]{64})")
_E = TypeVar("_E", bound=EcsModelsError)


class ArchiveError(EcsModelsError):
    """An archive that is not a model export, or that is damaged."""


@dataclass(slots=True)
class ExportResult:
    path: Path
    model: str
    tar_bytes: int  # the uncompressed tar
    written_bytes: int  # the file on disk
    compressed: bool
    # Savings zstd achieved (when it ran) or was estimated to achieve from samples.
    saving: float | None = None
    estimated_saving: float | None = None
    note: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "model": self.model,
            "tar_bytes": self.tar_bytes,
            "written_bytes": self.written_bytes,
            "compressed": self.compressed,
            "saving": self.saving,
            "estimated_saving": self.estimated_saving,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class ImportResult:
    model: InstalledModel
    blobs_written: list[str] = field(default_factory=list)
    blobs_reused: list[str] = field(default_factory=list)
    bytes_written: int = 0
    compressed: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.display,
            "name": str(self.model.name),
            "digest": self.model.digest,
            "blobs_written": self.blobs_written,
            "blobs_reused": self.blobs_reused,
            "bytes_written": self.bytes_written,
            "compressed": self.compressed,
            "seconds": round(self.seconds, 3),
        }


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError:
        raise EcsModelsError(
            "zstd archives need the zstandard package: pip install 'ecs-models[zstd]'."
        ) from None
    return zstandard


# -- export ----------------------------------------------------------------------------------


class _CountingWriter(io.RawIOBase):
    """Counts the bytes tarfile writes (the uncompressed size) before passing them on."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.target.write(view)
        self.count += view.nbytes
        return view.nbytes


class _VerifyingReader(io.RawIOBase):
    """Reads a blob for the tar while hashing it: the archive never carries damaged bytes."""

    def __init__(
        self,
        handle: IO[bytes],
        digest: str,
        on_bytes: Callable[[int], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self.handle = handle
        self.digest = digest
        self.sha = hashlib.sha256()
        self.on_bytes = on_bytes
        self.cancel = cancel

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.cancel is not None and self.cancel.is_set():
            raise OperationCancelledError("The export was cancelled.")
        data = self.handle.read(size)
        self.sha.update(data)
        if self.on_bytes is not None and data:
            self.on_bytes(len(data))
        return data

    def check(self) -> None:
        actual = "sha256:" + self.sha.hexdigest()
        if actual != self.digest:
            raise DigestMismatchError(
                f"Blob {self.digest[7:19]} in the store hashes to {actual[7:19]}."
            )


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0  # the same model always exports to the same bytes
    info.uname = info.gname = ""
    return info


def _index(model: InstalledModel) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [
            {
                "mediaType": model.manifest.media_type,
                "digest": model.digest,
                "size": len(model.manifest.raw),
                "annotations": {REF_NAME: str(model.name)},
            }
        ],
    }
    return json.dumps(doc, indent=2).encode()


def estimate_zstd_saving(store: ModelStore, layers: list[Layer]) -> float:
    """Fraction zstd would save, from evenly spread samples of each blob (size-weighted)."""
    zstandard = _zstd()
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    raw = packed = 0.0
    for layer in layers:
        if layer.size == 0:
            continue
        with open(store.blob_path(layer.digest), "rb") as handle:
            if layer.size <= _SAMPLE * _SAMPLES_PER_BLOB:
                offsets = [0]
                length = layer.size
            else:
                step = (layer.size - _SAMPLE) // (_SAMPLES_PER_BLOB - 1)
                offsets = [i * step for i in range(_SAMPLES_PER_BLOB)]
                length = _SAMPLE
            sampled = compressed = 0
            for offset in offsets:
                handle.seek(offset)
                data = handle.read(length)
                sampled += len(data)
                compressed += len(compressor.compress(data))
        if sampled:
            raw += layer.size
            packed += layer.size * compressed / sampled
    return 1.0 - packed / raw if raw else 0.0


def export_model(
    store: ModelStore,
    name: str | ModelName,
    output: str | os.PathLike[str],
    *,
    compress: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    default_host: str = DEFAULT_HOST,
) -> ExportResult:
    """Write the model as an OCI image layout tar, streamed blob by blob and hashed on the way.

    With compress="zstd" the tar is compressed when samples predict a saving of at least 5 %,
    and kept compressed only if the real saving reaches 5 %; otherwise it is a plain tar (the
    result says why). Blocking: run it on a worker thread.
    """
    if compress not in (None, "zstd"):
        raise EcsModelsError(f"Unknown compression {compress!r}; only zstd is supported.")
    started = time.monotonic()
    model = store.resolve(name, default_host=default_host)
    target = Path(output).expanduser()
    if target.is_dir():
        raise EcsModelsError(f"{target} is a directory; give the archive's file name.")
    blobs = list({b.digest: b for b in model.manifest.blobs}.values())
    for layer in blobs:
        if not store.has_blob(layer):
            raise _repair_first(
                EcsModelsError(
                    f"Blob {layer.digest[7:19]} of {model.display} is missing or incomplete."
                ),
                model,
            )
    result = ExportResult(target, model.display, 0, 0, False)
    use_zstd = False
    if compress == "zstd":
        result.estimated_saving = estimate_zstd_saving(store, blobs)
        use_zstd = result.estimated_saving >= MIN_SAVING
        if not use_zstd:
            result.note = (
                f"zstd would save about {result.estimated_saving:.1%} (below 5 %): "
                "written uncompressed"
            )
    with store.pin(b.digest for b in blobs):
        result.tar_bytes, result.written_bytes = _write_archive(
            store, model, blobs, target, use_zstd, on_bytes, cancel
        )
        if use_zstd:
            result.saving = 1.0 - result.written_bytes / result.tar_bytes
            result.compressed = True
            if result.saving < MIN_SAVING:
                result.note = (
                    f"zstd saved only {result.saving:.1%} (below 5 %): rewritten uncompressed"
                )
                result.compressed = False
                result.tar_bytes, result.written_bytes = _write_archive(
                    store, model, blobs, target, False, on_bytes, cancel
                )
    result.seconds = time.monotonic() - started
    return result


def _write_archive(
    store: ModelStore,
    model: InstalledModel,
    blobs: list[Layer],
    target: Path,
    use_zstd: bool,
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> tuple[int, int]:
    """(tar bytes, file bytes). Written beside the target and renamed: never a half archive."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as raw_file:
            if use_zstd:
                compressor = _zstd().ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
                with compressor.stream_writer(raw_file, closefd=False) as packed:
                    counter = _CountingWriter(packed)
                    _write_tar(store, model, blobs, counter, on_bytes, cancel)
            else:
                counter = _CountingWriter(raw_file)
                _write_tar(store, model, blobs, counter, on_bytes, cancel)
            raw_file.flush()
            os.fsync(raw_file.fileno())
        written = tmp.stat().st_size
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename in (str(tmp), tmp):
            # The temporary name means nothing to the person: name the file they asked for.
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    return counter.count, written


def _write_tar(
    store: ModelStore,
    model: InstalledModel,
    blobs: list[Layer],
    sink: _CountingWriter,
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> None:
    # index.json and the manifest first: an importer knows what to expect before the big blobs.
    layout = json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}).encode()
    index = _index(model)
    raw = model.manifest.raw
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        # Blobs are copied 1 MiB at a time instead of tarfile's 16 KiB.
        tar.copybufsize = _CHUNK  # type: ignore[attr-defined]
        tar.addfile(_tarinfo("oci-layout", len(layout)), io.BytesIO(layout))
        tar.addfile(_tarinfo("index.json", len(index)), io.BytesIO(index))
        manifest_hex = model.digest.removeprefix("sha256:")
        tar.addfile(_tarinfo(f"blobs/sha256/{manifest_hex}", len(raw)), io.BytesIO(raw))
        for layer in sorted(blobs, key=lambda b: b.size):
            with open(store.blob_path(layer.digest), "rb") as handle:
                reader = _VerifyingReader(handle, layer.digest, on_bytes, cancel)
                member = _tarinfo(
                    f"blobs/sha256/{layer.digest.removeprefix('sha256:')}", layer.size
                )
                tar.addfile(member, reader)
                try:
                    reader.check()
                except DigestMismatchError as exc:
                    raise _repair_first(exc, model) from None


def _repair_first(error: _E, model: InstalledModel) -> _E:
    return with_fix(error, "verify", "--repair", model.display, purpose="before exporting it")


# -- import ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Staged:
    path: Path | None  # None: reused from the store
    size: int
    data: bytes | None = None  # small members, kept for the index and manifest


def _open_archive(handle: IO[bytes]) -> tuple[IO[bytes], bool]:
    magic = handle.read(4)
    handle.seek(0)
    if magic == ZSTD_MAGIC:
        reader: IO[bytes] = _zstd().ZstdDecompressor().stream_reader(handle, read_size=_CHUNK)
        return reader, True
    return handle, False


def import_archive(
    store: ModelStore,
    path: str | os.PathLike[str],
    *,
    name: str | ModelName | None = None,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    limits: DiskLimits | HasMinFreeDisk | None = None,
    default_host: str = DEFAULT_HOST,
) -> ImportResult:
    """Install a model from an archive `export_model` wrote (plain or zstd tar).

    Every blob is hashed into a staging directory first; only once all match does anything
    move into blobs/ (blobs the store already has are reused), and the manifest comes last.
    A damaged archive leaves the store exactly as it was.
    """
    started = time.monotonic()
    source = Path(path).expanduser()
    if not source.is_file():
        raise ArchiveError(f"{source} is not a file.")
    staging = store.state_dir / f"import-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        with open(source, "rb") as handle:
            stream, compressed = _open_archive(handle)
            members = _read_members(store, stream, staging, on_bytes, cancel, limits, source)
        manifest_raw, ref = _manifest_from_index(members, source)
        manifest = Manifest.parse(manifest_raw)
        model_name = _import_name(name, ref, source, default_host)
        result = _commit(store, model_name, manifest, members, source)
        result.compressed = compressed
    except Exception as exc:
        if isinstance(exc, tarfile.TarError | EOFError | ManifestError) or _is_zstd_error(exc):
            raise ArchiveError(f"{source} is not a readable model archive: {exc}.") from exc
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _is_zstd_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("zstd")


def _read_members(
    store: ModelStore,
    stream: IO[bytes],
    staging: Path,
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
    limits: DiskLimits | HasMinFreeDisk | None,
    source: Path,
) -> dict[str, _Staged]:
    members: dict[str, _Staged] = {}
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if cancel is not None and cancel.is_set():
                raise OperationCancelledError("The import was cancelled; nothing was installed.")
            name = member.name.removeprefix("./")
            if member.isdir():
                continue
            if not member.isfile():
                raise ArchiveError(f"{source} holds {name!r}, which is not a regular file.")
            if name in ("oci-layout", "index.json"):
                if member.size > _SMALL:
                    raise ArchiveError(f"{source}'s {name} is implausibly large.")
                members[name] = _Staged(None, member.size, _read_small(tar, member))
                continue
            match = _BLOB_MEMBER_RE.fullmatch(name)
            if match is None:
                continue  # other files an OCI layout may carry are not ours to install
            digest = "sha256:" + match.group(1)
            if digest in members:
                raise ArchiveError(f"{source} holds blob {digest[7:19]} twice.")
            existing = store.blob_path(digest)
            if member.size > _SMALL and _has_size(existing, member.size):
                members[digest] = _Staged(None, member.size)  # reused: not even read
                continue
            check_install_fits(store, member.size, limits)
            members[digest] = _stage_blob(tar, member, digest, staging, on_bytes, cancel)
    return members


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    extracted = tar.extractfile(member)
    assert extracted is not None  # a regular file always has a reader
    data = extracted.read()
    if len(data) != member.size:
        raise ArchiveError("The archive ends in the middle of a file.")
    return data


def _stage_blob(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    digest: str,
    staging: Path,
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
) -> _Staged:
    extracted = tar.extractfile(member)
    assert extracted is not None
    sha = hashlib.sha256()
    target = staging / digest.replace(":", "-")
    keep = bytearray() if member.size <= _SMALL else None
    got = 0
    with open(target, "wb") as out:
        while chunk := extracted.read(_CHUNK):
            if cancel is not None and cancel.is_set():
                raise OperationCancelledError("The import was cancelled; nothing was installed.")
            sha.update(chunk)
            out.write(chunk)
            if keep is not None:
                keep += chunk
            got += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    if got != member.size:
        raise ArchiveError("The archive ends in the middle of a blob.")
    actual = "sha256:" + sha.hexdigest()
    if actual != digest:
        raise DigestMismatchError(
            f"The archive is damaged: blob {digest[7:19]} hashes to {actual[7:19]}; "
            "nothing was imported."
        )
    return _Staged(target, member.size, bytes(keep) if keep is not None else None)


def _manifest_from_index(members: dict[str, _Staged], source: Path) -> tuple[bytes, str | None]:
    layout, index = members.get("oci-layout"), members.get("index.json")
    if layout is None or index is None or layout.data is None or index.data is None:
        raise ArchiveError(f"{source} is not an OCI image layout (no oci-layout or index.json).")
    try:
        layout_doc = json.loads(layout.data)
        index_doc = json.loads(index.data)
    except ValueError as exc:
        raise ArchiveError(f"{source} has an unreadable oci-layout or index.json.") from exc
    if not isinstance(layout_doc, dict) or "imageLayoutVersion" not in layout_doc:
        raise ArchiveError(f"{source}'s oci-layout has no imageLayoutVersion.")
    entries = index_doc.get("manifests") if isinstance(index_doc, dict) else None
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise ArchiveError(f"{source}'s index.json must describe exactly one model.")
    entry = entries[0]
    digest = entry.get("digest")
    staged = members.get(digest) if isinstance(digest, str) else None
    if staged is None or staged.data is None:
        raise ArchiveError(f"{source} lacks the manifest its index.json names.")
    if entry.get("size") != len(staged.data):
        raise ArchiveError(f"{source}'s manifest size disagrees with its index.json.")
    annotations = entry.get("annotations")
    ref = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    return staged.data, ref if isinstance(ref, str) else None


def _import_name(
    name: str | ModelName | None, ref: str | None, source: Path, default_host: str
) -> ModelName:
    if isinstance(name, ModelName):
        return name
    text = name if name is not None else ref
    if text is None:
        raise ArchiveError(f"{source} does not name its model; give a name to import it as.")
    return parse_model_name(text, default_host=default_host)


def _commit(
    store: ModelStore,
    name: ModelName,
    manifest: Manifest,
    members: dict[str, _Staged],
    source: Path,
) -> ImportResult:
    for layer in manifest.blobs:
        staged = members.get(layer.digest)
        if staged is None:
            if store.has_blob(layer):
                continue
            raise ArchiveError(
                f"{source} lacks blob {layer.digest[7:19]} and the store does not have it."
            )
        if staged.size != layer.size:
            raise ArchiveError(
                f"Blob {layer.digest[7:19]} has {staged.size} bytes in {source}, "
                f"the manifest says {layer.size}."
            )
    result: ImportResult | None = None
    written: list[str] = []
    reused: list[str] = []
    nbytes = 0
    # Pinned from the first rename to the manifest: a concurrent cleanup must not take them.
    with store.pin(layer.digest for layer in manifest.blobs):
        for layer in {b.digest: b for b in manifest.blobs}.values():
            staged = members.get(layer.digest)
            if staged is None or staged.path is None or store.has_blob(layer):
                reused.append(layer.digest)
                continue
            os.chmod(staged.path, 0o644)
            os.replace(staged.path, store.blob_path(layer.digest))
            written.append(layer.digest)
            nbytes += layer.size
        model = store.write_manifest(name, manifest.raw)
        result = ImportResult(model, written, reused, nbytes)
    return result


def describe_export(result: ExportResult) -> str:
    """One line for the command line."""
    what = "zstd-compressed" if result.compressed else "uncompressed"
    text = f"exported {result.model} to {result.path} ({human_bytes(result.written_bytes)}, {what}"
    if result.compressed and result.saving is not None:
        text += f", {result.saving:.1%} smaller than the {human_bytes(result.tar_bytes)} tar"
    text += ")"
    return text + (f"; {result.note}" if result.note else "")
