"""Header-based fit of a Discover install candidate: the job (on the chores pool) and its words."""

from __future__ import annotations

import textwrap

from ecs_models.app.config import ManagerSettings
from ecs_models.components.discover import HeaderFit, HeaderFitCache
from ecs_models.formatting import human_bytes
from ecs_models.gguf.fit import fit_remote
from ecs_models.names import parse_model_name
from ecs_models.systems.discover_jobs import quick_client
from ecs_models.ui.discover.text import clip

HEADER_PREFIX = "Fit (from the model's header): "


def load_header_fit(cache: HeaderFitCache, reference: str, settings: ManagerSettings) -> HeaderFit:
    """Blocking: a HEAD for the digest, then (unless cached) the header's ranged GETs."""
    name = parse_model_name(reference)
    key = str(name)
    with quick_client(settings) as client:
        digest = client.manifest_digest(name)
        cached = cache.get(key, digest) if digest else None
        if cached is not None:
            return HeaderFit(reference, cached)
        report = fit_remote(name, client)
    if digest:
        cache.put(key, digest, report)
    return HeaderFit(reference, report)


def wrap(text: str, width: int, lines: int) -> list[str]:
    """A sentence over at most `lines` detail lines; the last one clipped if it still runs on."""
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], clip(" ".join(parts[lines - 1 :]), width)]
    return parts


def header_fit_lines(fit: HeaderFit, width: int) -> list[str]:
    """The lines replacing the size-based estimate: verdict and need, then the breakdown."""
    report = fit.report
    assert report is not None
    verdict = report.verdict
    head = (
        f"{HEADER_PREFIX}{verdict.verdict} — needs {human_bytes(verdict.needed)} for "
        f"{report.estimate.context_length} tokens, {human_bytes(verdict.available)} free"
    )
    return [*wrap(head, width, 2), clip(verdict.reason, width)]


def header_failed_lines(error: str, width: int) -> list[str]:
    """Said under the size-based verdict when the header could not be read."""
    reason = error.rstrip(".")
    note = f"(estimated from the download size; the header could not be read: {reason})"
    return wrap(note, width, 2)
