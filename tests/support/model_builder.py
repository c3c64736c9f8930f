"""Build real GGUF files and Ollama-format models, push them to a registry or install them."""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gguf
import httpx
import numpy as np

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
OLLAMA_MEDIA_PREFIX = "application/vnd.ollama.image."
MODEL_MEDIA_TYPE = OLLAMA_MEDIA_PREFIX + "model"

# Above this size a blob is streamed from disk into the upload instead of read into memory.
STREAM_THRESHOLD = 64 * MIB
_CHUNK = 8 * MIB

FILE_TYPE_Q4_K_M = 15

SMALL_TEMPLATE = (
    "{{ if .System }}<|system|>{{ .System }}<|end|>{{ end }}<|user|>{{ .Prompt }}<|end|>"
)
SMALL_PARAMS: dict[str, Any] = {"stop": ["<|end|>", "<|user|>"], "temperature": 0.7}
SMALL_LICENSE = "MIT License\n\nCopyright (c) ecs_models test suite\n"


# --------------------------------------------------------------------------------------------
# Blobs and layers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobSpec:
    """One content-addressed blob: its digest, size, media type and where its bytes are."""

    digest: str
    size: int
    media_type: str
    path: Path | None = None
    data: bytes | None = None

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")

    @property
    def file_name(self) -> str:
        """Name of this blob in an Ollama models directory: `sha256-<hex>`."""
        return f"sha256-{self.hex}"

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def iter_chunks(self, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        if self.data is not None:
            for start in range(0, len(self.data), chunk_size):
                yield self.data[start : start + chunk_size]
            return
        assert self.path is not None
        with self.path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def manifest_entry(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class LayerSpec:
    """A layer to put in a model: a media type plus either a file on disk or bytes."""

    media_type: str
    path: Path | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("a LayerSpec needs exactly one of path or data")

    def to_blob(self) -> BlobSpec:
        if self.data is not None:
            digest = "sha256:" + hashlib.sha256(self.data).hexdigest()
            return BlobSpec(digest, len(self.data), self.media_type, data=self.data)
        assert self.path is not None
        digest, size = file_digest(self.path)
        return BlobSpec(digest, size, self.media_type, path=self.path)


def _ollama_media_type(suffix_or_type: str) -> str:
    return suffix_or_type if "/" in suffix_or_type else OLLAMA_MEDIA_PREFIX + suffix_or_type


def gguf_layer(path: str | os.PathLike[str], media_type: str = "model") -> LayerSpec:
    """A GGUF file as a layer (`model` by default; also `projector`, `adapter`, `draft`)."""
    return LayerSpec(_ollama_media_type(media_type), path=Path(path))


def file_layer(media_type: str, path: str | os.PathLike[str]) -> LayerSpec:
    return LayerSpec(_ollama_media_type(media_type), path=Path(path))


def text_layer(media_type_suffix: str, text: str) -> LayerSpec:
    """A UTF-8 text layer: `template`, `system`, `license`, `prompt`..."""
    return LayerSpec(_ollama_media_type(media_type_suffix), data=text.encode())


def bytes_layer(media_type: str, data: bytes) -> LayerSpec:
    return LayerSpec(_ollama_media_type(media_type), data=data)


def json_layer(media_type_suffix: str, value: Any) -> LayerSpec:
    """A JSON layer such as `params` or `messages`, serialized compactly like Ollama does."""
    return LayerSpec(_ollama_media_type(media_type_suffix), data=_compact_json(value))


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


_digest_cache: dict[tuple[str, int, int], tuple[str, int]] = {}
_digest_lock = threading.Lock()


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return ("sha256:<hex>", size) of a file, remembered while the file is unchanged."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _digest_lock:
        cached = _digest_cache.get(key)
    if cached is not None:
        return cached
    hasher = hashlib.sha256()
    size = 0
    with resolved.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    result = ("sha256:" + hasher.hexdigest(), size)
    with _digest_lock:
        _digest_cache[key] = result
    return result


# --------------------------------------------------------------------------------------------
# GGUF files
# --------------------------------------------------------------------------------------------

_FILE_TYPE_TENSOR_TYPE: dict[int, gguf.GGMLQuantizationType] = {
    0: gguf.GGMLQuantizationType.F32,
    1: gguf.GGMLQuantizationType.F16,
    2: gguf.GGMLQuantizationType.Q4_0,
    3: gguf.GGMLQuantizationType.Q4_1,
    7: gguf.GGMLQuantizationType.Q8_0,
    8: gguf.GGMLQuantizationType.Q5_0,
    9: gguf.GGMLQuantizationType.Q5_1,
    10: gguf.GGMLQuantizationType.Q2_K,
    11: gguf.GGMLQuantizationType.Q3_K,
    12: gguf.GGMLQuantizationType.Q3_K,
    13: gguf.GGMLQuantizationType.Q3_K,
    14: gguf.GGMLQuantizationType.Q4_K,
    15: gguf.GGMLQuantizationType.Q4_K,
    16: gguf.GGMLQuantizationType.Q5_K,
    17: gguf.GGMLQuantizationType.Q5_K,
    18: gguf.GGMLQuantizationType.Q6_K,
}


def file_type_name(file_type: int) -> str:
    """Ollama's name for a `general.file_type` value: 15 -> "Q4_K_M", 1 -> "F16"."""
    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return "unknown"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def human_number(count: int) -> str:
    """Parameter count as Ollama's format.HumanNumber prints it: "8B", "8.2B", "1.05M", "5K"."""
    if count >= 1_000_000_000:
        value = count / 1_000_000_000
        return f"{value:.0f}B" if value == math.floor(value) else f"{value:.1f}B"
    if count >= 1_000_000:
        value = count / 1_000_000
        return f"{value:.0f}M" if value == math.floor(value) else f"{value:.2f}M"
    if count >= 1_000:
        return f"{count / 1_000:.0f}K"
    return str(count)


def write_gguf(
    path: str | os.PathLike[str],
    *,
    arch: str = "llama",
    name: str = "ecs-test-model",
    n_layers: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    ctx: int = 2048,
    vocab: int = 32,
    tensor_bytes: int = 1 * MIB,
    file_type: int = FILE_TYPE_Q4_K_M,
    seed: int = 0,
    extra_kv: Mapping[str, str | int | float | bool] | None = None,
) -> Path:
    """Write a small but structurally real GGUF file; its tensor data totals ~`tensor_bytes`.

    The shape tensors (embeddings, attention, norms) are seeded normal float32; the rest of
    `tensor_bytes` goes into one `output.weight` tensor of the quantization type matching
    `file_type`, written in chunks so a 1 GiB file never sits in memory. Same arguments, same
    bytes: the file's sha256 is a pure function of the arguments.
    """
    if n_embd % n_head or n_head % n_head_kv:
        raise ValueError("n_embd must divide by n_head, and n_head by n_head_kv")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    head_dim = n_embd // n_head

    shape_tensors: list[tuple[str, np.ndarray[Any, np.dtype[np.float32]]]] = []

    def add(tensor_name: str, *shape: int) -> None:
        values = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        shape_tensors.append((tensor_name, values.astype(np.float32)))

    # numpy shapes are (rows, cols); GGUF stores them reversed (ne0 = cols).
    add("token_embd.weight", vocab, n_embd)
    for layer in range(n_layers):
        add(f"blk.{layer}.attn_norm.weight", n_embd)
        add(f"blk.{layer}.attn_q.weight", n_embd, n_embd)
        add(f"blk.{layer}.attn_k.weight", n_head_kv * head_dim, n_embd)
        add(f"blk.{layer}.attn_v.weight", n_head_kv * head_dim, n_embd)
        add(f"blk.{layer}.attn_output.weight", n_embd, n_embd)
        add(f"blk.{layer}.ffn_norm.weight", n_embd)
    add("output_norm.weight", n_embd)

    filler_type = _FILE_TYPE_TENSOR_TYPE.get(file_type, gguf.GGMLQuantizationType.Q4_K)
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[filler_type]
    row_elems = max(1, math.ceil(n_embd / block_elems)) * block_elems
    row_bytes = row_elems // block_elems * block_bytes
    shape_bytes = sum(values.nbytes for _, values in shape_tensors)
    filler_rows = max(0, tensor_bytes - shape_bytes) // row_bytes

    writer = gguf.GGUFWriter(None, arch)
    writer.add_name(name)
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_uint32(f"{arch}.context_length", ctx)
    writer.add_uint32(f"{arch}.block_count", n_layers)
    writer.add_uint32(f"{arch}.embedding_length", n_embd)
    writer.add_uint32(f"{arch}.feed_forward_length", 4 * n_embd)
    writer.add_uint32(f"{arch}.attention.head_count", n_head)
    writer.add_uint32(f"{arch}.attention.head_count_kv", n_head_kv)
    writer.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_string("tokenizer.ggml.model", "llama")
    tokens = ["<unk>", "<s>", "</s>", *(f"tok{i}" for i in range(3, vocab))][:vocab]
    writer.add_array("tokenizer.ggml.tokens", tokens)
    writer.add_array("tokenizer.ggml.scores", [float(-i) for i in range(vocab)])
    writer.add_array("tokenizer.ggml.token_type", [3 if i < 3 else 1 for i in range(vocab)])
    writer.add_uint32("tokenizer.ggml.bos_token_id", 1)
    writer.add_uint32("tokenizer.ggml.eos_token_id", 2)
    for key, value in (extra_kv or {}).items():
        _add_kv(writer, key, value)

    for tensor_name, values in shape_tensors:
        writer.add_tensor_info(tensor_name, values.shape, values.dtype, values.nbytes)
    if filler_rows:
        writer.add_tensor_info(
            "output.weight",
            (filler_rows, row_bytes),
            np.dtype(np.uint8),
            filler_rows * row_bytes,
            raw_dtype=filler_type,
        )

    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        writer.write_header_to_file(partial)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        assert writer.fout is not None
        out = writer.fout[0]
        # Tensor offsets in the info table are relative to an aligned data start, and each
        # tensor is padded to the alignment; writing the data by hand keeps the layout the
        # writer promised while letting the filler stream in chunks.
        writer.write_padding(out, out.tell())
        for _, values in shape_tensors:
            out.write(values.tobytes())
            writer.write_padding(out, values.nbytes)
        if filler_rows:
            remaining = filler_rows * row_bytes
            while remaining:
                count = min(remaining, _CHUNK)
                # Uniform float64 viewed as bytes: seeded, incompressible enough, and ~3x
                # faster than Generator.bytes for gigabyte files.
                words = rng.random(math.ceil(count / 8))
                out.write(words.view(np.uint8)[:count].tobytes())
                remaining -= count
            writer.write_padding(out, filler_rows * row_bytes)
        writer.close()
        os.replace(partial, target)
    finally:
        writer.close()
        partial.unlink(missing_ok=True)
    return target


def _add_kv(writer: gguf.GGUFWriter, key: str, value: str | int | float | bool) -> None:
    if isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, int):
        if value < 0:
            writer.add_int64(key, value)
        elif value >= 2**32:
            writer.add_uint64(key, value)
        else:
            writer.add_uint32(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    else:
        writer.add_string(key, value)


@dataclass(frozen=True)
class GGUFSummary:
    """What Ollama's config blob records about a GGUF file."""

    architecture: str
    file_type: str
    parameter_count: int


def gguf_summary(path: str | os.PathLike[str]) -> GGUFSummary | None:
    """Read architecture, file type and parameter count from a GGUF file; None if unreadable."""
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError, IndexError):
        return None
    arch_field = reader.get_field("general.architecture")
    type_field = reader.get_field("general.file_type")
    architecture = str(arch_field.contents()) if arch_field is not None else "llama"
    file_type = file_type_name(int(type_field.contents())) if type_field is not None else "unknown"
    parameters = sum(int(tensor.n_elements) for tensor in reader.tensors)
    return GGUFSummary(architecture, file_type, parameters)


GGUFFactory = Callable[..., Path]
"""Type of the `gguf_factory` fixture: keyword arguments of `write_gguf` -> a cached file."""

_gguf_cache_lock = threading.Lock()
_gguf_cache_dir: Path | None = None


def cached_gguf(
    tensor_bytes: int = 1 * MIB, seed: int = 0, directory: Path | None = None, **kwargs: Any
) -> Path:
    """A write_gguf file shared by every caller asking for the same arguments.

    Treat it as read-only: copy it first if a test needs to damage it.
    """
    global _gguf_cache_dir
    with _gguf_cache_lock:
        if directory is None:
            if _gguf_cache_dir is None:
                _gguf_cache_dir = Path(tempfile.mkdtemp(prefix="ecs-gguf-cache-"))
                atexit.register(shutil.rmtree, _gguf_cache_dir, ignore_errors=True)
            directory = _gguf_cache_dir
        key = json.dumps({"tensor_bytes": tensor_bytes, "seed": seed, **kwargs}, sort_keys=True)
        tag = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = directory / f"model-{tensor_bytes}-{seed}-{tag}.gguf"
        if not path.exists():
            write_gguf(path, tensor_bytes=tensor_bytes, seed=seed, **kwargs)
        return path


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltModel:
    """An Ollama-format model: the exact manifest bytes plus every blob they reference."""

    manifest_bytes: bytes
    manifest_digest: str
    config: BlobSpec
    layers: list[BlobSpec]
    config_dict: dict[str, Any] = field(compare=False)

    @property
    def blobs(self) -> list[BlobSpec]:
        """Layers then config: the order Ollama downloads them in."""
        return [*self.layers, self.config]

    @property
    def total_size(self) -> int:
        """What `ollama list` shows as SIZE: the sum of the manifest's sizes."""
        return sum(blob.size for blob in self.blobs)

    @property
    def id(self) -> str:
        """Ollama's model ID: the first 12 hex of the manifest digest."""
        return self.manifest_digest.removeprefix("sha256:")[:12]

    @property
    def manifest(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.manifest_bytes)
        return parsed

    def layer(self, media_type: str) -> BlobSpec:
        """The first layer with this media type (full type or Ollama suffix like "model")."""
        wanted = _ollama_media_type(media_type)
        for blob in self.layers:
            if blob.media_type == wanted:
                return blob
        raise KeyError(wanted)

    def blob(self, digest: str) -> BlobSpec:
        for candidate in self.blobs:
            if candidate.digest == digest:
                return candidate
        raise KeyError(digest)


@dataclass(frozen=True)
class PushedModel(BuiltModel):
    """A BuiltModel that is now in a registry under host/repository:tag."""

    host: str = ""
    repository: str = ""
    tag: str = ""

    @property
    def name(self) -> str:
        """The model name to pull it by: "127.0.0.1:PORT/namespace/model:tag"."""
        return f"{self.host}/{self.repository}:{self.tag}"


def default_config(layers: Sequence[BlobSpec]) -> dict[str, Any]:
    """An Ollama config blob for these layers, described from the model GGUF when readable."""
    summary: GGUFSummary | None = None
    for blob in layers:
        if blob.media_type == MODEL_MEDIA_TYPE and blob.path is not None:
            summary = gguf_summary(blob.path)
            break
    family = summary.architecture if summary else "llama"
    # Same key order as Ollama's ConfigV2 struct, so the bytes look like what it writes.
    return {
        "model_format": "gguf",
        "model_family": family,
        "model_families": [family],
        "model_type": human_number(summary.parameter_count) if summary else "1M",
        "file_type": summary.file_type if summary else "Q4_K_M",
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [blob.digest for blob in layers]},
    }


