"""What a model can do, derived the way Ollama derives it (server/images.go, Capabilities).

- completion, unless the GGUF declares `<arch>.pooling_type`: then embedding;
- vision when the GGUF has `<arch>.vision.block_count` or the model has a projector layer;
- tools when the template mentions `.Tools`, insert when it mentions `.Suffix`;
- thinking when the template wraps `.Thinking` of `.Messages` in tags, or for gpt-oss.
A model without a model layer (a remote model) takes the list its config blob carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_models.show.gotemplate import TemplateError, parse_template

COMPLETION = "completion"
EMBEDDING = "embedding"
TOOLS = "tools"
INSERT = "insert"
VISION = "vision"
THINKING = "thinking"
IMAGE = "image"
# What Ollama uses when a model has no TEMPLATE layer.
DEFAULT_TEMPLATE = "{{ .Prompt }}"
_THINKING_FAMILIES = ("gptoss", "gpt-oss")


def arch_key(metadata: Mapping[str, Any], suffix: str) -> str | None:
    """`<general.architecture>.<suffix>`, the key Ollama's KeyValue(suffix) reads."""
    arch = metadata.get("general.architecture")
    return f"{arch}.{suffix}" if isinstance(arch, str) and arch else None


def model_capabilities(
    *,
    metadata: Mapping[str, Any] | None,
    template: str,
    projector_count: int,
    config: Mapping[str, Any],
) -> list[str]:
    """Ollama's capability list, in its order; `metadata` is None without a readable GGUF."""
    declared = config.get("capabilities")
    declared = [c for c in declared if isinstance(c, str)] if isinstance(declared, list) else []
    if IMAGE in declared:
        return [IMAGE]
    capabilities: list[str] = []

    def add(capability: str) -> None:
        if capability not in capabilities:
            capabilities.append(capability)

    if metadata is not None:
        pooling = arch_key(metadata, "pooling_type")
        add(EMBEDDING if pooling is not None and pooling in metadata else COMPLETION)
        vision = arch_key(metadata, "vision.block_count")
        if vision is not None and vision in metadata:
            add(VISION)
    else:
        for capability in declared:
            add(capability)

    try:
        parsed = parse_template(template)
    except TemplateError:
        parsed = None  # Ollama refuses such a model outright; here it only loses these checks
    names = parsed.vars() if parsed is not None else set()
    if "tools" in names:
        add(TOOLS)
    if "suffix" in names:
        add(INSERT)
    if projector_count:
        add(VISION)
    if THINKING not in capabilities:
        opening, closing = parsed.thinking_tags() if parsed is not None else ("", "")
        if (opening and closing) or config.get("model_family") in _THINKING_FAMILIES:
            add(THINKING)
    return capabilities
