"""One-sentence notices shown to the user: errors, completions, confirmations."""

from __future__ import annotations

import datetime as dt
import enum
from collections import deque
from dataclasses import dataclass, field


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
    logged: bool = False  # copied into the NoticeLog (the history survives its fading)


# The history keeps this many notices: enough to find what scrolled past, never unbounded.
NOTICE_LOG_SIZE = 50


@dataclass(frozen=True, slots=True)
class LoggedNotice:
    text: str
    level: NoticeLevel
    at: dt.datetime  # wall-clock time, shown beside the text


@dataclass(slots=True)
class NoticeLog:
    """Resource: the last NOTICE_LOG_SIZE notices, newest last; `version` grows on each."""

    entries: deque[LoggedNotice] = field(default_factory=lambda: deque(maxlen=NOTICE_LOG_SIZE))
    version: int = 0

    def add(self, text: str, level: NoticeLevel) -> None:
        self.entries.append(LoggedNotice(text, level, dt.datetime.now()))
        self.version += 1
