"""The downloads list's blocking work, run on the chore pool: disk scans and deletions."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ecs_models.store.cleanup import CleanupPlan, discard_partials, plan_discard
from ecs_models.store.model_store import ModelStore


def plan_discarding(
    store: ModelStore, digests: tuple[str, ...], record: Path | None
) -> CleanupPlan:
    """What discarding a download deletes (its partial blobs and its record), touching nothing."""
    return plan_discard(store, digests, extra=(record,) if record is not None else ())


def discard_download(
    store: ModelStore, digests: tuple[str, ...], record: Path | None
) -> CleanupPlan:
    """Delete a download's partial blobs and its record; returns what was deleted."""
    plan = discard_partials(store, digests, extra=(record,) if record is not None else ())
    if record is not None:
        with contextlib.suppress(OSError):
            record.unlink()  # already counted in the plan; gone either way
    return plan
