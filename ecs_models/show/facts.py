"""What `ollama show` and /api/show answer about an installed model, read from its own files.

The model facts come from the GGUF header (the tensor data is never read): `model_info` holds
every metadata key as Ollama returns it, with `general.parameter_count` counted from the tensor
table as Ollama counts it; arrays (tokenizer vocabularies) are null unless verbose, when they
are decoded in full and the tensor table is listed too. Template, system prompt, parameters,
licenses and messages come from their layers; capabilities are derived as Ollama derives them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecs_models.gguf.reader import (
    ArraySummary,
    GGUFError,
    GGUFHeader,
    MetadataValue,
    quantization_name,
    read_header,
)
from ecs_models.manifest import Layer
from ecs_models.show.capabilities import DEFAULT_TEMPLATE, arch_key, model_capabilities
from ecs_models.show.gostyle import float32_shortest, go_plain, go_value, rfc3339_nano
from ecs_models.store.model_store import InstalledModel, ModelStore

# Text layers larger than this are not read: a template or licence is kilobytes, and a
# hostile registry must not make `show` load gigabytes into memory.
TEXT_LAYER_LIMIT = 1 << 20
# Ollama leaves these two out of model_info: the name is shown elsewhere and the chat
# template is long Jinja that /api/show's `template` replaces.
_HIDDEN_KEYS = ("general.name", "tokenizer.chat_template")
_PARAMETER_KEY_WIDTH = 30  # Ollama's "%-30s %#v" lines


@dataclass(frozen=True, slots=True)
class ModelTexts:
    """The small layers of a model, as Ollama reads them in GetModel."""

    template: str = DEFAULT_TEMPLATE
    system: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    licenses: tuple[str, ...] = ()
    messages: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class GGUFFacts:
    """Ollama's model_info of one GGUF blob, and its tensor table when verbose."""

    model_info: dict[str, Any]
    tensors: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class ShowResult:
    """/api/show's document, and why model_info is empty when it is."""

    response: dict[str, Any]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """The facts the Models tab and `show` lead with; None where the model does not say."""

    architecture: str | None
    parameter_count: int | None
    context_length: int | None
    embedding_length: int | None
    block_count: int | None
    quantization: str | None
    capabilities: tuple[str, ...]
    problem: str | None = None

    @classmethod
    def of(cls, result: ShowResult) -> ModelFacts:
        doc = result.response
        info: Mapping[str, Any] = doc.get("model_info") or {}
        details: Mapping[str, Any] = doc.get("details") or {}

        def arch_int(suffix: str) -> int | None:
            key = arch_key(info, suffix)
            value = info.get(key) if key is not None else None
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        arch = info.get("general.architecture")
        count = info.get("general.parameter_count")
        file_type = info.get("general.file_type")
        quantization = details.get("quantization_level") or (
            quantization_name(file_type) if isinstance(file_type, int) else None
        )
        return cls(
            architecture=arch if isinstance(arch, str) else details.get("family") or None,
            parameter_count=count if isinstance(count, int) else None,
            context_length=arch_int("context_length"),
            embedding_length=arch_int("embedding_length"),
            block_count=arch_int("block_count"),
            quantization=quantization or None,
            capabilities=tuple(doc.get("capabilities") or ()),
            problem=result.problem,
        )


