"""What a list's filter box searches for each installed model: name and tag, family, size class.

Built once per inventory change (in the UI systems), never per keystroke.
"""

from __future__ import annotations

from collections.abc import Iterable

from ecs_models.app.config import ModelMetadata


def search_text(model: ModelMetadata) -> str:
    """'llama3.2:3b llama 3.2b q4_k_m gguf': the name as shown (a hidden registry.ollama.ai
    would match "ollama" in every row), then the family and size facts."""
    parts = (
        model.display,
        model.family,
        model.parameter_size,
        model.quantization,
        model.format,
    )
    return " ".join(part for part in parts if part).lower()


def search_texts(models: Iterable[ModelMetadata]) -> dict[str, str]:
    """Model name -> what the filter searches."""
    return {model.name: search_text(model) for model in models}
