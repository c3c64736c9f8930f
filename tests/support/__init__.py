"""Shared test infrastructure: a real registry server, real GGUF models, real network faults."""

from support.faults import CuttingProxy, ProxiedRequest, flip_byte, small_filesystem
from support.model_builder import (
    BlobSpec,
    BuiltModel,
    LayerSpec,
    PushedModel,
    build_model,
    gguf_layer,
    install_model,
    json_layer,
    push_built_model,
    push_model,
    push_small_model,
    small_model_layers,
    text_layer,
    write_gguf,
)
from support.registry_server import RegistryServer, RegistryUnavailableError

__all__ = [
    "BlobSpec",
    "BuiltModel",
    "CuttingProxy",
    "LayerSpec",
    "ProxiedRequest",
    "PushedModel",
    "RegistryServer",
    "RegistryUnavailableError",
    "build_model",
    "flip_byte",
    "gguf_layer",
    "install_model",
    "json_layer",
    "push_built_model",
    "push_model",
    "push_small_model",
    "small_filesystem",
    "small_model_layers",
    "text_layer",
    "write_gguf",
]
