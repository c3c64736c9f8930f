"""Hundreds of real installed models, cheaply: every one shares one small real GGUF blob (and the
template, params and license blobs), as the tags of one model share theirs, while its config
names its own family and size class, so each has its own manifest, digest and ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from support.model_builder import KIB, build_model, cached_gguf, install_model, small_model_layers

FAMILIES = ("llama", "qwen2", "gemma2", "phi3", "mistral")
TAGS = ("latest", "q4", "instruct")
HOST = "registry.ollama.ai"


@dataclass(frozen=True, slots=True)
class InstalledSet:
    names: list[str]  # fully qualified host/namespace/model:tag, in install order
    manifests: dict[str, Path]  # name -> its manifest file
    shared_bytes: int  # the blobs every model shares, once
    model_size: int  # one model's logical size (they are all alike)


def model_name(prefix: str, index: int) -> tuple[str, str, str]:
    """(repository, tag, family) of the index-th model."""
    family = FAMILIES[index % len(FAMILIES)]
    return f"library/{prefix}-{family}-{index:04d}", TAGS[index % len(TAGS)], family


def install_many(
    models_dir: Path, count: int, *, prefix: str = "many", gguf_bytes: int = 16 * KIB
) -> InstalledSet:
    """Install `count` models straight into `models_dir` (as `ollama pull` leaves them)."""
    layers = small_model_layers(cached_gguf(gguf_bytes, seed=4242))
    names: list[str] = []
    manifests: dict[str, Path] = {}
    shared = size = 0
    for index in range(count):
        repository, tag, family = model_name(prefix, index)
        model = build_model(
            layers,
            config={
                "model_family": family,
                "model_families": [family],
                "model_type": f"{1 + index % 9}B",
            },
        )
        name = f"{HOST}/{repository}:{tag}"
        manifests[name] = install_model(models_dir, model, repository=repository, tag=tag)
        names.append(name)
        shared = sum(blob.size for blob in model.layers)
        size = model.total_size
    return InstalledSet(names, manifests, shared, size)
