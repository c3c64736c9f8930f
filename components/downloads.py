"""The downloads list's requests and state: pause, resume, retry, discard, dismiss, clear."""

from __future__ import annotations

import enum
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ecs_models.store.cleanup import CleanupPlan


class DownloadAction(enum.StrEnum):
    """What a row's button asks; the value is the button's label."""

    PAUSE = "Pause"
    RESUME = "Resume"
    RETRY = "Retry"
    DISCARD = "Discard"
    DISMISS = "Dismiss"


@dataclass(slots=True)
class DownloadActionRequest:
    """A row's button was pressed: `action` on the task entity `task_entity`."""

    task_entity: int
    action: DownloadAction


@dataclass(slots=True)
class ClearFinishedRequest:
    """Drop every row that finished (installed or failed); paused downloads stay."""


@dataclass(slots=True)
class DiscardAnswered:
    """The person answered the discard question."""

    confirmed: bool


class ChoreKind(enum.Enum):
    """Which blocking downloads job a DownloadChore is."""

    SCAN = "scan"  # unfinished downloads on disk, once at start-up
    PLAN = "plan"  # what discarding one download deletes
    DISCARD = "discard"


@dataclass(slots=True)
class DownloadChore:
    """A downloads job on the chore pool, polled each frame."""

    kind: ChoreKind
    future: Future[Any]
    task_entity: int = -1


@dataclass(frozen=True, slots=True)
class PendingDiscard:
    """A discard waiting for the person's yes: whose partial download and what it frees."""

    task_entity: int
    display: str
    plan: CleanupPlan


@dataclass(slots=True)
class DownloadsState:
    """Resource: the discard question, if one is open."""

    pending_discard: PendingDiscard | None = None

    def ask(self, pending: PendingDiscard | None) -> None:
        """Open the discard question (the UI system shows it) or close it (None)."""
        self.pending_discard = pending
