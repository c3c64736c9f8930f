"""A real CNCF distribution registry (Debian's docker-registry) run on a loopback port for tests."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType

import httpx

REGISTRY_BINARY = "docker-registry"
START_TIMEOUT_S = 10.0
_DIGEST_PREFIX = "sha256:"


class RegistryUnavailableError(RuntimeError):
    """The docker-registry binary is missing or the server did not come up."""


def find_registry_binary() -> str:
    """Return the docker-registry executable path, or raise with the way to install it."""
    found = shutil.which(REGISTRY_BINARY)
    if found is None:
        raise RegistryUnavailableError(
            f"`{REGISTRY_BINARY}` is not on PATH: the tests need a real registry server. "
            "Run .ci/run once (it installs it: apt-get install docker-registry)."
        )
    return found


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Servers still running when the interpreter exits (a crashed or interrupted session) are
# killed rather than left behind holding ports.
_live_servers: weakref.WeakSet[RegistryServer] = weakref.WeakSet()


@atexit.register
def _kill_leftover_servers() -> None:
    for server in list(_live_servers):
        server.kill()


class RegistryServer:
    """`docker-registry serve` with its own config, storage tree and port; restartable in place."""

    def __init__(
        self,
        *,
        workdir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        proxy_remote: str | None = None,
    ):
        """`proxy_remote` (a registry URL) makes this a pull-through cache of that registry:
        docker-registry's `proxy: remoteurl:` mode, storing what it serves."""
        self._proxy_remote = proxy_remote
        self._binary = find_registry_binary()
        self._owns_workdir = workdir is None
        self._workdir = Path(
            tempfile.mkdtemp(prefix="ecs-registry-") if workdir is None else workdir
        )
        self._workdir.mkdir(parents=True, exist_ok=True)
        self._storage_dir = self._workdir / "storage"
        self._storage_dir.mkdir(exist_ok=True)
        self._config_path = self._workdir / "config.yml"
        self._log_path = self._workdir / "registry.log"
        self._port = port if port is not None else free_loopback_port()
        self._port_was_chosen = port is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    # -- properties -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        """Registry host as it appears in a model name, e.g. "127.0.0.1:41234"."""
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def storage_dir(self) -> Path:
        return self._storage_dir

    @property
    def workdir(self) -> Path:
        return self._workdir

    @property
    def log_path(self) -> Path:
        return self._log_path

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- storage tree -----------------------------------------------------------------------

    def blob_data_path(self, digest: str) -> Path:
        """Path of the file the registry serves for `digest` (sha256:<hex> or sha256-<hex>)."""
        hex_digest = _digest_hex(digest)
        return (
            self._storage_dir
            / "docker/registry/v2/blobs/sha256"
            / hex_digest[:2]
            / hex_digest
            / "data"
        )

    def repository_dir(self, repository: str) -> Path:
        """Directory holding a repository's links (layers, manifests, tags) in the storage tree."""
        return self._storage_dir / "docker/registry/v2/repositories" / repository

    def read_log(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> RegistryServer:
        """Start the server and wait until `GET /v2/` answers 200."""
        if self.running:
            return self
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [self._binary, "serve", str(self._config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _live_servers.add(self)
        try:
            self._wait_ready()
        except RegistryUnavailableError:
            if self._port_was_chosen and "address already in use" in self.read_log():
                # Another process took the port between our probe and the server's bind:
                # only a first start may move, later ones must keep the port tests know.
                self._port_was_chosen = False
                self._port = free_loopback_port()
                self._write_config()
                return self.start()
            raise
        self._port_was_chosen = False
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server gracefully (SIGTERM), escalating to SIGKILL."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server: the abrupt death a client must survive."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self._proc = None

    def restart(self) -> RegistryServer:
        """Stop (if running) and start again on the same port with the same storage."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove the working directory if this object created it."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RegistryServer({self.url}, {state}, storage={self._storage_dir})"

    # -- internals --------------------------------------------------------------------------

    def _write_config(self) -> None:
        # No blobdescriptor cache: a test that corrupts or deletes a stored blob must see the
        # registry consult the disk, not a descriptor remembered from before the fault.
        self._config_path.write_text(
            "version: 0.1\n"
            "log:\n"
            "  level: error\n"
            "  formatter: text\n"
            "  accesslog:\n"
            "    disabled: true\n"
            "storage:\n"
            "  filesystem:\n"
            f"    rootdirectory: {self._storage_dir}\n"
            "  delete:\n"
            "    enabled: true\n"
            "  maintenance:\n"
            "    uploadpurging:\n"
            "      enabled: false\n"
            "http:\n"
            f"  addr: 127.0.0.1:{self._port}\n"
            "  headers:\n"
            "    X-Content-Type-Options: [nosniff]\n"
            + (f"proxy:\n  remoteurl: {self._proxy_remote}\n" if self._proxy_remote else "")
        )

    def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error = "no answer yet"
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    self._proc = None
                    raise RegistryUnavailableError(
                        f"docker-registry exited with code {proc.returncode} while starting on "
                        f"{self.host}; its log:\n{self.read_log()}"
                    )
                try:
                    response = client.get(f"{self.url}/v2/")
                    if response.status_code == 200:
                        return
                    last_error = f"GET /v2/ answered {response.status_code}"
                except httpx.TransportError as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.05)
        self.kill()
        raise RegistryUnavailableError(
            f"docker-registry on {self.host} not ready after {START_TIMEOUT_S:.0f} s "
            f"({last_error}); its log:\n{self.read_log()}"
        )


def _digest_hex(digest: str) -> str:
    text = digest.strip()
    for prefix in (_DIGEST_PREFIX, "sha256-"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return text
