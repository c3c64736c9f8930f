"""Typed errors a user can meet; each one's str() is one sentence that says what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class Fix:
    """The command that fixes an error: its words after the program name and what it does.

    The command line prints it whole (`run `ecs-models verify --repair x` to ...`), with the
    options that named the models directory; the window offers its own button instead.
    """

    words: tuple[str, ...]
    purpose: str  # "to download the damaged blobs again"


class EcsModelsError(Exception):
    """Base of every error this package raises on purpose; str() is shown to the user as is."""

    fix: Fix | None = None


class InvalidNameError(EcsModelsError, ValueError):
    """A model reference that Ollama's naming rules reject."""


class ModelNotFoundError(EcsModelsError):
    """A model that is not installed locally, or that the registry does not have."""


class RegistryError(EcsModelsError):
    """The registry answered with an error or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class AuthenticationError(RegistryError):
    """The registry refused our credentials or the token flow failed."""


class DigestMismatchError(EcsModelsError):
    """Downloaded or stored bytes do not hash to the digest that names them."""


class InsufficientSpaceError(EcsModelsError):
    """The models filesystem lacks room for what a pull still has to download."""

    def __init__(self, message: str, *, needed: int, available: int):
        super().__init__(message)
        self.needed = needed
        self.available = available


class ManifestError(EcsModelsError):
    """A manifest that cannot be parsed or is not a schema we know."""


class StoreLockedError(EcsModelsError):
    """Another process holds the models directory's lock for too long."""


class OperationCancelledError(EcsModelsError):
    """The user cancelled a long operation (a pull, a verify)."""


class PullCancelledError(OperationCancelledError):
    """The user cancelled a pull; its partial data stays resumable."""


E = TypeVar("E", bound=EcsModelsError)


def with_fix(error: E, *words: str, purpose: str) -> E:
    """`error`, naming the command that fixes it (see Fix)."""
    error.fix = Fix(tuple(words), purpose)
    return error
