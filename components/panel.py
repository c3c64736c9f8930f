"""The panel's state as the ECS sees it: typed input, selection, sort order, pending confirmation."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ModelSortCriteria(enum.StrEnum):
    """Orders the installed-models list; the value is the label shown in the sort selector."""

    NAME = "Name"
    SIZE = "Size"
    MODIFIED = "Modified"
    FAMILY = "Family"
    PARAMETER_SIZE = "Parameter size"
    LAST_USED = "Last used"


@dataclass(slots=True)
class RemovalConfirmation:
    """A removal waiting for the user's yes: what goes, the bytes it frees, and the bytes of
    its blobs that stay because other models (or a running pull) still use them."""

    model_names: tuple[str, ...]
    bytes_freed: int
    bytes_kept: int = 0


@dataclass(slots=True)
class ModelManagerPanel:
    """The one panel entity: what the user typed, picked and how the list is ordered."""

    installation_input: str = ""
    selected_models: set[str] = field(default_factory=set)
    sort_criteria: ModelSortCriteria = ModelSortCriteria.NAME
    focused_model: str | None = None
    pending_removal: RemovalConfirmation | None = None
