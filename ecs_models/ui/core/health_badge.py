"""The health badge every list shows beside a model: 'ok · 2 h ago', 'failed · 5 min ago'.

One wording for the Models list, its details pane and the Storage report, so a person sees
the same verdict wherever the model appears.
"""

from __future__ import annotations

from ecs_models.formatting import short_age
from ecs_models.storage.health import Finding, ModelHealth

NOT_VERIFIED = "not verified"
# Badges say "5 min ago": recomputing them this often is enough for a person reading them.
BADGE_TICK_S = 30.0

_FINDING_WORDS = {
    "missing": "is missing",
    "size": "has the wrong size",
    "digest": "does not match its digest",
    "gguf": "is not a valid GGUF",
    "config": "disagrees with the model",
    "manifest": "cannot be read",
    "runtime": "did not generate",
}

# The details pane's shorter words (its line must fit beside the list at 800 px); the
# Storage tab names the blob by its digest.
_BRIEF_WORDS = {
    "missing": "missing",
    "size": "wrong size",
    "digest": "corrupt",
    "gguf": "not a valid GGUF",
    "config": "disagrees with the model",
    "manifest": "unreadable",
    "runtime": "did not generate",
}


def badge_clock(now: float) -> float:
    """`now` rounded down to BADGE_TICK_S: badges built from it change at most that often."""
    return now - now % BADGE_TICK_S


def health_badge(health: ModelHealth | None, now: float) -> str:
    """The badge of a model's last check (None: never checked, or its manifest changed since)."""
    if health is None:
        return NOT_VERIFIED
    if not health.ok:
        return f"failed · {short_age(now - health.checked_at)}"
    word = "ok" if health.hashed else "sizes ok"
    return f"{word} · {short_age(now - health.checked_at)}"


def finding_text(finding: Finding) -> str:
    """'template blob 1a2b3c4d5e6f does not match its digest'."""
    blob = (finding.digest or "").removeprefix("sha256:")[:12]
    what = f"{finding.layer or 'blob'} blob {blob}" if blob else "the manifest"
    return f"{what} {_FINDING_WORDS.get(finding.kind.value, 'has a problem')}"


def finding_brief(finding: Finding) -> str:
    """'model blob corrupt', 'the manifest unreadable': a finding in a few words."""
    what = f"{finding.layer or 'a'} blob" if finding.digest else "the manifest"
    return f"{what} {_BRIEF_WORDS.get(finding.kind.value, 'has a problem')}"


def health_line(health: ModelHealth | None, now: float) -> str:
    """The details pane's line: the badge, then what was checked or what failed."""
    badge = health_badge(health, now)
    if health is None:
        return f"Health: {badge} (Verify checks every blob)"
    if health.ok:
        return f"Health: {badge} ({health.checked()})"
    more = len(health.findings) - 1
    extra = f" (+{more} more)" if more else ""
    return f"Health: {badge}: {finding_brief(health.findings[0])}{extra}"