def build_model(layers: Sequence[LayerSpec], config: Mapping[str, Any] | None = None) -> BuiltModel:
    """Hash the layers, make the config blob and the manifest; nothing leaves the process.

    `config` keys override (or add to) the defaults of `default_config`.
    """
    blobs = [layer.to_blob() for layer in layers]
    config_dict = {**default_config(blobs), **(config or {})}
    config_bytes = _compact_json(config_dict)
    config_blob = BlobSpec(
        "sha256:" + hashlib.sha256(config_bytes).hexdigest(),
        len(config_bytes),
        CONFIG_MEDIA_TYPE,
        data=config_bytes,
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config_blob.manifest_entry(),
        "layers": [blob.manifest_entry() for blob in blobs],
    }
    manifest_bytes = _compact_json(manifest)
    return BuiltModel(
        manifest_bytes=manifest_bytes,
        manifest_digest="sha256:" + hashlib.sha256(manifest_bytes).hexdigest(),
        config=config_blob,
        layers=blobs,
        config_dict=config_dict,
    )


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


RegistryTarget = str | _HasUrl


def registry_base_url(target: RegistryTarget) -> str:
    """Base URL (http://host:port) of a RegistryServer, a CuttingProxy, a URL or a bare host."""
    text = target if isinstance(target, str) else target.url
    text = text.rstrip("/")
    return text if "://" in text else f"http://{text}"


