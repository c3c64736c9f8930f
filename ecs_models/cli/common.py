"""What every command needs from the parsed arguments: the store, the registry host, output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecs_models.errors import EcsModelsError
from ecs_models.names import DEFAULT_HOST
from ecs_models.store.model_store import ModelStore, default_models_dir

if TYPE_CHECKING:
    from ecs_models.registry.client import RegistryClient


def models_root(args: argparse.Namespace) -> Path:
    given = getattr(args, "models", None)
    return Path(given).expanduser() if given else default_models_dir()


def open_store(args: argparse.Namespace) -> ModelStore:
    """The models directory named by --models / $OLLAMA_MODELS / ~/.ollama/models."""
    root = models_root(args)
    if root.exists() and not root.is_dir():
        raise EcsModelsError(f"The models directory {root} is a file, not a directory.")
    try:
        return ModelStore(root)
    except OSError as exc:
        raise EcsModelsError(
            f"Cannot open the models directory {root}: {exc.strerror or exc}."
        ) from exc


def default_host(args: argparse.Namespace) -> str:
    return str(getattr(args, "registry", None) or DEFAULT_HOST)


def registry_client(args: argparse.Namespace) -> RegistryClient:
    from ecs_models.registry.client import RegistryClient  # httpx loads only for commands that talk

    return RegistryClient(insecure=bool(getattr(args, "insecure", False)))


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
