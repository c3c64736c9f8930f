"""What the app already knows about registries it could not reach (Discover says so)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# Knowledge goes stale: after this long a registry is offered again (a retry fails fast).
OFFLINE_MEMORY_S = 60.0


@dataclass(slots=True)
class RegistryReachability:
    """Resource: hosts whose last contact failed to connect, with the plain sentence why."""

    _offline: dict[str, tuple[str, float]] = field(default_factory=dict)

    def mark_offline(self, host: str, sentence: str) -> None:
        self._offline[host.lower()] = (sentence, time.monotonic())

    def mark_online(self, host: str) -> None:
        self._offline.pop(host.lower(), None)

    def offline(self, host: str, now: float | None = None) -> str | None:
        """Why `host` is known to be unreachable, or None when nothing recent says so."""
        known = self._offline.get(host.lower())
        moment = time.monotonic() if now is None else now
        if known is None or moment - known[1] > OFFLINE_MEMORY_S:
            return None
        return known[0]

    def offline_hosts(self, now: float | None = None) -> tuple[str, ...]:
        """Hosts known unreachable right now (a view compares it to notice changes)."""
        moment = time.monotonic() if now is None else now
        return tuple(
            sorted(h for h, (_, at) in self._offline.items() if moment - at <= OFFLINE_MEMORY_S)
        )