def push_built_model(
    target: RegistryTarget,
    repository: str,
    tag: str,
    model: BuiltModel,
    *,
    client: httpx.Client | None = None,
) -> PushedModel:
    """Upload the blobs (skipping ones the repository has) and PUT the manifest."""
    base = registry_base_url(target)
    own_client = client is None
    http = client or httpx.Client(trust_env=False, timeout=httpx.Timeout(120.0, connect=5.0))
    try:
        for blob in model.blobs:
            _upload_blob(http, base, repository, blob)
        response = http.put(
            f"{base}/v2/{repository}/manifests/{tag}",
            content=model.manifest_bytes,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        )
        _expect(response, 201, "manifest PUT")
        served_digest = response.headers.get("Docker-Content-Digest")
        if served_digest is not None and served_digest != model.manifest_digest:
            raise AssertionError(
                f"registry stored manifest {served_digest}, we sent {model.manifest_digest}"
            )
    finally:
        if own_client:
            http.close()
    return PushedModel(
        manifest_bytes=model.manifest_bytes,
        manifest_digest=model.manifest_digest,
        config=model.config,
        layers=model.layers,
        config_dict=model.config_dict,
        host=httpx.URL(base).netloc.decode(),
        repository=repository,
        tag=tag,
    )


def push_model(
    target: RegistryTarget,
    repository: str,
    tag: str,
    layers: Sequence[LayerSpec],
    config: Mapping[str, Any] | None = None,
    *,
    client: httpx.Client | None = None,
) -> PushedModel:
    """Build an Ollama-format model from `layers` and push it with the OCI upload protocol."""
    return push_built_model(target, repository, tag, build_model(layers, config), client=client)


