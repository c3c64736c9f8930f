"""Errors a catalog source can raise, each one sentence the UI and the command line show as is."""

from __future__ import annotations

from ecs_models.errors import EcsModelsError


class CatalogUnavailableError(EcsModelsError):
    """A catalog source answered with something we cannot read (its markup changed, say)."""


class CatalogOfflineError(CatalogUnavailableError):
    """A catalog source could not be reached at all (no network, DNS failure, timeout)."""
