"""Where the bytes of a blob being pushed come from: a file in the store or another registry."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ecs_models.errors import RegistryError
from ecs_models.manifest import Layer
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool, RangeResponse
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient

# Progress is reported (and a stalled peer noticed) at least this often within one request body.
PIECE = 4 << 20
# The one buffer a registry-to-registry copy holds per stream: the copy never holds a blob.
RELAY_BUFFER = 1 << 20


class BlobSource(Protocol):
    """Writes bytes [offset, offset + count) of one blob to a socket, reporting as it goes."""

    @property
    def origin(self) -> str: ...

    def send(
        self, sock: socket.socket, offset: int, count: int, on_bytes: Callable[[int], None]
    ) -> None: ...


class FileBlobSource:
    """A complete blob on disk, sent with sendfile: the kernel copies page cache to socket."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def origin(self) -> str:
        return "the local blob"

    def send(
        self, sock: socket.socket, offset: int, count: int, on_bytes: Callable[[int], None]
    ) -> None:
        with open(self.path, "rb") as handle:
            end = offset + count
            position = offset
            while position < end:
                piece = min(PIECE, end - position)
                sent = sock.sendfile(handle, position, piece)
                if sent <= 0:
                    raise RegistryError(
                        f"{self.path.name} is shorter than its manifest says; it is damaged."
                    )
                position += sent
                on_bytes(sent)


class RegistryBlobSource:
    """A blob read from a registry with ranged GETs and relayed through one bounded buffer."""

    def __init__(
        self, client: RegistryClient, pool: ConnectionPool, name: ModelName, layer: Layer
    ) -> None:
        self.client = client
        self.pool = pool
        self.name = name
        self.layer = layer
        self.ranges = BlobRanges(client, pool, name, layer.digest)

    @property
    def origin(self) -> str:
        return self.name.host

    def send(
        self, sock: socket.socket, offset: int, count: int, on_bytes: Callable[[int], None]
    ) -> None:
        if count == 0:
            return
        buffer = bytearray(min(RELAY_BUFFER, count))
        view = memoryview(buffer)
        with self._open(offset, offset + count - 1) as body:
            left = count
            while left > 0:
                got = body.readinto(view[: min(len(view), left)])
                sock.sendall(view[:got])
                left -= got
                on_bytes(got)

    def _open(self, start: int, end: int) -> RangeResponse:
        return self.ranges.open(start, end)
