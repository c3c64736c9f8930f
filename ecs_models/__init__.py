"""ecs_models: a local AI model manager whose models directory is byte-for-byte Ollama's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ModelManagementPlugin", "__version__"]

if TYPE_CHECKING:
    from ecs_models.app.plugin import ModelManagementPlugin


def __getattr__(name: str) -> Any:
    # The plugin pulls in pygame and pygame_gui; import it only when asked for, so the
    # command line and the headless core stay fast and free of pygame.
    if name == "ModelManagementPlugin":
        from ecs_models.app.plugin import ModelManagementPlugin

        return ModelManagementPlugin
    raise AttributeError(f"module 'ecs_models' has no attribute {name!r}")
