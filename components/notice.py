"""One-sentence notices shown to the user: errors, completions, confirmations."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NoticeLevel(enum.StrEnum):
    INFO = "info"
    ERROR = "error"


@dataclass(slots=True)
class Notice:
    """A message for the notices line; it fades after `expires_at` (monotonic seconds)."""

    text: str
    level: NoticeLevel = NoticeLevel.INFO
    created_at: float = 0.0
    expires_at: float = 0.0