def show_model(store: ModelStore, model: InstalledModel, *, verbose: bool = False) -> ShowResult:
    """/api/show for an installed model; a model file that is no GGUF leaves model_info empty."""
    config = store.read_config(model)
    texts = read_texts(store, model)
    layers = model.manifest.layers
    model_layer = next((layer for layer in layers if layer.kind == "model"), None)
    projectors = [layer for layer in layers if layer.kind == "projector"]
    adapters = [layer for layer in layers if layer.kind == "adapter"]

    facts: GGUFFacts | None = None
    problem: str | None = None
    metadata: dict[str, MetadataValue] | None = None
    if model_layer is not None:
        try:
            header = read_header(store.blob_path(model_layer.digest), array_limit=_limit(verbose))
        except GGUFError as exc:
            problem = str(exc)
        else:
            metadata = header.metadata
            facts = gguf_facts(header, verbose=verbose)
    projector_info: dict[str, Any] | None = None
    if projectors:
        try:
            projector_header = read_header(
                store.blob_path(projectors[0].digest), array_limit=_limit(verbose)
            )
            projector_info = gguf_facts(projector_header, verbose=verbose).model_info
        except GGUFError:
            projector_info = None  # the projector only adds a section; its absence says enough

    capabilities = model_capabilities(
        metadata=metadata,
        template=texts.template,
        projector_count=len(projectors),
        config=config,
    )
    details = model.to_api_dict()["details"]
    info = facts.model_info if facts is not None else {}
    add_lengths(details, info)

    doc: dict[str, Any] = {}
    _put(doc, "license", "\n".join(texts.licenses))
    modelfile = modelfile_text(
        store,
        model,
        texts,
        config,
        model_layer=model_layer,
        projectors=projectors,
        adapters=adapters,
    )
    _put(doc, "modelfile", modelfile)
    _put(doc, "parameters", parameters_text(texts.params))
    _put(doc, "template", texts.template)
    _put(doc, "system", texts.system)
    for key in ("renderer", "parser"):
        _put(doc, key, _text(config.get(key)))
    doc["details"] = details
    if texts.messages:
        doc["messages"] = list(texts.messages)
    for key in ("remote_model", "remote_host"):
        _put(doc, key, _text(config.get(key)))
    doc["model_info"] = info
    if projector_info:
        doc["projector_info"] = projector_info
    if verbose and facts is not None and facts.tensors:
        doc["tensors"] = facts.tensors
    if capabilities:
        doc["capabilities"] = capabilities
    doc["modified_at"] = rfc3339_nano(_mtime_ns(model))
    _put(doc, "requires", _text(config.get("requires")))
    return ShowResult(doc, problem)


def add_lengths(details: dict[str, Any], metadata: Mapping[str, Any]) -> None:
    """details.context_length and details.embedding_length, when the GGUF states them."""
    for suffix in ("context_length", "embedding_length"):
        key = arch_key(metadata, suffix)
        value = metadata.get(key) if key is not None else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            details.setdefault(suffix, value)


def model_facts(store: ModelStore, model: InstalledModel) -> ModelFacts:
    """The lead facts of a model (reads its GGUF header: call it off the UI thread)."""
    return ModelFacts.of(show_model(store, model))


# -- layers --------------------------------------------------------------------------------


def read_texts(store: ModelStore, model: InstalledModel) -> ModelTexts:
    template = DEFAULT_TEMPLATE
    system = ""
    params: dict[str, Any] = {}
    licenses: list[str] = []
    messages: list[dict[str, str]] = []
    for layer in model.manifest.layers:
        kind = layer.kind
        if kind not in ("template", "prompt", "system", "params", "license", "messages"):
            continue
        text = _read_text(store, layer)
        if text is None:
            continue
        if kind in ("template", "prompt"):
            template = text
        elif kind == "system":
            system = text
        elif kind == "license":
            licenses.append(text)
        elif kind == "params":
            params = _json_object(text)
        else:
            messages = _messages(text)
    return ModelTexts(template, system, params, tuple(licenses), tuple(messages))


