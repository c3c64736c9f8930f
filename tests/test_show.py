"""`show` against real models: the Gemma 3 270M GGUF, and small GGUFs pushed to a real registry
and pulled back, each with one capability trait; broken model files give one sentence.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from lifecycle_support import pull
from support.model_builder import (
    KIB,
    build_model,
    bytes_layer,
    cached_gguf,
    gguf_layer,
    install_model,
    json_layer,
    push_model,
    text_layer,
)
from support.modelfile import parse_modelfile
from support.registry_server import RegistryServer
from test_cli import run_cli

from ecs_models.show.facts import show_model
from ecs_models.store.model_store import ModelStore

GEMMA_TEMPLATE = """{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}"""
GEMMA_PARAMS = {"stop": ["<end_of_turn>"], "temperature": 1, "top_k": 64, "top_p": 0.95}
GEMMA_LICENSE = 'Gemma Terms of Use\n\nLast modified: February 21, 2024\n\nBy using "Gemma"...\n'
GEMMA_PARAMETER_COUNT = 268_098_176
GEMMA_NAME = "gemma3:270m"
# Every scalar of the Gemma GGUF but general.name and tokenizer.chat_template, as the gguf
# package's GGUFReader reads them (compared once in full, tensors and arrays too: the reader
# needs about 30 s for this file, so the values are written out here).
GEMMA_SCALARS = {
    "gemma3.attention.head_count": 4,
    "gemma3.attention.head_count_kv": 1,
    "gemma3.attention.key_length": 256,
    "gemma3.attention.layer_norm_rms_epsilon": 1e-06,
    "gemma3.attention.sliding_window": 512,
    "gemma3.attention.value_length": 256,
    "gemma3.block_count": 18,
    "gemma3.context_length": 32768,
    "gemma3.embedding_length": 640,
    "gemma3.feed_forward_length": 2048,
    "gemma3.rope.freq_base": 1000000.0,
    "general.architecture": "gemma3",
    "general.basename": "gemma-3",
    "general.file_type": 15,
    "general.license": "gemma",
    "general.parameter_count": 268098176,
    "general.quantization_version": 2,
    "general.size_label": "270M",
    "general.type": "model",
    "tokenizer.ggml.add_bos_token": True,
    "tokenizer.ggml.add_eos_token": False,
    "tokenizer.ggml.add_sep_token": False,
    "tokenizer.ggml.add_space_prefix": False,
    "tokenizer.ggml.bos_token_id": 2,
    "tokenizer.ggml.eos_token_id": 1,
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.padding_token_id": 0,
    "tokenizer.ggml.pre": "default",
    "tokenizer.ggml.unknown_token_id": 3,
}
# Go's time.RFC3339Nano in UTC.
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


@pytest.fixture(scope="module")
def gemma_models(tmp_path_factory: pytest.TempPathFactory, gemma_file: Path) -> Path:
    """A models directory holding Gemma 3 270M with a template, parameters and a licence."""
    models = tmp_path_factory.mktemp("gemma-models")
    layers = [
        gguf_layer(gemma_file),
        text_layer("template", GEMMA_TEMPLATE),
        json_layer("params", GEMMA_PARAMS),
        text_layer("license", GEMMA_LICENSE),
    ]
    install_model(models, build_model(layers), repository="library/gemma3", tag="270m")
    return models


def show_json(models: Path, *options: str) -> dict[str, Any]:
    result = run_cli("show", GEMMA_NAME, "--json", *options, models=models)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# -- Gemma 3 270M ----------------------------------------------------------------------------


def test_gemma_json_is_api_show_with_the_gguf_facts(gemma_models: Path) -> None:
    doc = show_json(gemma_models)
    # /api/show's fields in Ollama's order; nothing it does not send.
    assert list(doc) == [
        "license",
        "modelfile",
        "parameters",
        "template",
        "details",
        "model_info",
        "capabilities",
        "modified_at",
    ]
    info = doc["model_info"]
    assert info["general.architecture"] == "gemma3"
    count = info["general.parameter_count"]
    assert type(count) is int and count == GEMMA_PARAMETER_COUNT
    assert info["gemma3.context_length"] == 32768
    assert info["gemma3.block_count"] == 18
    assert info["gemma3.embedding_length"] == 640
    assert info["general.file_type"] == 15
    assert doc["details"]["quantization_level"] == "Q4_K_M"
    assert doc["details"]["family"] == "gemma3"
    assert doc["details"]["context_length"] == 32768
    assert doc["details"]["embedding_length"] == 640
    assert doc["capabilities"] == ["completion"]
    assert list(info) == sorted(info), "Go encodes map keys sorted"

    # Every scalar the GGUF holds; Ollama leaves out general.name and the chat template.
    scalars = {key: value for key, value in info.items() if not isinstance(value, list | None)}
    assert scalars == GEMMA_SCALARS
    # Without --verbose, arrays (the tokenizer's 262,144 tokens) are null and no tensors.
    assert info["tokenizer.ggml.tokens"] is None
    assert info["tokenizer.ggml.scores"] is None

    assert doc["template"] == GEMMA_TEMPLATE
    assert doc["license"] == GEMMA_LICENSE
    assert doc["parameters"] == "\n".join(
        [
            'stop                           "<end_of_turn>"',
            "temperature                    1",
            "top_k                          64",
            "top_p                          0.95",
        ]
    )
    match = RFC3339_NANO.match(doc["modified_at"])
    assert match is not None, doc["modified_at"]
    manifest = gemma_models / "manifests/registry.ollama.ai/library/gemma3/270m"
    nanos = manifest.stat().st_mtime_ns % 1_000_000_000
    assert (match.group(1) or ".").lstrip(".") == f"{nanos:09d}".rstrip("0")


def test_gemma_verbose_adds_tokenizer_arrays_and_tensors(gemma_models: Path) -> None:
    doc = show_json(gemma_models, "--verbose")
    info = doc["model_info"]
    tokens = info["tokenizer.ggml.tokens"]
    assert len(tokens) == 262144
    assert tokens[:5] == ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    assert tokens[-2:] == ["<unused6240>", "<unused6241>"]
    assert len(info["tokenizer.ggml.scores"]) == len(info["tokenizer.ggml.token_type"]) == 262144
    assert info["general.tags"] is not None
    tensors = doc["tensors"]
    assert len(tensors) == 236
    assert sum(math.prod(t["shape"]) for t in tensors) == GEMMA_PARAMETER_COUNT
    assert tensors[:2] == [
        {"name": "output_norm.weight", "type": "F32", "shape": [640]},
        {"name": "token_embd.weight", "type": "Q8_0", "shape": [640, 262144]},
    ]
    assert {"name": "blk.0.attn_output.weight", "type": "Q4_K", "shape": [1024, 640]} in tensors

    text = run_cli("show", GEMMA_NAME, "--verbose", models=gemma_models)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "  Metadata" in lines and "  Tensors" in lines
    assert "    general.parameter_count                    268098176" in lines
    assert "    tokenizer.ggml.tokens                      [<pad> ...+262143 more]" in lines
    assert "    token_embd.weight                    Q8_0    [640 262144]" in lines


def test_gemma_text_has_ollamas_sections(gemma_models: Path) -> None:
    result = run_cli("show", GEMMA_NAME, models=gemma_models)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "  Model",
        "    architecture        gemma3",
        "    parameters          268.10M",
        "    context length      32768",
        "    embedding length    640",
        "    quantization        Q4_K_M",
        "",
        "  Capabilities",
        "    completion",
        "",
        "  Parameters",
        '    stop           "<end_of_turn>"',
        "    temperature    1",
        "    top_k          64",
        "    top_p          0.95",
        "",
        "  License",
        "    Gemma Terms of Use",
        "    Last modified: February 21, 2024",
        "    ...",
        "",
    ]


def test_each_part_prints_alone(gemma_models: Path) -> None:
    def alone(flag: str) -> str:
        result = run_cli("show", GEMMA_NAME, flag, models=gemma_models)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert alone("--template") == GEMMA_TEMPLATE  # exactly, as `ollama show --template`
    assert alone("--system") == ""
    assert alone("--license") == GEMMA_LICENSE + "\n"
    assert alone("--parameters").splitlines()[0] == 'stop                           "<end_of_turn>"'
    both = run_cli("show", GEMMA_NAME, "--json", "--license", models=gemma_models)
    assert both.returncode == 2 and both.stdout == ""
    assert both.stderr.startswith("error: ") and len(both.stderr.splitlines()) == 1


def test_gemma_modelfile_reads_back_with_ollamas_parser(gemma_models: Path) -> None:
    result = run_cli("show", GEMMA_NAME, "--modelfile", models=gemma_models)
    assert result.returncode == 0, result.stderr
    commands = parse_modelfile(result.stdout)
    store = ModelStore(gemma_models)
    model = store.resolve(GEMMA_NAME)
    model_layer = model.manifest.layer_of_kind("model")
    assert model_layer is not None
    assert commands == [
        ("model", str(store.blob_path(model_layer.digest))),
        ("template", GEMMA_TEMPLATE),
        ("stop", "<end_of_turn>"),
        ("temperature", "1"),
        ("top_k", "64"),
        ("top_p", "0.95"),
        ("license", GEMMA_LICENSE),
    ]
    assert result.stdout.splitlines()[2] == "# FROM gemma3:270m"


# -- traits of small generated models, pulled from the registry -----------------------------

TOOLS_TEMPLATE = (
    "{{ if .Tools }}<tools>{{ range .Tools }}{{ json . }}{{ end }}</tools>{{ end }}"
    "{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}"
)
SUFFIX_TEMPLATE = (
    "{{- if .Suffix }}<fim_prefix>{{ .Prompt }}<fim_suffix>{{ .Suffix }}<fim_middle>"
    "{{- else }}{{ .Prompt }}{{ end }}"
)
THINKING_TEMPLATE = (
    '{{- range $i, $m := .Messages }}{{ if eq .Role "assistant" }}'
    "{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ .Content }}"
    "{{ else }}{{ .Content }}{{ end }}{{ end }}"
)
# .Thinking outside a range over .Messages is no thinking support, for Ollama too.
STRAY_THINKING_TEMPLATE = "{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ .Prompt }}"
PROJECTOR_KV = {
    "clip.has_vision_encoder": True,
    "clip.vision.embedding_length": 32,
    "clip.vision.projection_dim": 64,
}


def small_gguf(seed: int, **kwargs: Any) -> Path:
    return cached_gguf(tensor_bytes=64 * KIB, seed=seed, **kwargs)


TRAITS: dict[str, tuple[dict[str, Any], str, bool, list[str]]] = {
    # name: (write_gguf arguments, template, with a projector layer, capabilities)
    "plain": ({}, "{{ .Prompt }}", False, ["completion"]),
    "tools": ({}, TOOLS_TEMPLATE, False, ["completion", "tools"]),
    "insert": ({}, SUFFIX_TEMPLATE, False, ["completion", "insert"]),
    "thinking": ({}, THINKING_TEMPLATE, False, ["completion", "thinking"]),
    "stray-thinking": ({}, STRAY_THINKING_TEMPLATE, False, ["completion"]),
    "vision-keys": (
        {"arch": "gemma3", "extra_kv": {"gemma3.vision.block_count": 2}},
        "{{ .Prompt }}",
        False,
        ["completion", "vision"],
    ),
    "projector": ({}, "{{ .Prompt }}", True, ["completion", "vision"]),
    "embedding": (
        {"arch": "bert", "extra_kv": {"bert.pooling_type": 1}},
        "{{ .Prompt }}",
        False,
        ["embedding"],
    ),
    "everything": (
        {"arch": "qwen3", "extra_kv": {"qwen3.vision.block_count": 2}},
        TOOLS_TEMPLATE + SUFFIX_TEMPLATE + THINKING_TEMPLATE,
        False,
        ["completion", "vision", "tools", "insert", "thinking"],
    ),
}


@pytest.mark.parametrize("trait", list(TRAITS))
def test_capabilities_of_pulled_models(
    trait: str, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    gguf_kwargs, template, projector, expected = TRAITS[trait]
    layers = [gguf_layer(small_gguf(seed=71, **gguf_kwargs)), text_layer("template", template)]
    if projector:
        projector_file = small_gguf(seed=72, arch="clip", extra_kv=PROJECTOR_KV)
        layers.append(gguf_layer(projector_file, "projector"))
    pushed = push_model(registry, unique_repo, "latest", layers)
    store = ModelStore(models_dir)
    installed = pull(store, pushed.name)

    doc = show_model(store, installed).response
    assert doc["capabilities"] == expected
    arch = gguf_kwargs.get("arch", "llama")
    assert doc["model_info"]["general.architecture"] == arch
    assert doc["model_info"][f"{arch}.context_length"] == 2048
    for key, value in gguf_kwargs.get("extra_kv", {}).items():
        assert doc["model_info"][key] == value
    if projector:
        assert doc["projector_info"]["general.architecture"] == "clip"
        assert doc["projector_info"]["clip.vision.projection_dim"] == 64


def test_projector_section_and_capabilities_in_the_text(
    registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    projector_file = small_gguf(seed=72, arch="clip", extra_kv=PROJECTOR_KV)
    layers = [
        gguf_layer(small_gguf(seed=73)),
        gguf_layer(projector_file, "projector"),
        text_layer("template", TOOLS_TEMPLATE),
        text_layer("system", " You look at pictures.\nAnd describe them."),
        text_layer("license", "Model licence"),
        text_layer("license", "Projector licence\n"),
    ]
    pushed = push_model(registry, unique_repo, "latest", layers)
    store = ModelStore(models_dir)
    pull(store, pushed.name)

    result = run_cli("show", pushed.name, models=models_dir)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "  Capabilities\n    completion\n    tools\n    vision\n" in text
    assert "  Projector\n    architecture        clip\n" in text
    assert "    embedding length    32\n    dimensions          64\n" in text
    assert "  System\n    You look at pictures.\n    And describe them.\n" in text

    # Two licences are one string, joined as Ollama joins them.
    doc = json.loads(run_cli("show", pushed.name, "--json", models=models_dir).stdout)
    assert doc["license"] == "Model licence\nProjector licence\n"
    assert doc["system"] == " You look at pictures.\nAnd describe them."

    modelfile = run_cli("show", pushed.name, "--modelfile", models=models_dir).stdout
    commands = parse_modelfile(modelfile)
    paths = [Path(args) for name, args in commands if name == "model"]
    assert [path.name for path in paths] == [
        pushed.layer("model").file_name,
        pushed.layer("projector").file_name,
    ]
    assert all(path.is_file() for path in paths)
    assert ("template", TOOLS_TEMPLATE) in commands
    # A leading space and a newline survive Ollama's quoting rules.
    assert ("system", " You look at pictures.\nAnd describe them.") in commands
    assert [args for name, args in commands if name == "license"] == [
        "Model licence",
        "Projector licence\n",
    ]


# -- what is not a GGUF ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "sentence"),
    [
        ("not-gguf", "Not a GGUF file"),
        ("truncated", "is truncated"),
        ("missing", "Cannot read"),
    ],
)
def test_a_broken_model_file_is_one_sentence_and_the_rest_still_shows(
    damage: str, sentence: str, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    source = small_gguf(seed=74)
    data = {
        "not-gguf": b"PK\x03\x04 this is a zip file, not a model" * 10,
        "truncated": source.read_bytes()[:300],
        "missing": source.read_bytes(),
    }[damage]
    layers = [bytes_layer("model", data), text_layer("template", TOOLS_TEMPLATE)]
    pushed = push_model(registry, unique_repo, "latest", layers)
    store = ModelStore(models_dir)
    installed = pull(store, pushed.name)
    if damage == "missing":
        store.blob_path(pushed.layer("model").digest).unlink()

    result = run_cli("show", pushed.name, models=models_dir)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (note,) = result.stderr.splitlines()
    assert note.startswith(f"note: {installed.display} has no readable GGUF header (")
    assert sentence in note
    assert "  Model\n    architecture    llama\n" in result.stdout  # from the config blob
    assert "  Capabilities\n    tools\n" in result.stdout  # the template still tells

    as_json = run_cli("show", pushed.name, "--json", models=models_dir)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["model_info"] == {}
    assert doc["capabilities"] == ["tools"]
