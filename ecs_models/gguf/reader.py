"""GGUF v2/v3 reader: header, metadata, tensor table and the model facts derived from them."""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ecs_models.errors import EcsModelsError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
GGML_MAX_DIMS = 4
# Arrays longer than this are summarised (type and count), not decoded: tokenizer vocabularies
# hold hundreds of thousands of strings that no derived fact needs.
ARRAY_DECODE_LIMIT = 1024
_FIRST_READ = 256 << 10

# general.file_type -> the quantization name Ollama and llama.cpp show (gguf.LlamaFileType).
FILE_TYPE_NAMES: Mapping[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip

# ggml tensor type -> (name, elements per block, bytes per block) (gguf.GGML_QUANT_SIZES).
GGML_TYPES: Mapping[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}  # fmt: skip

# Metadata value types: struct format of the fixed-size ones; 8 = string, 9 = array.
_SCALAR_FORMATS: Mapping[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
    11: "<q", 12: "<d",
}  # fmt: skip
_STRING, _ARRAY = 8, 9
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# Sliding-window layer patterns llama.cpp hard-codes when the file does not say:
# with period n, layer i uses the window unless i % n == n - 1 (every n-th layer is global).
SLIDING_WINDOW_PERIODS: Mapping[str, int] = {"gemma2": 2, "gemma3": 6, "cohere2": 4}


class GGUFError(EcsModelsError):
    """A file or byte prefix that is not a readable GGUF model."""


class NeedMoreBytes(GGUFError):
    """A header prefix too short to parse: at least `required` bytes from offset 0 are needed.

    `hint`, when set, is a better guess of the total the header needs, made from what was parsed
    so far (the rest of an array of strings, the rest of the tensor table).
    """

    def __init__(self, required: int, *, hint: int | None = None, available: int = 0) -> None:
        super().__init__(
            f"The GGUF header needs at least {required} bytes but only {available} are available."
        )
        self.required = required
        self.hint = max(required, hint or 0)
        self.available = available


@dataclass(frozen=True, slots=True)
class ArraySummary:
    """A metadata array too long to decode: its element type and count."""

    element_type: int
    count: int


MetadataValue = int | float | bool | str | list[Any] | ArraySummary


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor table entry; `offset` is relative to the start of the data section."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def type_name(self) -> str:
        known = GGML_TYPES.get(self.ggml_type)
        return known[0] if known else f"type {self.ggml_type}"

    @property
    def nbytes(self) -> int | None:
        """Bytes of the tensor's data; None for a ggml type this reader does not know."""
        known = GGML_TYPES.get(self.ggml_type)
        if known is None:
            return None
        _name, block_elements, block_bytes = known
        return self.n_elements // block_elements * block_bytes


@dataclass(frozen=True, slots=True)
class GGUFHeader:
    """What was parsed: metadata always; the tensor table unless the parse stopped early."""

    version: int
    tensor_count: int
    kv_count: int
    metadata: dict[str, MetadataValue]
    tensors: tuple[TensorInfo, ...] | None  # None when the shape-only fast path stopped early
    alignment: int
    data_offset: int | None  # where tensor data starts; None when the parse stopped early
    bytes_parsed: int

    @property
    def complete(self) -> bool:
        return self.tensors is not None


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """The model facts derived from a GGUF header; None where the file does not say."""

    version: int
    architecture: str | None
    name: str | None
    file_type: int | None
    quantization: str | None
    parameter_count: int | None
    context_length: int | None
    block_count: int | None
    embedding_length: int | None
    head_count: int | None
    head_count_kv: int | None
    head_count_kv_per_layer: tuple[int, ...] | None
    key_length: int | None
    value_length: int | None
    sliding_window: int | None
    sliding_window_layers: tuple[bool, ...] | None  # per layer: True = uses the window
    vocab_size: int | None
    has_chat_template: bool | None
    tensor_count: int
    kv_count: int
    alignment: int
    data_offset: int | None
    header_bytes: int
    complete: bool  # False: the shape-only fast path stopped before the tokenizer arrays

    @property
    def kv_heads_by_layer(self) -> tuple[int, ...]:
        """KV heads of every layer (one number repeated unless the file lists them per layer)."""
        if self.head_count_kv_per_layer is not None:
            return self.head_count_kv_per_layer
        heads = self.head_count_kv if self.head_count_kv is not None else self.head_count
        return (heads or 0,) * (self.block_count or 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> GGUFInfo:
        values = dict(doc)
        for key in ("head_count_kv_per_layer", "sliding_window_layers"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


# -- byte sources ---------------------------------------------------------------------------


class _Source:
    """A growing buffer of the first bytes of a GGUF file or prefix."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.buf = bytearray(data) if not isinstance(data, bytearray) else data

    def ensure(self, end: int, *, hint: int | None = None) -> None:
        """Make buf hold bytes [0, end) or raise NeedMoreBytes."""
        if end > len(self.buf):
            raise NeedMoreBytes(end, hint=hint, available=len(self.buf))


class _FileSource(_Source):
    """Reads a file forward in growing chunks, so only the header is ever read."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__(bytearray())
        self._handle = handle
        self._size = os.fstat(handle.fileno()).st_size

    def ensure(self, end: int, *, hint: int | None = None) -> None:
        if end <= len(self.buf):
            return
        if end > self._size:
            # Checked before reading: a corrupt length must not become a huge read.
            raise NeedMoreBytes(end, hint=hint, available=self._size)
        target = min(self._size, max(end, hint or 0, len(self.buf) + _FIRST_READ))
        while len(self.buf) < end:
            chunk = self._handle.read(target - len(self.buf))
            if not chunk:  # the file shrank while we read it
                raise NeedMoreBytes(end, hint=hint, available=len(self.buf))
            self.buf += chunk


# -- the parser -----------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: _Source, array_limit: int | None = ARRAY_DECODE_LIMIT) -> None:
        self.source = source
        self.pos = 0
        self.array_limit = array_limit  # None: decode every array, however long

    def _take(self, size: int) -> int:
        start = self.pos
        end = start + size
        if end > len(self.source.buf):
            self.source.ensure(end)
        self.pos = end
        return start

    def u32(self) -> int:
        value: int = _U32.unpack_from(self.source.buf, self._take(4))[0]
        return value

    def u64(self) -> int:
        value: int = _U64.unpack_from(self.source.buf, self._take(8))[0]
        return value

    def string(self, what: str, *, strict: bool = True) -> str:
        length = self.u64()
        start = self._take(length)
        raw = bytes(self.source.buf[start : start + length])
        try:
            # Names must be exact; a value (a token, a template) with a stray byte is still usable.
            return raw.decode("utf-8", errors="strict" if strict else "replace")
        except UnicodeDecodeError as exc:
            raise GGUFError(f"The GGUF {what} at byte {start} is not valid UTF-8.") from exc

    def value(self, value_type: int, key: str) -> MetadataValue:
        fmt = _SCALAR_FORMATS.get(value_type)
        if fmt is not None:
            size = struct.calcsize(fmt)
            parsed: int | float | bool = struct.unpack_from(fmt, self.source.buf, self._take(size))[
                0
            ]
            return parsed
        if value_type == _STRING:
            return self.string(f"value of {key}", strict=False)
        if value_type == _ARRAY:
            return self.array(key)
        raise GGUFError(f"The GGUF metadata key {key} has unknown value type {value_type}.")

    def array(self, key: str) -> list[Any] | ArraySummary:
        element_type = self.u32()
        count = self.u64()
        if element_type == _ARRAY:
            raise GGUFError(f"The GGUF metadata key {key} is an array of arrays.")
        if self.array_limit is None or count <= self.array_limit:
            return [self.value(element_type, key) for _ in range(count)]
        fmt = _SCALAR_FORMATS.get(element_type)
        if fmt is not None:
            self._take(struct.calcsize(fmt) * count)
        elif element_type == _STRING:
            self.skip_strings(count)
        else:
            raise GGUFError(f"The GGUF metadata key {key} has unknown element type {element_type}.")
        return ArraySummary(element_type, count)

    def skip_strings(self, count: int) -> None:
        """Step over `count` length-prefixed strings without decoding them (the hot loop)."""
        buf = self.source.buf
        pos = self.pos
        start = pos
        unpack = _U64.unpack_from
        remaining = count
        while remaining:
            limit = len(buf) - 8
            # Parse every string whose length prefix is already in the buffer.
            while remaining and pos <= limit:
                pos += 8 + unpack(buf, pos)[0]
                remaining -= 1
            if not remaining:
                break
            done = count - remaining
            # The rest of the array is probably like what was already seen.
            average = (pos - start) / done if done else 16
            hint = pos + int(average * remaining) + 8
            self.pos = pos
            self.source.ensure(pos + 8, hint=hint)
            buf = self.source.buf
        if pos > len(buf):
            self.source.ensure(pos)
        self.pos = pos

    def header(self, *, shape_only: bool) -> GGUFHeader:
        self.source.ensure(4, hint=_FIRST_READ)
        magic = bytes(self.source.buf[:4])
        if magic != GGUF_MAGIC:
            raise GGUFError(
                "Not a GGUF file: it does not begin with the GGUF signature, so it is damaged "
                "or in another format."
            )
        self.pos = 4
        version = self.u32()
        if version not in SUPPORTED_VERSIONS:
            raise GGUFError(f"GGUF version {version} is not supported (only 2 and 3).")
        tensor_count = self.u64()
        kv_count = self.u64()
        metadata: dict[str, MetadataValue] = {}
        for index in range(kv_count):
            key = self.string(f"metadata key {index}")
            value_type = self.u32()
            if shape_only and value_type == _ARRAY and key.startswith("tokenizer."):
                # The fast path: remember the vocabulary size from the array's own count and
                # stop before its (megabytes of) elements.
                element_type = self.u32()
                metadata[key] = ArraySummary(element_type, self.u64())
                alignment = _alignment(metadata)
                return GGUFHeader(
                    version, tensor_count, kv_count, metadata, None, alignment, None, self.pos
                )
            try:
                metadata[key] = self.value(value_type, key)
            except NeedMoreBytes as exc:
                # What is left after this item, guessed low (short keys, short tensor names) so
                # a remote fetch asks for a little too little rather than past the header.
                rest = (kv_count - index - 1) * 24 + tensor_count * 48
                raise NeedMoreBytes(
                    exc.required, hint=exc.hint + rest, available=exc.available
                ) from None
        alignment = _alignment(metadata)
        tensors = self.tensor_table(tensor_count)
        data_offset = -(-self.pos // alignment) * alignment
        return GGUFHeader(
            version, tensor_count, kv_count, metadata, tensors, alignment, data_offset, self.pos
        )

    def tensor_table(self, count: int) -> tuple[TensorInfo, ...]:
        tensors: list[TensorInfo] = []
        start = self.pos
        for index in range(count):
            try:
                tensors.append(self.tensor(index))
            except NeedMoreBytes as exc:
                average = (self.pos - start) / index if index else 64
                raise NeedMoreBytes(
                    exc.required,
                    hint=start + int(average * count * 1.02) + 64,
                    available=exc.available,
                ) from None
        return tuple(tensors)

    def tensor(self, index: int) -> TensorInfo:
        name = self.string(f"name of tensor {index}")
        n_dims = self.u32()
        if n_dims > GGML_MAX_DIMS:
            raise GGUFError(f"Tensor {name} has {n_dims} dimensions; GGUF allows at most 4.")
        shape = tuple(self.u64() for _ in range(n_dims))
        ggml_type = self.u32()
        offset = self.u64()
        return TensorInfo(name, shape, ggml_type, offset)


def _alignment(metadata: Mapping[str, MetadataValue]) -> int:
    value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value & (value - 1):
        raise GGUFError(f"general.alignment {value!r} is not a power of two.")
    return value


# -- public API -----------------------------------------------------------------------------


def parse_header_bytes(
    data: bytes | bytearray | memoryview, *, shape_only: bool = False
) -> GGUFHeader:
    """Parse a GGUF header from the first bytes of a file; NeedMoreBytes when they are too few."""
    return _Parser(_Source(data)).header(shape_only=shape_only)


def read_header(
    path: Path, *, shape_only: bool = False, array_limit: int | None = ARRAY_DECODE_LIMIT
) -> GGUFHeader:
    """Parse a GGUF file's header, reading only as far as the header goes.

    Arrays longer than `array_limit` are stepped over and summarised; None decodes them all
    (a tokenizer's vocabulary: hundreds of thousands of strings).
    """
    try:
        with open(path, "rb") as handle:
            return _Parser(_FileSource(handle), array_limit).header(shape_only=shape_only)
    except NeedMoreBytes as exc:
        raise GGUFError(
            f"{path.name} is truncated: it ends at byte {exc.available}, inside its GGUF header."
        ) from None
    except OSError as exc:
        raise GGUFError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def read_gguf_info_bytes(
    data: bytes | bytearray | memoryview, *, shape_only: bool = False
) -> GGUFInfo:
    """Model facts from a downloaded header prefix; NeedMoreBytes when it is too short."""
    return derive_info(parse_header_bytes(data, shape_only=shape_only))


def read_gguf_info(path: Path, *, shape_only: bool = False) -> GGUFInfo:
    """Model facts of a GGUF file; `shape_only` stops before the tokenizer arrays (fast).

    The fast path keeps every fact the memory estimate needs; facts written after the tokenizer
    (often general.file_type, the chat template) and the tensor-derived parameter count may be
    None there. When a shape key itself sits after the tokenizer, it falls back to a full read.
    """
    header = read_header(path, shape_only=shape_only)
    info = derive_info(header)
    if shape_only and not header.complete and info.block_count is None:
        info = derive_info(read_header(path))
    return info


def validate_structure(path: Path) -> list[str]:
    """Problems that stop a runtime from loading this GGUF file; an empty list means it is sound.

    Checks magic, version, that the metadata and tensor table parse, that every tensor's data
    lies inside the file (Ollama's own check) and is aligned, and that its type is known.
    """
    try:
        size = os.stat(path).st_size
        header = read_header(path)
    except GGUFError as exc:
        return [str(exc)]
    except OSError as exc:
        return [f"Cannot read {path.name}: {exc.strerror or exc}."]
    problems: list[str] = []
    assert header.tensors is not None and header.data_offset is not None
    if header.data_offset > size:
        problems.append(
            f"{path.name} is truncated: its tensor data should start at byte {header.data_offset} "
            f"but the file has {size} bytes."
        )
    for tensor in header.tensors:
        nbytes = tensor.nbytes
        if nbytes is None:
            problems.append(f"Tensor {tensor.name} has unknown ggml type {tensor.ggml_type}.")
            continue
        if tensor.offset % header.alignment:
            problems.append(
                f"Tensor {tensor.name} starts at offset {tensor.offset}, not a multiple of the "
                f"alignment {header.alignment}."
            )
        end = header.data_offset + tensor.offset + nbytes
        if end > size:
            problems.append(
                f"Tensor {tensor.name}'s data ends at byte {end}, beyond the end of {path.name} "
                f"at byte {size}."
            )
    return problems


def quantization_name(file_type: int | None) -> str | None:
    """Ollama's name for general.file_type: 15 -> "Q4_K_M"; "unknown" for unlisted numbers."""
    if file_type is None:
        return None
    return FILE_TYPE_NAMES.get(file_type, "unknown")


def derive_info(header: GGUFHeader) -> GGUFInfo:
    """Architecture, size and shape facts from parsed metadata (and the tensor table)."""
    meta = header.metadata
    arch = _text(meta.get("general.architecture"))

    def arch_key(suffix: str) -> MetadataValue | None:
        return meta.get(f"{arch}.{suffix}") if arch else None

    block_count = _int(arch_key("block_count"))
    embedding = _int(arch_key("embedding_length"))
    heads = _int_or_max(arch_key("attention.head_count"))
    kv_raw = arch_key("attention.head_count_kv")
    kv_per_layer = tuple(kv_raw) if _int_list(kv_raw) else None  # type: ignore[arg-type]
    kv_heads = max(kv_per_layer) if kv_per_layer else _int(kv_raw)
    head_dim = embedding // heads if embedding and heads else None
    key_length = _int(arch_key("attention.key_length")) or head_dim
    value_length = _int(arch_key("attention.value_length")) or head_dim
    window = _int(arch_key("attention.sliding_window")) or None
    file_type = _int(meta.get("general.file_type"))

    parameter_count = _int(meta.get("general.parameter_count"))
    if parameter_count is None and header.tensors is not None:
        parameter_count = sum(t.n_elements for t in header.tensors)

    tokens = meta.get("tokenizer.ggml.tokens")
    vocab = len(tokens) if isinstance(tokens, list) else None
    if isinstance(tokens, ArraySummary):
        vocab = tokens.count
    if vocab is None:
        vocab = _int(arch_key("vocab_size"))

    chat_template: bool | None = any(
        k == "tokenizer.chat_template" or k.startswith("tokenizer.chat_template.") for k in meta
    )
    if not chat_template and not header.complete:
        chat_template = None  # it may sit after the point where the fast path stopped

    return GGUFInfo(
        version=header.version,
        architecture=arch,
        name=_text(meta.get("general.name")),
        file_type=file_type,
        quantization=quantization_name(file_type),
        parameter_count=parameter_count,
        context_length=_int(arch_key("context_length")),
        block_count=block_count,
        embedding_length=embedding,
        head_count=heads,
        head_count_kv=kv_heads,
        head_count_kv_per_layer=kv_per_layer,
        key_length=key_length,
        value_length=value_length,
        sliding_window=window,
        sliding_window_layers=_sliding_layers(arch, window, block_count, arch_key),
        vocab_size=vocab,
        has_chat_template=chat_template,
        tensor_count=header.tensor_count,
        kv_count=header.kv_count,
        alignment=header.alignment,
        data_offset=header.data_offset,
        header_bytes=header.bytes_parsed,
        complete=header.complete,
    )


def _sliding_layers(
    arch: str | None,
    window: int | None,
    block_count: int | None,
    arch_key: Any,
) -> tuple[bool, ...] | None:
    """Which layers attend only within the window, as llama.cpp decides it."""
    if not window or not block_count:
        return None
    pattern = arch_key("attention.sliding_window_pattern")
    if isinstance(pattern, list) and len(pattern) == block_count:
        return tuple(bool(x) for x in pattern)
    period = _int(pattern) if not isinstance(pattern, list) else None
    if period is None:
        period = SLIDING_WINDOW_PERIODS.get(arch or "")
    if period is None:
        # A window without a known pattern: llama.cpp applies it to every layer (mistral-style).
        return (True,) * block_count
    return tuple(period == 0 or i % period < period - 1 for i in range(block_count))


def _text(value: MetadataValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: MetadataValue | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _int_list(value: MetadataValue | None) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(x, int) and not isinstance(x, bool) for x in value)
    )


def _int_or_max(value: MetadataValue | None) -> int | None:
    if _int_list(value):
        assert isinstance(value, list)
        return max(int(x) for x in value)
    return _int(value)
