"""Requests from the UI that act on installed models, and the background jobs serving them."""

from __future__ import annotations

import enum
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class InventoryRefreshRequest:
    """Rescan the models directory (on a worker) and sync the installed-model entities."""


@dataclass(slots=True)
class RemovalPlanRequest:
    """Work out, off-frame, how many bytes removing these models frees, then ask to confirm."""

    model_names: tuple[str, ...]


@dataclass(slots=True)
class ModelRemoveRequest:
    """Remove these models (the user confirmed)."""

    model_names: tuple[str, ...]


@dataclass(slots=True)
class ModelVerifyRequest:
    """Check these models' blobs against their digests."""

    model_names: tuple[str, ...]


class JobKind(enum.StrEnum):
    INVENTORY = "inventory"
    REMOVAL_PLAN = "removal plan"
    REMOVE = "remove"
    VERIFY = "verify"


@dataclass(slots=True)
class BackgroundJob:
    """A chore running on the thread pool; the lifecycle system applies its result."""

    kind: JobKind
    future: Future[Any]
    model_names: tuple[str, ...] = ()
    started_at: float = 0.0
