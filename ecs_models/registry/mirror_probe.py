"""Does a mirror answer, and how fast: one `GET /v2/` per mirror, all of them at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ecs_models.registry.client import USER_AGENT
from ecs_models.registry.mirrors import Mirror
from ecs_models.registry.tls import lazy_tls_client

PROBE_TIMEOUT_S = 3.0
# A registry answers /v2/ with 200, or 401 when it wants credentials: both are a registry.
_REGISTRY_STATUS = frozenset({200, 401})


@dataclass(frozen=True, slots=True)
class MirrorProbe:
    """One mirror's answer: how long it took, or the sentence saying why there was none."""

    upstream: str
    url: str
    seconds: float | None = None  # from the request to the answer's headers, connecting included
    status: int | None = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """'answers in 3 ms' or 'no answer: <why>'."""
        if self.error is not None:
            return f"no answer: {self.error}"
        assert self.seconds is not None
        needs = " (asks for credentials)" if self.status == 401 else ""
        return f"answers in {self.seconds * 1000:.0f} ms{needs}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream,
            "url": self.url,
            "answered": self.answered,
            "milliseconds": None if self.seconds is None else round(self.seconds * 1000, 1),
            "status": self.status,
            "error": self.error,
        }


def probe_mirror(
    upstream: str, mirror: Mirror, *, timeout: float = PROBE_TIMEOUT_S, insecure: bool = False
) -> MirrorProbe:
    """Ask the mirror's registry root, as a pull's first request to it would go."""
    url = f"{mirror.scheme}://{mirror.host}/v2/"
    client = lazy_tls_client(
        verify=not insecure,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )
    started = time.perf_counter()
    try:
        with client, client.stream("GET", url) as response:
            seconds = time.perf_counter() - started
            status = response.status_code
    except httpx.TimeoutException:
        return MirrorProbe(upstream, mirror.url, error=f"nothing within {timeout:g} s")
    except httpx.HTTPError as exc:
        reason = str(exc).strip() or exc.__class__.__name__
        return MirrorProbe(upstream, mirror.url, error=reason)
    if status not in _REGISTRY_STATUS:
        return MirrorProbe(
            upstream, mirror.url, seconds, status, f"HTTP {status} at /v2/, not a registry"
        )
    return MirrorProbe(upstream, mirror.url, seconds, status)


def probe_mirrors(
    mirrors: Sequence[tuple[str, Mirror]],
    *,
    timeout: float = PROBE_TIMEOUT_S,
    insecure: bool = False,
) -> list[MirrorProbe]:
    """Every (upstream, mirror) at once: a silent mirror costs its timeout once, not once each."""
    if not mirrors:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(mirrors)), thread_name_prefix="mirrors") as pool:
        return list(
            pool.map(lambda pair: probe_mirror(*pair, timeout=timeout, insecure=insecure), mirrors)
        )