def _upload_blob(http: httpx.Client, base: str, repository: str, blob: BlobSpec) -> bool:
    blob_url = f"{base}/v2/{repository}/blobs/{blob.digest}"
    if http.head(blob_url).status_code == 200:
        return False
    started = http.post(f"{base}/v2/{repository}/blobs/uploads/")
    _expect(started, 202, "upload start")
    location = httpx.URL(base + "/").join(started.headers["Location"])
    upload_url = location.copy_merge_params({"digest": blob.digest})
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
    body: bytes | Iterator[bytes]
    if blob.data is None and blob.size > STREAM_THRESHOLD:
        # An explicit Content-Length keeps httpx from switching to chunked encoding.
        body = blob.iter_chunks()
    else:
        body = blob.read_bytes()
    finished = http.put(upload_url, content=body, headers=headers)
    _expect(finished, 201, f"upload of {blob.digest}")
    return True


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise AssertionError(
            f"{what}: {response.request.method} {response.request.url} answered "
            f"{response.status_code} (wanted {status}): {response.text[:500]}"
        )


def small_model_layers(gguf_path: str | os.PathLike[str]) -> list[LayerSpec]:
    """model + template + params + license, the shape of a typical library model."""
    return [
        gguf_layer(gguf_path),
        text_layer("template", SMALL_TEMPLATE),
        json_layer("params", SMALL_PARAMS),
        text_layer("license", SMALL_LICENSE),
    ]


