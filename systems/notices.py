"""Posting one-sentence notices as entities, from any system."""

from __future__ import annotations

import time

import esper

from ecs_models.components.notice import Notice, NoticeLevel

# Errors stay longer than confirmations: a person needs time to read what went wrong.
INFO_SECONDS = 6.0
ERROR_SECONDS = 12.0


def post_notice(text: str, level: NoticeLevel = NoticeLevel.INFO) -> int:
    """Create a notice entity in the current world; the UI shows the newest one."""
    now = time.monotonic()
    lifetime = ERROR_SECONDS if level is NoticeLevel.ERROR else INFO_SECONDS
    return esper.create_entity(
        Notice(text=text, level=level, created_at=now, expires_at=now + lifetime)
    )


def post_error(text: str) -> int:
    return post_notice(text, NoticeLevel.ERROR)
