"""Ranged reads of one registry blob with the pull engine's auth, redirect and re-sign rules."""

from __future__ import annotations

import urllib.parse

from ecs_models.errors import ModelNotFoundError, RegistryError
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool, RangeResponse, open_range
from ecs_models.registry.client import RegistryClient

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class BlobRanges:
    """Opens byte ranges of one blob; remembers the CDN URL the registry redirected to.

    The same rules as transfer._BlobDownload._open: credentials only to the registry's host,
    one token refresh on 401, and a fresh redirect when a pre-signed URL expires.
    """

    def __init__(
        self, registry: RegistryClient, pool: ConnectionPool, name: ModelName, digest: str
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.name = name
        self.digest = digest
        self.registry_url = registry.blob_url(name, digest)
        self.registry_netloc = urllib.parse.urlsplit(self.registry_url).netloc.lower()
        self.resolved_url: str | None = None

    def open(self, start: int, end: int, *, fresh: bool = False) -> RangeResponse:
        """An open body for bytes [start, end] (inclusive) of the blob; `fresh` on a new
        connection rather than an idle one."""
        short = self.digest.removeprefix("sha256:")[:12]
        for _attempt in range(2):
            url = self.resolved_url or self.registry_url
            body, error, final_url = open_range(
                self.pool,
                url,
                self.registry.auth_headers(self.name),
                start,
                end,
                auth_netloc=self.registry_netloc,
                fresh=fresh,
            )
            if body is not None:
                if final_url != self.registry_url:
                    self.resolved_url = final_url
                return body
            assert error is not None
            status = error.status
            if status == 401 and self.resolved_url is None:
                self.registry.authorize(self.name, error.getheader("WWW-Authenticate", ""))
                continue
            if status in (401, 403) and self.resolved_url is not None:
                self.resolved_url = None  # a pre-signed URL expired: ask the registry again
                continue
            if status == 404:
                raise ModelNotFoundError(
                    f"{self.name.host} has no blob {short} of {self.name.display}."
                )
            raise RegistryError(
                f"{self.name.host} answered HTTP {status} for blob {short}.",
                status=status,
                retryable=status in _RETRYABLE_STATUS,
            )
        raise RegistryError(f"{self.name.host} refused access to blob {short}.")