def push_small_model(
    target: RegistryTarget,
    repository: str,
    tag: str = "latest",
    *,
    gguf_size: int = 1 * MIB,
    seed: int = 0,
    shared_gguf: str | os.PathLike[str] | None = None,
    client: httpx.Client | None = None,
) -> PushedModel:
    """Push a model + template + params + license model; the GGUF is cached per (size, seed).

    Models pushed with the same seed and size share their model blob, like real tags of one
    model do; `shared_gguf` forces a particular file.
    """
    gguf_path = Path(shared_gguf) if shared_gguf is not None else cached_gguf(gguf_size, seed)
    return push_model(target, repository, tag, small_model_layers(gguf_path), client=client)


def install_model(
    models_dir: str | os.PathLike[str],
    model: BuiltModel,
    *,
    host: str = "registry.ollama.ai",
    repository: str = "library/test",
    tag: str = "latest",
) -> Path:
    """Write a model straight into an Ollama models directory, as `ollama pull` leaves it.

    Returns the manifest path. Existing blobs are left alone (the store deduplicates).
    """
    root = Path(models_dir)
    namespace, _, model_name = repository.partition("/")
    if not model_name or "/" in model_name:
        raise ValueError(f"repository must be namespace/model, got {repository!r}")
    blobs_dir = root / "blobs"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    for blob in model.blobs:
        destination = blobs_dir / blob.file_name
        if destination.exists():
            continue
        partial = destination.with_name(destination.name + f".{os.getpid()}.tmp")
        if blob.path is not None:
            shutil.copyfile(blob.path, partial)
        else:
            partial.write_bytes(blob.read_bytes())
        os.replace(partial, destination)
    manifest_path = root / "manifests" / host / namespace / model_name / tag
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_bytes(model.manifest_bytes)
    return manifest_path
