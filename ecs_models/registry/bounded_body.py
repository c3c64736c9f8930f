"""Reading a small HTTP answer (a manifest, a token, an error) from a server we do not trust.

httpx would read a whole body into memory whatever its size, and its read timeout applies to
each read, so a server that drips one byte every few seconds never trips it. Here the body is
read in pieces: never past a byte limit (whatever Content-Length says or omits) and never past
a deadline for the whole body.
"""

from __future__ import annotations

import time

import httpx

KIB = 1 << 10
MIB = 1 << 20


class BodyTooLargeError(Exception):
    """The body is longer than the limit (declared so, or found so while reading)."""


class BodyTooSlowError(Exception):
    """The body did not finish arriving before the deadline."""


class BodyEncodedError(Exception):
    """The body is compressed although we asked for none: decoding it could expand it
    past any limit (a compression bomb), so it is not decoded at all."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def human_limit(limit: int) -> str:
    """4 MiB, 64 KiB: how the limits are named in error messages."""
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MiB"
    if limit >= KIB and limit % KIB == 0:
        return f"{limit // KIB} KiB"
    return f"{limit} bytes"


def read_bounded(
    response: httpx.Response, *, limit: int, deadline_s: float, truncate: bool = False
) -> httpx.Response:
    """Read a streamed response's body and return a response holding it; closes the stream.

    Past `limit` bytes: BodyTooLargeError, or with `truncate` the first `limit` bytes are kept
    and the rest is never read (for error bodies, read only for their message). A body still
    arriving `deadline_s` after this call raises BodyTooSlowError.
    """
    try:
        body = bytearray()
        if response.request.method != "HEAD":  # a HEAD's headers describe a body never sent
            _read_into(body, response, limit=limit, deadline_s=deadline_s, truncate=truncate)
    finally:
        response.close()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


def _read_into(
    body: bytearray, response: httpx.Response, *, limit: int, deadline_s: float, truncate: bool
) -> None:
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        if truncate:
            return  # an error body we cannot read safely: its text is not needed
        raise BodyEncodedError(encoding)
    declared = response.headers.get("Content-Length", "").strip()
    # (A 16-digit length is over any limit here: no need to convert a hostile 5,000-digit one.)
    if not truncate and declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
        raise BodyTooLargeError()
    deadline = time.monotonic() + deadline_s
    for chunk in response.iter_raw():
        room = limit - len(body)
        if len(chunk) > room:
            if not truncate:
                raise BodyTooLargeError()
            body += chunk[:room]
            return
        body += chunk
        if time.monotonic() > deadline:
            raise BodyTooSlowError()