def _read_text(store: ModelStore, layer: Layer) -> str | None:
    if layer.size > TEXT_LAYER_LIMIT:
        return None
    try:
        with open(store.blob_path(layer.digest), "rb") as handle:
            data = handle.read(TEXT_LAYER_LIMIT + 1)
    except OSError:
        return None
    return data[:TEXT_LAYER_LIMIT].decode("utf-8", errors="replace")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _messages(text: str) -> list[dict[str, str]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [
        {"role": str(item.get("role", "")), "content": str(item.get("content", ""))}
        for item in value
        if isinstance(item, dict)
    ]


# -- the GGUF header -----------------------------------------------------------------------


def _limit(verbose: bool) -> int | None:
    # Not verbose: every array is stepped over unread (Ollama answers null for them).
    return None if verbose else 0


def gguf_facts(header: GGUFHeader, *, verbose: bool) -> GGUFFacts:
    """model_info as Ollama builds it: keys sorted, parameter count from the tensor table."""
    info: dict[str, Any] = {}
    for key, value in header.metadata.items():
        if key in _HIDDEN_KEYS:
            continue
        info[key] = _json_value(value)
    tensors = header.tensors or ()
    info["general.parameter_count"] = sum(tensor.n_elements for tensor in tensors)
    listed = (
        [{"name": t.name, "type": t.type_name, "shape": list(t.shape)} for t in tensors]
        if verbose
        else None
    )
    return GGUFFacts(dict(sorted(info.items())), listed)


def _json_value(value: MetadataValue) -> Any:
    if isinstance(value, ArraySummary):
        # Not decoded: Ollama's null for an array it did not collect (an empty one stays []).
        return [] if value.count == 0 else None
    if isinstance(value, float):
        return float32_shortest(value) if math.isfinite(value) else None
    return value


# -- texts Ollama prints -------------------------------------------------------------------


def parameters_text(params: Mapping[str, Any]) -> str:
    """/api/show's `parameters`: one "key value" line per value, as Ollama formats them."""
    lines = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<{_PARAMETER_KEY_WIDTH}} {go_value(item)}")
    return "\n".join(lines)


def modelfile_text(
    store: ModelStore,
    model: InstalledModel,
    texts: ModelTexts,
    config: Mapping[str, Any],
    *,
    model_layer: Layer | None,
    projectors: Sequence[Layer],
    adapters: Sequence[Layer],
) -> str:
    """A Modelfile `ollama create -f` accepts, naming the blobs by path as Ollama does."""
    commands: list[tuple[str, str]] = []
    if model_layer is not None:
        commands.append(("model", str(store.blob_path(model_layer.digest))))
    commands += [("adapter", str(store.blob_path(layer.digest))) for layer in adapters]
    commands += [("model", str(store.blob_path(layer.digest))) for layer in projectors]
    commands.append(("template", texts.template))
    if texts.system:
        commands.append(("system", texts.system))
    for key in ("renderer", "parser"):
        if value := _text(config.get(key)):
            commands.append((key, value))
    for key, value in texts.params.items():
        for item in value if isinstance(value, list) else [value]:
            commands.append((key, go_plain(item)))
    commands += [("license", text) for text in texts.licenses]
    commands += [("message", f"{m['role']}: {m['content']}") for m in texts.messages]
    lines = [
        '# Modelfile generated by "ecs-models show"',
        "# To build a new Modelfile based on this, replace FROM with:",
        f"# FROM {model.display}",
        "",
    ]
    lines += [_modelfile_command(name, args) for name, args in commands]
    return "\n".join(lines) + "\n"


def _modelfile_command(name: str, args: str) -> str:
    if name == "model":
        return f"FROM {args}"
    if name in ("license", "template", "system", "adapter", "renderer", "parser", "requires"):
        return f"{name.upper()} {_modelfile_quote(args)}"
    if name == "message":
        role, _, message = args.partition(": ")
        return f"MESSAGE {role} {_modelfile_quote(message)}"
    return f"PARAMETER {name} {_modelfile_quote(args)}"


def _modelfile_quote(text: str) -> str:
    """Ollama's parser.quote, plus quoting a value that starts with a quote of its own.

    Ollama leaves `"x" y` bare, which its own parser then reads as an unfinished quoted string
    that swallows the following lines; quoting it keeps the Modelfile readable by `create`.
    """
    if "\n" in text or text.startswith((" ", '"')) or text.endswith(" "):
        if '"' in text:
            return '"""' + text + '"""'
        return '"' + text + '"'
    return text


# -- small helpers -------------------------------------------------------------------------


def _put(doc: dict[str, Any], key: str, value: str) -> None:
    """Go's `omitempty`: an empty string is left out."""
    if value:
        doc[key] = value


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _mtime_ns(model: InstalledModel) -> int:
    try:
        return os.stat(model.manifest_path).st_mtime_ns
    except OSError:
        return int(model.modified.timestamp() * 1e9)
