"""TLS set-up only when a connection needs it.

Building a verifying SSL context loads the whole CA bundle: 30 ms at best and 120 ms for a
process's first, measured here. A pull from a plain-http loopback or LAN registry never uses it,
and on a 1 GiB loopback pull that set-up alone was a tenth of the time.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from typing import Any

import httpcore  # noqa: F401  httpx imports it (and trio, when installed) on its first
import httpx  # transport: 0.1 s that belongs to start-up, not to the first pull's first byte


def tls_context(*, verify: bool) -> ssl.SSLContext:
    """A client context: verifying (the system's CAs plus certifi's, which httpx would use
    alone), or accepting any certificate (`--insecure`)."""
    if verify:
        context = ssl.create_default_context()
        with contextlib.suppress(ImportError, OSError, ssl.SSLError):
            import certifi  # an httpx dependency; the system store may be empty (macOS)

            context.load_verify_locations(cafile=certifi.where())
        return context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class LazyTlsTransport(httpx.BaseTransport):
    """httpx's default transport, with the https one built on the first https request."""

    def __init__(self, *, verify: bool) -> None:
        self._verify = verify
        # Plain http never performs a handshake, so this context is never used to trust anyone.
        self._plain = httpx.HTTPTransport(verify=tls_context(verify=False))
        self._secure: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https":
            return self._plain.handle_request(request)
        return self._secure_transport().handle_request(request)

    def close(self) -> None:
        self._plain.close()
        with self._lock:
            if self._secure is not None:
                self._secure.close()

    def _secure_transport(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._secure is None:
                self._secure = httpx.HTTPTransport(verify=tls_context(verify=self._verify))
            return self._secure


def lazy_tls_client(*, verify: bool = True, **options: Any) -> httpx.Client:
    """An httpx.Client whose TLS context is built only if it ever makes an https request."""
    return httpx.Client(transport=LazyTlsTransport(verify=verify), **options)
