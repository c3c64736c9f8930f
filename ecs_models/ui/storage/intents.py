"""What a person did in the Storage view, as plain values the UI system turns into requests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RefreshPressed:
    pass


@dataclass(frozen=True, slots=True)
class VerifyPressed:
    pass


@dataclass(frozen=True, slots=True)
class RepairPressed:
    pass


@dataclass(frozen=True, slots=True)
class CancelPressed:
    pass


@dataclass(frozen=True, slots=True)
class CleanPressed:
    pass


@dataclass(frozen=True, slots=True)
class CleanAnswered:
    confirmed: bool


@dataclass(frozen=True, slots=True)
class ExportPressed:
    path: str
    compress: bool


@dataclass(frozen=True, slots=True)
class ImportPressed:
    path: str


@dataclass(frozen=True, slots=True)
class SelectionChanged:
    selected: frozenset[str]
    focused: str | None


@dataclass(frozen=True, slots=True)
class CleanupSelectionChanged:
    paths: frozenset[str]


StorageIntent = (
    RefreshPressed
    | VerifyPressed
    | RepairPressed
    | CancelPressed
    | CleanPressed
    | CleanAnswered
    | ExportPressed
    | ImportPressed
    | SelectionChanged
    | CleanupSelectionChanged
)
