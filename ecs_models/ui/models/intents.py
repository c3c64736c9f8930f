"""What the person did in the Models view, as plain data the UI system turns into request components."""

from __future__ import annotations

from dataclasses import dataclass

from ecs_models.components.panel import ModelSortCriteria


@dataclass(frozen=True, slots=True)
class InstallPressed:
    text: str


@dataclass(frozen=True, slots=True)
class InputChanged:
    text: str


@dataclass(frozen=True, slots=True)
class DownloadButtonPressed:
    """A download row's button: `action` is its label (Pause, Resume, Retry, Discard...)."""

    task_entity: int
    action: str


@dataclass(frozen=True, slots=True)
class ClearFinishedPressed:
    pass


@dataclass(frozen=True, slots=True)
class DiscardAnswered:
    confirmed: bool


@dataclass(frozen=True, slots=True)
class SelectionChanged:
    selected: frozenset[str]
    focused: str | None


@dataclass(frozen=True, slots=True)
class SortChanged:
    criteria: ModelSortCriteria


@dataclass(frozen=True, slots=True)
class RemovePressed:
    pass


@dataclass(frozen=True, slots=True)
class VerifyPressed:
    pass


@dataclass(frozen=True, slots=True)
class RemovalAnswered:
    confirmed: bool


@dataclass(frozen=True, slots=True)
class StreamsChanged:
    """The most connections a download may open, picked beside Install."""

    count: int


UiIntent = (
    InstallPressed
    | InputChanged
    | DownloadButtonPressed
    | ClearFinishedPressed
    | DiscardAnswered
    | SelectionChanged
    | SortChanged
    | RemovePressed
    | VerifyPressed
    | RemovalAnswered
    | StreamsChanged
)
