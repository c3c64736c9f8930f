"""Model facts (`show`'s lead facts) read on a worker and kept for the Models details pane."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from cachetools import LRUCache

from ecs_models.show.facts import ModelFacts

# Facts are keyed by manifest digest, so an entry never goes stale; this only bounds memory.
MAX_ENTRIES = 256


@dataclass(slots=True)
class ModelFactsCache:
    """Facts per manifest digest; `version` grows with every change the UI should show."""

    facts: LRUCache[str, ModelFacts] = field(default_factory=lambda: LRUCache(MAX_ENTRIES))
    pending: dict[str, Future[ModelFacts]] = field(default_factory=dict)
    version: int = 0

    def get(self, digest: str | None) -> ModelFacts | None:
        return self.facts.get(digest) if digest else None

    def wanted(self, digest: str) -> bool:
        return digest not in self.facts and digest not in self.pending

    def put(self, digest: str, facts: ModelFacts) -> None:
        self.facts[digest] = facts
        self.version += 1
