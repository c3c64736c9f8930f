"""What the person did in the Discover area, as plain data its UI system turns into requests."""

from __future__ import annotations

from dataclasses import dataclass

from ecs_models.components.discover import DiscoverMode


@dataclass(frozen=True, slots=True)
class QueryChanged:
    text: str


@dataclass(frozen=True, slots=True)
class CategoryToggled:
    category: str


@dataclass(frozen=True, slots=True)
class SizeToggled:
    size: str


@dataclass(frozen=True, slots=True)
class SourceChosen:
    source: str


@dataclass(frozen=True, slots=True)
class RefreshPressed:
    pass


@dataclass(frozen=True, slots=True)
class ModeChosen:
    mode: DiscoverMode


@dataclass(frozen=True, slots=True)
class EntryChosen:
    """A catalog entry picked in Results or Recommended (with the recommended tag there)."""

    name: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class TagChosen:
    tag: str


@dataclass(frozen=True, slots=True)
class InstallPressed:
    pass


@dataclass(frozen=True, slots=True)
class CheckPressed:
    pass


@dataclass(frozen=True, slots=True)
class ModelChosen:
    """An installed model picked in the Updates list, by its full name."""

    name: str


@dataclass(frozen=True, slots=True)
class UpdatePressed:
    every: bool


@dataclass(frozen=True, slots=True)
class PinPressed:
    pinned: bool


DiscoverIntent = (
    QueryChanged
    | CategoryToggled
    | SizeToggled
    | SourceChosen
    | RefreshPressed
    | ModeChosen
    | EntryChosen
    | TagChosen
    | InstallPressed
    | CheckPressed
    | ModelChosen
    | UpdatePressed
    | PinPressed
)
