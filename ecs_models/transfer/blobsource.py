"""Where the bytes of a blob being pushed come from: a file in the store or another registry."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ecs_models.errors import RegistryError
from ecs_models.manifest import Layer
from ecs_models.names import ModelName
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.blobrange import BlobRanges
from ecs_models.registry.client import RegistryClient
from ecs_models.transfer.rangefetch import FetchSettings
from ecs_models.transfer.rangerelay import BlobRelay

# Progress is reported (and a stalled peer noticed) at least this often within one request body.
PIECE = 4 << 20
# The most a registry-to-registry copy hands to the destination's socket at once.
RELAY_BUFFER = 1 << 20


class BlobSource(Protocol):
    """Writes bytes [offset, offset + count) of one blob to a socket, reporting as it goes."""

    @property
    def origin(self) -> str: ...

    def send(
        self, sock: socket.socket, offset: int, count: int, on_bytes: Callable[[int], None]
    ) -> None: ...

    def close(self) -> None:
        """Let go of whatever the source holds (a relay's fetch)."""


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

    def close(self) -> None:
        pass


class RegistryBlobSource:
    """A blob read from a registry by the pull's range engine, relayed through a bounded window
    (rangerelay): several streams on a source that caps each connection, never the whole blob
    in memory."""

    def __init__(
        self,
        client: RegistryClient,
        pool: ConnectionPool,
        name: ModelName,
        layer: Layer,
        settings: FetchSettings,
    ) -> None:
        self.client = client
        self.pool = pool
        self.name = name
        self.layer = layer
        self.ranges = BlobRanges(client, pool, name, layer.digest)
        self.settings = settings
        self._relay: BlobRelay | None = None

    @property
    def origin(self) -> str:
        return self.name.host

    def send(
        self, sock: socket.socket, offset: int, count: int, on_bytes: Callable[[int], None]
    ) -> None:
        if count == 0:
            return
        relay = self._relay_at(offset)
        left = count
        while left > 0:
            view = relay.read(min(RELAY_BUFFER, left))
            got = len(view)
            try:
                sock.sendall(view)
            finally:
                view.release()
            relay.consumed(got)
            left -= got
            on_bytes(got)

    def close(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None

    def _relay_at(self, offset: int) -> BlobRelay:
        """The running relay if the upload continues where it stands, else a new one there (an
        upload resumed at the registry's offset may go back)."""
        if self._relay is None or self._relay.position != offset:
            self.close()
            self._relay = BlobRelay(self.ranges, offset, self.layer.size, self.settings)
        return self._relay
