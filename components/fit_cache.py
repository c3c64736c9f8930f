"""Fit verdicts of installed models, computed on a worker and kept for the panel to show."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from ecs_models.formatting import human_bytes
from ecs_models.gguf.fit import FitReport

# Free RAM moves; a shown verdict older than this is recomputed (from cached GGUF facts).
REFRESH_S = 10.0


@dataclass(frozen=True, slots=True)
class FitNote:
    digest: str
    report: FitReport | None
    error: str | None
    made_at: float

    @property
    def text(self) -> str:
        if self.report is None:
            return f"unknown ({self.error})" if self.error else "unknown"
        return fit_text(self.report)


def fit_text(report: FitReport) -> str:
    """'fits: needs 1.2 GB for 4096 tokens, 21 GB of RAM free' (or tight / too large)."""
    verdict = report.verdict
    estimate = report.estimate
    need = f"needs {human_bytes(verdict.needed)} for {estimate.context_length} tokens"
    if verdict.device == "budget":
        return f"{verdict.verdict}: {need}, the budget is {human_bytes(verdict.available)}"
    return f"{verdict.verdict}: {need}, {human_bytes(verdict.available)} of {verdict.device} free"


@dataclass(slots=True)
class FitVerdicts:
    """Per fully qualified model name: the newest verdict; `version` grows with every change."""

    notes: dict[str, FitNote] = field(default_factory=dict)
    pending: dict[str, tuple[str, Future[FitReport]]] = field(default_factory=dict)
    version: int = 0

    def line_for(self, name: str | None) -> str | None:
        note = self.notes.get(name or "")
        return None if note is None else note.text

    def stale(self, name: str, digest: str, now: float) -> bool:
        note = self.notes.get(name)
        return note is None or note.digest != digest or now - note.made_at > REFRESH_S

    def put(self, name: str, note: FitNote) -> None:
        self.notes[name] = note
        self.version += 1
