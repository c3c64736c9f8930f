"""Real faults for tests: a TCP proxy that cuts, stalls or shapes links, tiny filesystems, bad bytes."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

import pytest

CutMode = Literal["rst", "fin"]
SmallFilesystemFactory = Callable[[int], Path]
"""Type of the `small_fs` fixture: size in bytes -> mount point of a fresh tmpfs."""

_BUFFER = 64 * 1024
_PIPE = 1 << 20  # response bytes move upstream -> pipe -> client with splice, up to this at once
_MAX_HEAD = 64 * 1024
_DRAIN_TIMEOUT_S = 2.0


class HasHost(Protocol):
    """Anything with a "127.0.0.1:PORT" host, such as a RegistryServer."""

    @property
    def host(self) -> str: ...


@dataclass(frozen=True)
class ProxiedRequest:
    """One HTTP request seen by the proxy (method, target and lower-cased headers)."""

    connection: int
    method: str
    target: str
    headers: dict[str, str]

    @property
    def range(self) -> str | None:
        return self.headers.get("range")


@dataclass(frozen=True)
class LinkProfile:
    """How the proxy shapes each connection, the way a CDN edge treats connections one by one.

    `rate` caps every connection on its own; with `slow_after`, every connection falls to
    `slow_rate` once it has sent that many response bytes; `latency` seconds pass before each
    request goes on. Stragglers are counted among the connections that ask for a blob (so a
    client's manifest connection does not shift them), from 0 at `set_profile`: blob connection
    k with (k + 1) % `slow_every` == 0 is held to `slow_rate`, or k % `slow_every` == 0 with
    `slow_first` (the very first one crawls).
    """

    rate: float | None = None
    slow_every: int = 0
    slow_rate: float = 1_000_000
    slow_after: int | None = None
    latency: float = 0.0
    slow_first: bool = False

    def straggles(self, blob_connection: int) -> bool:
        if not self.slow_every:
            return False
        return (blob_connection + (0 if self.slow_first else 1)) % self.slow_every == 0


@dataclass
class _Fault:
    kind: Literal["cut", "stall"]
    after_bytes: int
    connections: int
    mode: CutMode = "rst"


@dataclass
class _Connection:
    index: int
    client: socket.socket
    upstream: socket.socket | None = None
    fault: _Fault | None = None
    sent_to_client: int = 0
    broken: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads_left: int = 2
    shaper: _RateLimiter | None = None  # this connection's own cap, from the link profile
    slow_after: int | None = None
    slow_rate: float | None = None
    latency: float = 0.0
    carries_blobs: bool = False
    client_done: bool = False  # the client closed its end


class _RequestParser:
    """Splits the client's byte stream into request heads; gives up on chunked bodies."""

    def __init__(self, connection: int, sink: Callable[[ProxiedRequest], None]) -> None:
        self._connection = connection
        self._sink = sink
        self._buffer = bytearray()
        self._body_left = 0
        self._gave_up = False

    def feed(self, data: bytes) -> int:
        """Take the next bytes from the client; returns how many request heads they ended."""
        heads = 0
        if self._gave_up:
            return heads
        view = memoryview(data)
        while view:
            if self._body_left:
                taken = min(self._body_left, len(view))
                self._body_left -= taken
                view = view[taken:]
                continue
            self._buffer += view
            view = memoryview(b"")
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    self._gave_up = True
                return heads
            head = bytes(self._buffer[:end]).decode("latin-1")
            rest = bytes(self._buffer[end + 4 :])
            self._buffer.clear()
            self._parse_head(head)
            heads += 1
            if self._gave_up:
                return heads
            view = memoryview(rest)
        return heads

    def _parse_head(self, head: str) -> None:
        request_line, *header_lines = head.split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._gave_up = True
            return
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._gave_up = True
        self._body_left = int(headers.get("content-length", "0") or 0)
        self._sink(ProxiedRequest(self._connection, parts[0], parts[1], headers))


class _RateLimiter:
    """One shared byte budget for all connections, so parallel ranged GETs share the rate."""

    def __init__(self, closed: threading.Event) -> None:
        self._closed = closed
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._next = 0.0

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive bytes/s, or None for unlimited")
        with self._lock:
            self._rate = rate
            self._next = time.monotonic()

    def piece_size(self, unlimited: int = _BUFFER) -> int:
        rate = self._rate
        # About 20 sends a second keeps the flow smooth enough to stop it mid-blob, and few
        # enough that shaping 16 connections costs the proxy little.
        return unlimited if rate is None else max(512, min(unlimited, int(rate / 20)))

    def acquire(self, n_bytes: int) -> None:
        with self._lock:
            rate = self._rate
            if rate is None:
                return
            now = time.monotonic()
            start = max(self._next, now)
            self._next = start + n_bytes / rate
        if start > now:
            self._closed.wait(start - now)


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of a registry that injects real network faults.

    Faults apply to whole TCP connections, in the order connections are accepted:
    `cut_after(n)` resets the next connection once it has forwarded n response bytes (counting
    every response on a keep-alive connection), `stall_after(n)` stops forwarding but keeps the
    socket open, `rate` throttles all response bytes together, and a `LinkProfile` shapes each
    connection on its own (`set_profile`). Counters let a test prove how much was fetched:
    `bytes_to_client`, `connections`, `cuts`, `requests`, `peak_blob_connections`.

    Response bytes go upstream -> pipe -> client with splice(2), so the proxy costs little CPU
    and is not what limits an unshaped link.
    """

    def __init__(
        self,
        upstream: str | HasHost,
        *,
        rate: float | None = None,
        profile: LinkProfile | None = None,
    ) -> None:
        upstream_host = upstream if isinstance(upstream, str) else upstream.host
        host, _, port = upstream_host.removeprefix("http://").rstrip("/").rpartition(":")
        self._upstream = (host, int(port))
        self._closed = threading.Event()
        self._limiter = _RateLimiter(self._closed)
        self._limiter.set_rate(rate)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._active: dict[int, _Connection] = {}
        self._threads: list[threading.Thread] = []
        self._requests: list[ProxiedRequest] = []
        self._connections = 0
        self._next_id = 0
        self._bytes_to_client = 0
        self._bytes_to_server = 0
        self._cuts = 0
        self._profile = profile or LinkProfile()
        self._profiled = 0  # blob connections since the profile was set
        self._stragglers: set[int] = set()
        self._bytes_by_connection: dict[int, int] = {}
        self._peak_blob_connections = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._port: int = self._listener.getsockname()[1]
        self._acceptor: threading.Thread | None = None

    # -- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        """Host to put in a model name instead of the registry's: "127.0.0.1:PORT"."""
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def upstream(self) -> str:
        return f"{self._upstream[0]}:{self._upstream[1]}"

    # -- counters ---------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._connections

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._active)

    @property
    def bytes_to_client(self) -> int:
        """Response bytes delivered to clients (headers included)."""
        return self._bytes_to_client

    @property
    def bytes_to_server(self) -> int:
        return self._bytes_to_server

    @property
    def cuts(self) -> int:
        """Connections this proxy has cut (by a fault or `cut_active`)."""
        return self._cuts

    @property
    def requests(self) -> list[ProxiedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def peak_blob_connections(self) -> int:
        """The most connections that had asked for a blob and were open at the same moment.

        A connection counts from its first blob request until the client closes it, as the
        kernel orders those events: when a new one is counted, the others' sockets are checked
        for the client's close, so a close followed by a new connection never counts as two.
        """
        return self._peak_blob_connections

    @property
    def straggler_connections(self) -> set[int]:
        """Ids (as in ProxiedRequest.connection) of the connections the profile made crawl."""
        with self._lock:
            return set(self._stragglers)

    @property
    def bytes_by_connection(self) -> dict[int, int]:
        """Response bytes delivered on each connection, by id."""
        with self._lock:
            return dict(self._bytes_by_connection)

    def reset_counters(self) -> None:
        with self._lock:
            self._connections = 0
            self._bytes_to_client = 0
            self._bytes_to_server = 0
            self._cuts = 0
            self._peak_blob_connections = 0
            self._stragglers.clear()
            self._bytes_by_connection.clear()
            self._requests.clear()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until no connection is open: a killed client's are gone, and nothing more
        will be counted for them."""
        deadline = time.monotonic() + timeout
        while self.active_connections:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.active_connections} connections still open")
            time.sleep(0.01)

    def wait_for_bytes(self, n_bytes: int, timeout: float = 10.0) -> None:
        """Block until at least `n_bytes` response bytes have gone to clients."""
        deadline = time.monotonic() + timeout
        while self._bytes_to_client < n_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"proxy forwarded {self._bytes_to_client} of {n_bytes} bytes in {timeout} s"
                )
            time.sleep(0.005)

    # -- faults -----------------------------------------------------------------------------

    def cut_after(self, n_bytes: int, *, connections: int = 1, mode: CutMode = "rst") -> None:
        """Cut each of the next `connections` connections after `n_bytes` response bytes.

        mode "rst" resets the connection (SO_LINGER 0), "fin" closes it cleanly mid-body.
        `cut_after(0)` accepts and resets at once, like a server dying between requests.
        """
        self._add_fault(_Fault("cut", n_bytes, connections, mode))

    def stall_after(self, n_bytes: int, *, connections: int = 1) -> None:
        """Stop forwarding after `n_bytes` on the next connections, keeping them open.

        Stalled connections resume on `release_stalls()`, end if the client closes, and are
        dropped by `close()`.
        """
        self._add_fault(_Fault("stall", n_bytes, connections))

    def clear_faults(self) -> None:
        """Forget faults not yet applied and release stalled connections."""
        with self._lock:
            self._faults.clear()
        self.release_stalls()

    def release_stalls(self) -> None:
        with self._lock:
            stalled = [c for c in self._active.values() if c.fault and c.fault.kind == "stall"]
        for connection in stalled:
            connection.fault = None
            connection.wake.set()

    def cut_active(self, mode: CutMode = "rst") -> int:
        """Cut every connection open right now; returns how many."""
        with self._lock:
            current = list(self._active.values())
        for connection in current:
            self._cut(connection, mode, drain=False)
        return len(current)

    @property
    def rate(self) -> float | None:
        return self._limiter.rate

    def set_rate(self, bytes_per_second: float | None) -> None:
        """Throttle response bytes of all connections together; None removes the limit."""
        self._limiter.set_rate(bytes_per_second)

    @property
    def profile(self) -> LinkProfile:
        return self._profile

    def set_profile(self, profile: LinkProfile) -> None:
        """Shape connections accepted from now on, counting them from 0 again."""
        with self._lock:
            self._profile = profile
            self._profiled = 0

    def _add_fault(self, fault: _Fault) -> None:
        if fault.after_bytes < 0 or fault.connections < 1:
            raise ValueError("after_bytes must be >= 0 and connections >= 1")
        with self._lock:
            self._faults.append(fault)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> CuttingProxy:
        if self._acceptor is not None:
            return self
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="proxy-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop accepting, drop every connection and join the threads."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            current = list(self._active.values())
        for connection in current:
            connection.wake.set()
            _shutdown(connection.client)
            if connection.upstream is not None:
                _shutdown(connection.upstream)
        for thread in list(self._threads):
            thread.join(timeout=5)

    stop = close

    def __enter__(self) -> CuttingProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CuttingProxy({self.host} -> {self.upstream})"

    # -- forwarding -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.setblocking(True)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                # Ids never restart (reset_counters only zeroes the visible count), so an id
                # always names one live connection in _active.
                index = self._next_id
                self._next_id += 1
                self._connections += 1
                fault = self._take_fault()
                connection = _Connection(index, client, fault=fault)
                self._shape(connection)
                self._active[index] = connection
                self._threads = [t for t in self._threads if t.is_alive()]
            if fault is not None and fault.kind == "cut" and fault.after_bytes == 0:
                self._cut(connection, fault.mode, drain=False)
                self._finish(connection)
                self._finish(connection)
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5.0)
            except OSError:
                # The registry is down: the client sees what a dead server behind a load
                # balancer looks like, a connection reset.
                self._cut(connection, "rst", drain=False, count=False)
                self._finish(connection)
                self._finish(connection)
                continue
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.upstream = upstream
            for target, name in ((self._pump_request, "up"), (self._pump_response, "down")):
                thread = threading.Thread(
                    target=target, args=(connection,), name=f"proxy-{index}-{name}", daemon=True
                )
                with self._lock:
                    self._threads.append(thread)
                thread.start()

    def _shape(self, connection: _Connection) -> None:
        """Apply the link profile to a connection being accepted (lock held)."""
        profile = self._profile
        if profile.rate is not None:
            connection.shaper = _RateLimiter(self._closed)
            connection.shaper.set_rate(profile.rate)
        connection.slow_after = profile.slow_after
        connection.slow_rate = profile.slow_rate
        connection.latency = profile.latency

    def _take_fault(self) -> _Fault | None:
        while self._faults:
            fault = self._faults[0]
            if fault.connections <= 0:
                self._faults.pop(0)
                continue
            fault.connections -= 1
            if fault.connections == 0:
                self._faults.pop(0)
            return _Fault(fault.kind, fault.after_bytes, 1, fault.mode)
        return None

    def _record_request(self, request: ProxiedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            connection = self._active.get(request.connection)
            if connection is None or connection.carries_blobs or "/blobs/" not in request.target:
                return
            connection.carries_blobs = True
            # Before the request goes on, so its response is already shaped.
            if self._profile.straggles(self._profiled):
                self._stragglers.add(connection.index)
                if connection.shaper is None:
                    connection.shaper = _RateLimiter(self._closed)
                connection.shaper.set_rate(self._profile.slow_rate)
            self._profiled += 1
            open_now = [
                c
                for c in self._active.values()
                if c.carries_blobs and not c.broken and not c.client_done and _client_open(c)
            ]
            self._peak_blob_connections = max(self._peak_blob_connections, len(open_now))

    def _pump_request(self, connection: _Connection) -> None:
        upstream = connection.upstream
        assert upstream is not None
        parser = _RequestParser(connection.index, self._record_request)
        try:
            while True:
                data = connection.client.recv(_BUFFER)
                if not data:
                    connection.client_done = True
                    connection.wake.set()
                    if not connection.broken:
                        with suppress(OSError):
                            upstream.shutdown(socket.SHUT_WR)
                    break
                heads = parser.feed(data)
                if heads and connection.latency and self._closed.wait(heads * connection.latency):
                    break
                upstream.sendall(data)
                with self._lock:
                    self._bytes_to_server += len(data)
        except OSError:
            self._break(connection)
        finally:
            self._finish(connection)

    def _pump_response(self, connection: _Connection) -> None:
        upstream = connection.upstream
        assert upstream is not None
        pipe_out, pipe_in = os.pipe()
        with suppress(OSError):
            fcntl.fcntl(pipe_in, _F_SETPIPE_SZ, _PIPE)
        try:
            while True:
                piece = self._limiter.piece_size(_PIPE)
                if connection.shaper is not None:
                    piece = min(piece, connection.shaper.piece_size(_PIPE))
                count = os.splice(upstream.fileno(), pipe_in, piece)
                if not count:
                    with suppress(OSError):
                        connection.client.shutdown(socket.SHUT_WR)
                    break
                if not self._deliver(connection, pipe_out, count):
                    break
        except OSError:
            self._break(connection)
        finally:
            os.close(pipe_in)
            os.close(pipe_out)
            self._finish(connection)

    def _deliver(self, connection: _Connection, pipe: int, count: int) -> bool:
        """Send the `count` bytes waiting in `pipe` to the client, applying the connection's
        fault and shaping; False once it is cut."""
        client = connection.client.fileno()
        while count:
            fault = connection.fault
            limit = count
            if fault is not None:
                limit = min(limit, max(0, fault.after_bytes - connection.sent_to_client))
            slow_after = connection.slow_after
            if slow_after is not None and connection.sent_to_client < slow_after:
                limit = min(limit, slow_after - connection.sent_to_client)
            if connection.shaper is not None:  # it may have been shaped since the read
                limit = min(limit, connection.shaper.piece_size(_PIPE))
            if limit:
                self._limiter.acquire(limit)
                if connection.shaper is not None:
                    connection.shaper.acquire(limit)
                # Counted before the kernel has them, so a client that has read them never
                # sees counters behind; corrected if fewer go.
                self._count_delivered(connection, limit)
                sent = 0
                try:
                    sent = os.splice(pipe, client, limit)
                finally:
                    self._count_delivered(connection, sent - limit)
                count -= sent
                if slow_after is not None and connection.sent_to_client >= slow_after:
                    self._slow_down(connection)
                continue
            assert fault is not None
            if fault.kind == "cut":
                self._cut(connection, fault.mode, drain=True)
                return False
            connection.wake.wait()
            if self._closed.is_set() or connection.broken or connection.fault is not None:
                return False
        return True

    def _count_delivered(self, connection: _Connection, count: int) -> None:
        connection.sent_to_client += count
        with self._lock:
            self._bytes_to_client += count
            self._bytes_by_connection[connection.index] = connection.sent_to_client

    def _slow_down(self, connection: _Connection) -> None:
        """The connection has sent its fast bytes: from now on it crawls."""
        connection.slow_after = None
        if connection.shaper is None:
            connection.shaper = _RateLimiter(self._closed)
        connection.shaper.set_rate(connection.slow_rate)

    def _cut(
        self, connection: _Connection, mode: CutMode, *, drain: bool, count: bool = True
    ) -> None:
        with connection.lock:
            if connection.broken:
                return
            connection.broken = True
        if count:
            with self._lock:
                self._cuts += 1
        client = connection.client
        if drain:
            _wait_sent(client)
        if mode == "rst":
            # Linger 0 turns the final close into a RST; SHUT_RD (which sends nothing on the
            # wire) wakes our own thread blocked in recv without an orderly FIN first.
            with suppress(OSError):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with suppress(OSError):
                client.shutdown(socket.SHUT_RD)
        else:
            _shutdown(client)
        if connection.upstream is not None:
            _shutdown(connection.upstream)
        connection.wake.set()

    def _break(self, connection: _Connection) -> None:
        with connection.lock:
            connection.broken = True
        _shutdown(connection.client)
        if connection.upstream is not None:
            _shutdown(connection.upstream)
        connection.wake.set()

    def _finish(self, connection: _Connection) -> None:
        # Sockets are closed only by the last of the two pump threads, so no thread is ever
        # left using a file descriptor number the kernel has handed to a new socket.
        with connection.lock:
            connection.threads_left -= 1
            last = connection.threads_left == 0
        if not last:
            return
        if not connection.broken:
            _shutdown(connection.upstream)
        connection.client.close()
        if connection.upstream is not None:
            connection.upstream.close()
        with self._lock:
            self._active.pop(connection.index, None)


ProxyFactory = Callable[..., CuttingProxy]
"""Type of the `proxy_factory` fixture: (upstream, *, rate=None, profile=None) -> a started
CuttingProxy."""

_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _client_open(connection: _Connection) -> bool:
    """Whether the client still has its end open, as its socket says right now."""
    try:
        data = connection.client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return bool(data)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _wait_sent(sock: socket.socket) -> None:
    """Wait until the kernel has handed every queued byte to the peer (SIOCOUTQ == 0)."""
    deadline = time.monotonic() + _DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            queued = struct.unpack(
                "i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
            )[0]
        except OSError:
            return
        if queued == 0:
            return
        time.sleep(0.002)


# --------------------------------------------------------------------------------------------
# Filesystems and files
# --------------------------------------------------------------------------------------------


@contextmanager
def small_filesystem(size_bytes: int) -> Iterator[Path]:
    """Mount a tmpfs of `size_bytes` (rounded up to pages) on a temporary directory.

    Needs root (or CAP_SYS_ADMIN); without it the calling test is skipped, saying why.
    """
    mount_point = Path(tempfile.mkdtemp(prefix="ecs-smallfs-"))
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs"]
    try:
        result = subprocess.run(
            [*command, str(mount_point)], capture_output=True, text=True, check=False
        )
        failure = result.stderr.strip() if result.returncode else ""
    except FileNotFoundError as exc:
        failure = str(exc)
    if failure:
        mount_point.rmdir()
        pytest.skip(
            f"cannot mount a {size_bytes}-byte tmpfs for a disk-full test "
            f"(needs root or CAP_SYS_ADMIN): {failure}"
        )
    try:
        yield mount_point
    finally:
        unmounted = subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
        if unmounted.returncode != 0:
            # Something (a leaked handle) still uses it: detach lazily rather than leak a mount.
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)
        with suppress(OSError):
            mount_point.rmdir()


def fill_filesystem(directory: str | os.PathLike[str], leave_free: int) -> Path:
    """Write a ballast file in `directory` so only about `leave_free` bytes stay free."""
    target = Path(directory) / "ballast.bin"
    free = shutil.disk_usage(directory).free
    to_write = max(0, free - leave_free)
    block = b"\0" * (1024 * 1024)
    with target.open("ab", buffering=0) as handle:
        while to_write > 0:
            try:
                written = handle.write(block[: min(len(block), to_write)])
            except OSError as exc:
                # Someone else (the download under test) took the last bytes meanwhile: the
                # filesystem is as full as asked.
                if exc.errno != errno.ENOSPC:
                    raise
                break
            to_write -= written or 0
    return target


def flip_byte(path: str | os.PathLike[str], offset: int | None = None) -> int:
    """Invert one byte of a file in place (default: the middle one); returns its offset.

    Size and mtime-independent checks still pass; only a digest check can notice.
    """
    target = Path(path)
    size = target.stat().st_size
    if size == 0:
        raise ValueError(f"{target} is empty: no byte to flip")
    position = size // 2 if offset is None else offset % size
    with target.open("r+b") as handle:
        handle.seek(position)
        original = handle.read(1)[0]
        handle.seek(position)
        handle.write(bytes([original ^ 0xFF]))
    return position
