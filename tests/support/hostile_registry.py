"""A registry that plays the attacker: a real HTTP server answering what each test scripts.

Anyone can type any host, so the client must survive a hostile one. This is not a fake of the
code under test (the client, its HTTP stack and the store are all real): it stands for that
hostile host. Each path is answered by a Reply: a status, headers and a body that may be huge,
endless, dripping, compressed or lying about its length. The server counts the body bytes it
managed to send, which shows how much the client read before it hung up.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from support.model_builder import BuiltModel

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    The body is `body` sent `repeat` times, or forever with `endless` (until the client hangs
    up), in pieces of `piece` bytes with `drip` seconds between them. `length` is the
    Content-Length header: "auto" (the truth, or chunked when endless), an int (a lie), or
    None (chunked transfer encoding, no length at all).
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    length: int | Literal["auto"] | None = "auto"
    repeat: int = 1
    endless: bool = False
    drip: float = 0.0
    piece: int = _CHUNK

    def pieces(self, stop: threading.Event) -> Iterator[bytes]:
        if not self.body:
            return
        while not stop.is_set():
            for _ in range(self.repeat):
                for start in range(0, len(self.body), self.piece):
                    if stop.is_set():
                        return
                    yield self.body[start : start + self.piece]
                    if self.drip:
                        time.sleep(self.drip)
            if not self.endless:
                return


def json_reply(doc: Any, **kwargs: Any) -> Reply:
    return Reply(body=json.dumps(doc).encode(), **kwargs)


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]


class HostileRegistry:
    """`routes[path] = Reply(...)`; unknown paths answer 404. Use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.requests: list[Seen] = []
        self.sent: dict[str, int] = {}  # body bytes delivered per path
        self._lock = threading.Lock()
        self._stop = threading.Event()
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                registry._answer(self)

            def do_HEAD(self) -> None:
                registry._answer(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- scripting -----------------------------------------------------------------------
    def name(self, repository: str = "evil/model", tag: str = "latest") -> str:
        """The model name a user would type to pull from this host."""
        return f"{self.host}/{repository}:{tag}"

    def manifest_path(self, repository: str = "evil/model", tag: str = "latest") -> str:
        return f"/v2/{repository}/manifests/{tag}"

    def serve_manifest(
        self, reply: Reply | bytes, repository: str = "evil/model", tag: str = "latest"
    ) -> None:
        self.routes[self.manifest_path(repository, tag)] = (
            reply if isinstance(reply, Reply) else Reply(body=reply)
        )

    def serve_model(
        self,
        model: BuiltModel,
        repository: str = "evil/model",
        tag: str = "latest",
        *,
        manifest: bytes | None = None,
    ) -> None:
        """Every blob of a real model, and its manifest (or other manifest bytes)."""
        for blob in model.blobs:
            self.routes[f"/v2/{repository}/blobs/{blob.digest}"] = Reply(body=blob.read_bytes())
        self.serve_manifest(manifest if manifest is not None else model.manifest_bytes)

    def sent_to(self, path: str) -> int:
        with self._lock:
            return self.sent.get(path, 0)

    # -- serving -------------------------------------------------------------------------
    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        with self._lock:
            self.requests.append(Seen(handler.command, path, dict(handler.headers.items())))
        reply = self.routes.get(path, Reply(status=404, body=b'{"errors":[]}'))
        handler.send_response(reply.status)
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        chunked = reply.length is None or (reply.length == "auto" and reply.endless)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            total = len(reply.body) * reply.repeat if reply.length == "auto" else reply.length
            handler.send_header("Content-Length", str(total))
        handler.end_headers()
        if handler.command == "HEAD":
            return
        try:
            for piece in reply.pieces(self._stop):
                frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                handler.wfile.write(frame)
                handler.wfile.flush()
                with self._lock:
                    self.sent[path] = self.sent.get(path, 0) + len(piece)
            if chunked:
                handler.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: what it refused to read is never sent
            handler.close_connection = True
