"""Push a manifest and its blobs to any OCI registry: HEAD, mount, chunked resumable upload."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ecs_models.errors import (
    DigestMismatchError,
    EcsModelsError,
    ModelNotFoundError,
    OperationCancelledError,
    RegistryError,
    with_fix,
)
from ecs_models.manifest import Layer, Manifest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.client import USER_AGENT, RegistryClient, backoff_delay
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.blobsource import BlobSource, FileBlobSource
from ecs_models.transfer.progress import PullProgress, PullState

MIB = 1 << 20
PUSH_ACTION = "pull,push"
_REPORT_EVERY_S = 0.2
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_MOUNT_TRIES = 3
_REMEMBERED_REPOS = 8  # per blob and host: enough to find one to mount from
HINTS_FILE_NAME = "pushed-blobs.json"


class PushCancelledError(OperationCancelledError):
    """The user cancelled a push; blobs the registry acknowledged stay there for the next try."""


@dataclass(slots=True)
class PushOptions:
    """How a push behaves."""

    insecure: bool = False
    default_host: str = DEFAULT_HOST
    # A blob up to chunk_size_min goes in one PUT; a larger one in PATCH chunks that start at
    # chunk_size_min and grow toward chunk_seconds each. Distribution forgets an upload whose
    # request was cut mid-body, so a cancel waits for the chunk in flight: short chunks keep
    # that wait short, long ones keep the per-request overhead negligible on fast links.
    chunk_size_min: int = 8 * MIB
    chunk_size_max: int = 512 * MIB
    chunk_seconds: float = 2.0
    retries: int = 6  # per blob, reset whenever the registry acknowledges more bytes
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    timeout: float = 60.0  # seconds a body connection may wait for the peer


@dataclass(slots=True)
class PushResult:
    """What one push or mirror did to the destination."""

    name: ModelName
    digest: str
    present: list[str] = field(default_factory=list)  # blobs the repository already had
    mounted: list[str] = field(default_factory=list)  # linked from another repository
    uploaded: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "model": self.name.display,
            "digest": self.digest,
            "present": self.present,
            "mounted": self.mounted,
            "uploaded": self.uploaded,
            "bytes_sent": self.bytes_sent,
            "seconds": round(self.seconds, 3),
        }


class MountHints:
    """Repositories of each registry host known to hold a blob: where a mount can come from.

    With a `path` (in the store's state dir) what pushes put where is remembered between runs,
    so pushing a model under a second name tomorrow mounts instead of uploading.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._repos: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self.path = path
        if path is not None:
            with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
                for key, repos in json.loads(path.read_text()).items():
                    host, _, digest = key.rpartition("@")
                    self._repos[(host, digest)] = [str(r) for r in repos][-_REMEMBERED_REPOS:]

    def save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            doc = {f"{h}@{d}": repos[-_REMEMBERED_REPOS:] for (h, d), repos in self._repos.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.path)

    def add(self, host: str, repository: str, digest: str) -> None:
        with self._lock:
            repos = self._repos.setdefault((host.lower(), digest), [])
            if repository not in repos:
                repos.append(repository)

    def add_model(self, name: ModelName, manifest: Manifest) -> None:
        for layer in manifest.blobs:
            self.add(name.host, name.repository, layer.digest)

    def add_store(self, store: ModelStore, host: str) -> None:
        """An installed model pulled from `host` says that host had its blobs there."""
        for model in store.list_models():
            if model.name.host.lower() == host.lower():
                self.add_model(model.name, model.manifest)

    def candidates(self, host: str, digest: str, *, excluding: str) -> list[str]:
        with self._lock:
            repos = list(self._repos.get((host.lower(), digest), ()))
        # The most recent first: a repository we just pushed to certainly has the blob now.
        return [r for r in reversed(repos) if r != excluding]


def unique_blobs(manifest: Manifest) -> list[Layer]:
    """The manifest's blobs once each (a layer may repeat), layers first and config last."""
    return manifest.unique_blobs


def push_model(
    name: str | ModelName,
    store: ModelStore,
    dest: str | ModelName | None = None,
    *,
    registry: RegistryClient | None = None,
    progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
    options: PushOptions | None = None,
    hints: MountHints | None = None,
) -> PushResult:
    """Push an installed model to `dest` (default: its own name), manifest bytes unchanged.

    Blobs the repository has are skipped, blobs the registry has under another repository
    are mounted, the rest are streamed from disk; the manifest goes last. Blocking: call it on
    a worker thread. A cancelled or failed push resumes where the registry stopped.
    """
    opts = options or PushOptions()
    model = store.resolve(name, default_host=opts.default_host)
    target = resolve_destination(model.name, dest, default_host=opts.default_host)
    hints = hints if hints is not None else MountHints(store.state_dir / HINTS_FILE_NAME)
    if model.name.host.lower() == target.host.lower():
        hints.add_model(model.name, model.manifest)  # pushing a pulled model under a new name
    hints.add_store(store, target.host)
    sources: dict[str, BlobSource] = {}
    for layer in unique_blobs(model.manifest):
        if not store.has_blob(layer):
            missing = ModelNotFoundError(
                f"Blob {layer.digest[7:19]} of {model.display} is missing or incomplete."
            )
            raise with_fix(
                missing, "verify", "--repair", model.display, purpose="before pushing it"
            )
        sources[layer.digest] = FileBlobSource(store.blob_path(layer.digest))
    return upload_manifest(
        model.manifest.raw,
        target,
        sources,
        registry=registry,
        progress=progress,
        cancel=cancel,
        options=opts,
        hints=hints,
        session_dir=store.state_dir / "pushes",
    )


def resolve_destination(
    source: ModelName, dest: str | ModelName | None, *, default_host: str = DEFAULT_HOST
) -> ModelName:
    """`dest` as a full name: None is the source itself; "host", "host/" or "host/namespace/"
    keep the rest of the source's name; a name without a tag keeps the source's tag."""
    if dest is None:
        return source
    if isinstance(dest, ModelName):
        return dest
    text = dest.strip()
    if "/" not in text.split("://", 1)[-1]:
        text += "/"  # a bare "host:port" is a registry: no one pushes to a short name
    if text.endswith("/"):
        parts = [p for p in text.split("/") if p]
        if not parts or len(parts) > 2:
            raise EcsModelsError(
                f"Destination {dest!r} should be a registry host ending in '/', such as "
                "'registry.example.com/' or 'registry.example.com/team/', or a full model name."
            )
        namespace = parts[1] if len(parts) == 2 else source.namespace
        probe = f"{parts[0]}/{namespace}/{source.model}:{source.tag}"
        return parse_model_name(probe, default_host=default_host)
    parsed = parse_model_name(text, default_host=default_host)
    last = text.split("://", 1)[-1].rsplit("/", 1)[-1]
    if ":" not in last:
        return parsed.with_tag(source.tag)
    return parsed


def upload_manifest(
    raw: bytes,
    dest: ModelName,
    sources: Mapping[str, BlobSource],
    *,
    registry: RegistryClient | None = None,
    progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
    options: PushOptions | None = None,
    hints: MountHints | None = None,
    mount_from: Sequence[str] = (),
    session_dir: Path | None = None,
) -> PushResult:
    """Put the blobs of `raw` and then `raw` itself, byte for byte, under `dest`.

    `sources` gives each blob's bytes; `mount_from` names repositories on the destination host
    to try mounting from first (the source repository of a mirror within one registry).
    """
    opts = options or PushOptions()
    progress = progress if progress is not None else PullProgress(dest.display)
    cancel = cancel if cancel is not None else threading.Event()
    own_client = registry is None
    client = registry if registry is not None else RegistryClient(insecure=opts.insecure)
    pool = ConnectionPool(timeout=opts.timeout, verify_tls=not client.insecure)
    started = time.monotonic()
    try:
        with progress.reporting(f"Push to {dest.display} failed", RegistryError):
            manifest = Manifest.parse(raw)
            result = PushResult(name=dest, digest=manifest.digest)
            blobs = unique_blobs(manifest)
            progress.set_layers([(b.digest, b.media_type, b.size) for b in blobs])
            progress.set_state(PullState.DOWNLOADING)
            hints = hints if hints is not None else MountHints()
            for layer in blobs:
                source = sources.get(layer.digest)
                if source is None:
                    raise ModelNotFoundError(f"No source for blob {layer.digest[7:19]} was given.")
                upload = _BlobUpload(client, pool, dest, layer, source, progress, cancel, opts)
                known = hints.candidates(dest.host, layer.digest, excluding=dest.repository)
                candidates = [
                    c for c in dict.fromkeys([*mount_from, *known]) if c != dest.repository
                ]
                outcome = upload.run(candidates, session_dir)
                getattr(result, outcome).append(layer.digest)
                result.bytes_sent += upload.bytes_sent
                hints.add(dest.host, dest.repository, layer.digest)
            _check_cancel(cancel, dest)
            progress.set_state(PullState.WRITING, "pushing manifest")
            put_manifest(client, dest, manifest)
            hints.save()
            progress.set_state(PullState.DONE, "success")
            result.seconds = time.monotonic() - started
            return result
    finally:
        pool.close()
        if own_client:
            client.close()


def put_manifest(client: RegistryClient, dest: ModelName, manifest: Manifest) -> None:
    """PUT the manifest's exact bytes; the registry must name them by the same digest."""
    response = client.request(
        "PUT",
        dest,
        f"{dest.repository}/manifests/{dest.tag}",
        headers={"Content-Type": manifest.media_type},
        content=manifest.raw,
        action=PUSH_ACTION,
    )
    if response.status_code not in (200, 201):
        raise _refusal(dest, response.status_code, response.text, "the manifest")
    served = response.headers.get("Docker-Content-Digest")
    if served and served.strip().lower() != manifest.digest:
        raise DigestMismatchError(
            f"{dest.host} stored the manifest of {dest.display} as {served[:19]} instead of "
            f"{manifest.digest[:19]}: it rewrote the bytes."
        )


def _check_cancel(cancel: threading.Event, dest: ModelName) -> None:
    if cancel.is_set():
        # The command that resumes it is the caller's to name (see commands.remote).
        raise PushCancelledError(
            f"The push to {dest.display} was cancelled; the blobs the registry acknowledged "
            "stay there."
        )


def _refusal(dest: ModelName, status: int, body: str, what: str) -> RegistryError:
    codes = _error_codes(body)
    detail = f" ({', '.join(codes)})" if codes else ""
    if status in (401, 403):
        return RegistryError(
            f"{dest.host} refused to let us push {dest.display} (HTTP {status}{detail}); "
            "check the credentials for that host.",
            status=status,
        )
    return RegistryError(
        f"{dest.host} answered HTTP {status}{detail} for {what} of {dest.display}.",
        status=status,
        retryable=status in _RETRYABLE_STATUS,
    )


def _error_codes(body: str) -> list[str]:
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    return [str(e.get("code")) for e in errors or [] if isinstance(e, dict) and e.get("code")]


@dataclass(slots=True)
class _Session:
    """An upload in progress at the registry: where to send the next bytes and from where."""

    location: str
    offset: int


class _SessionLostError(RegistryError):
    """The registry no longer knows the upload (distribution forgets one cut mid-request)."""


class _SessionFile:
    """The upload URL of a blob push in flight, kept in our state dir so a new run resumes."""

    def __init__(self, directory: Path | None, dest: ModelName, digest: str) -> None:
        key = hashlib.sha256(f"{dest.host.lower()}/{dest.repository}@{digest}".encode())
        self.path = directory / f"{key.hexdigest()[:32]}.json" if directory else None

    def load(self) -> _Session | None:
        if self.path is None:
            return None
        try:
            doc = json.loads(self.path.read_text())
            return _Session(str(doc["location"]), int(doc["offset"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, session: _Session) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"location": session.location, "offset": session.offset}))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class _BlobUpload:
    """One blob to one repository: skip, mount, or upload in resumable chunks."""

    def __init__(
        self,
        client: RegistryClient,
        pool: ConnectionPool,
        dest: ModelName,
        layer: Layer,
        source: BlobSource,
        progress: PullProgress,
        cancel: threading.Event,
        options: PushOptions,
    ) -> None:
        self.client = client
        self.pool = pool
        self.dest = dest
        self.layer = layer
        self.source = source
        self.progress = progress
        self.cancel = cancel
        self.options = options
        self.registry_netloc = urllib.parse.urlsplit(client.base_url(dest)).netloc.lower()
        self.uploads_path = f"{dest.repository}/blobs/uploads/"
        self.chunk = options.chunk_size_min
        self.bytes_sent = 0
        self._last_report = 0.0
        self._status = f"pushing {layer.digest[7:19]}"

    # -- the whole blob ----------------------------------------------------------------------
    def run(self, mount_candidates: list[str], session_dir: Path | None) -> str:
        """Returns "present", "mounted" or "uploaded"."""
        digest = self.layer.digest
        if self._exists():
            self._report_done()
            return "present"
        saved = _SessionFile(session_dir, self.dest, digest)
        session = self._resume(saved.load())
        if session is None:
            saved.clear()
            session = self._mount_or_start(mount_candidates)
            if session is None:
                self._report_done()
                return "mounted"
        self.progress.layer_started(digest, session.offset, self._status)
        tries = 0
        while True:
            _check_cancel(self.cancel, self.dest)
            before = session.offset
            try:
                self._send(session, saved)
                saved.clear()
                self._report_done()
                return "uploaded"
            except (OSError, http.client.HTTPException) as exc:
                why = _describe(exc)
            except RegistryError as exc:
                if not exc.retryable:
                    raise
                why = str(exc)
            tries = 0 if session.offset > before else tries + 1
            if tries > self.options.retries:
                raise RegistryError(
                    f"Pushing blob {digest[7:19]} to {self.dest.host} failed {tries} times in a "
                    f"row ({why})."
                )
            delay = backoff_delay(
                tries, base=self.options.retry_base_delay, cap=self.options.retry_max_delay
            )
            if self.cancel.wait(delay):
                _check_cancel(self.cancel, self.dest)
            recovered = self._resume(session)
            if recovered is None:
                saved.clear()
                if self._exists():  # the last request landed; only its answer was lost
                    self._report_done()
                    return "uploaded"
                recovered = self._start()
            session = recovered

    def _send(self, session: _Session, saved: _SessionFile) -> None:
        size = self.layer.size
        if session.offset == 0 and size <= self.options.chunk_size_min:
            self._request("PUT", session, 0, size, final=True)
            return
        while session.offset < size:
            _check_cancel(self.cancel, self.dest)
            count = min(self.chunk, size - session.offset)
            started = time.monotonic()
            self._request("PATCH", session, session.offset, count, final=False)
            saved.save(session)
            # Every acknowledged chunk is reported: a listener may cancel at a clean boundary.
            self.progress.emit_layer(self.layer.digest, self._status)
            self._grow_chunk(count, time.monotonic() - started)
        self._request("PUT", session, size, 0, final=True)

    def _grow_chunk(self, count: int, seconds: float) -> None:
        opts = self.options
        wanted = int(count / max(seconds, 1e-3) * opts.chunk_seconds) // MIB * MIB
        self.chunk = max(opts.chunk_size_min, min(opts.chunk_size_max, wanted))

    # -- registry requests -------------------------------------------------------------------
    def _exists(self) -> bool:
        response = self.client.request(
            "HEAD", self.dest, f"{self.dest.repository}/blobs/{self.layer.digest}"
        )
        if response.status_code == 200:
            return True
        if response.status_code in (401, 403, 404):
            return False  # a repository we may not read yet (a push-only token) has nothing
        raise _refusal(self.dest, response.status_code, "", f"blob {self.layer.digest[7:19]}")

    def _mount_or_start(self, candidates: list[str]) -> _Session | None:
        """Mount from the first repository that has the blob; None when one did."""
        session: _Session | None = None
        for source in candidates[:_MOUNT_TRIES]:
            response = self.client.request(
                "POST",
                self.dest,
                self.uploads_path,
                params={"mount": self.layer.digest, "from": source},
                action=PUSH_ACTION,
            )
            if response.status_code == 201:
                if session is not None:
                    self._abandon(session)
                return None
            if response.status_code != 202:
                raise _refusal(self.dest, response.status_code, response.text, "an upload")
            # The registry did not mount and opened an ordinary upload instead.
            if session is not None:
                self._abandon(session)
            session = self._session_from(response, 0)
        return session if session is not None else self._start()

    def _start(self) -> _Session:
        response = self.client.request("POST", self.dest, self.uploads_path, action=PUSH_ACTION)
        if response.status_code != 202:
            raise _refusal(self.dest, response.status_code, response.text, "an upload")
        return self._session_from(response, 0)

    def _resume(self, session: _Session | None) -> _Session | None:
        """Ask the registry how much of an upload it holds; None when it forgot the upload."""
        if session is None:
            return None
        try:
            response = self.client.request("GET", self.dest, session.location, action=PUSH_ACTION)
        except RegistryError:
            return None
        if response.status_code not in (200, 204):
            return None
        return self._session_from(response, _range_end(response.headers.get("Range")))

    def _abandon(self, session: _Session) -> None:
        with contextlib.suppress(RegistryError):
            self.client.request("DELETE", self.dest, session.location, action=PUSH_ACTION)

    def _session_from(self, response: httpx.Response, offset: int) -> _Session:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.dest.host} opened an upload without a location.")
        return _Session(urllib.parse.urljoin(str(response.request.url), location), offset)

    def _request(
        self, method: str, session: _Session, offset: int, count: int, *, final: bool
    ) -> None:
        """One PATCH (a chunk) or PUT (the last chunk or the whole blob) with a streamed body."""
        url = session.location
        if final:
            url = str(httpx.URL(url).copy_merge_params({"digest": self.layer.digest}))
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, parts.hostname or "", port)
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(count),
        }
        if method == "PATCH":
            headers["Content-Range"] = f"{offset}-{offset + count - 1}"
        if parts.netloc.lower() == self.registry_netloc:
            headers.update(self.client.auth_headers(self.dest))
        conn = self.pool.get(*origin)
        try:
            conn.putrequest(method, parts.path + (f"?{parts.query}" if parts.query else ""))
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.endheaders()
            if count:
                assert conn.sock is not None
                self.source.send(conn.sock, offset, count, self._sent)
            response = conn.getresponse()
            body = response.read(1 << 16).decode("utf-8", "replace")
        except BaseException:
            conn.close()
            raise
        if response.will_close or response.length:
            conn.close()
        else:
            self.pool.put(*origin, conn)
        self._judge(method, response, body, session, offset + count)

    def _judge(
        self,
        method: str,
        response: http.client.HTTPResponse,
        body: str,
        session: _Session,
        expected_end: int,
    ) -> None:
        status = response.status
        what = f"blob {self.layer.digest[7:19]}"
        if method == "PATCH" and status == 202:
            location = response.getheader("Location")
            if location:
                session.location = urllib.parse.urljoin(session.location, location)
            ranged = response.getheader("Range")
            session.offset = _range_end(ranged) if ranged else expected_end
            return
        if method == "PUT" and status in (201, 204):
            return
        if status == 401:
            self.client.authorize(
                self.dest, response.getheader("WWW-Authenticate", ""), action=PUSH_ACTION
            )
            raise RegistryError(f"{self.dest.host} asked us to sign in again.", retryable=True)
        if status == 416:
            raise RegistryError(
                f"{self.dest.host} holds a different amount of {what}.", retryable=True
            )
        if status == 404:
            raise _SessionLostError(
                f"{self.dest.host} forgot the upload of {what}.", retryable=True
            )
        if status == 400 and "DIGEST_INVALID" in body:
            raise DigestMismatchError(
                f"{self.dest.host} found that {what} of {self.dest.display} does not match its "
                f"sha256 digest: {self.source.origin} holds damaged bytes."
            )
        raise _refusal(self.dest, status, body, what)

    # -- progress ----------------------------------------------------------------------------
    def _sent(self, count: int) -> None:
        self.bytes_sent += count
        self.progress.advance(self.layer.digest, count)
        now = time.monotonic()
        if now - self._last_report >= _REPORT_EVERY_S:
            self._last_report = now
            self.progress.emit_layer(self.layer.digest, self._status)

    def _report_done(self) -> None:
        self.progress.layer_started(self.layer.digest, self.layer.size, self._status)


def _range_end(header: str | None) -> int:
    """Bytes held by the registry from a `Range: 0-<last>` header ("0-0" means none)."""
    if not header:
        return 0
    _, _, last = header.strip().removeprefix("bytes=").partition("-")
    end = int(last) if last.isdigit() else -1
    return end + 1 if end > 0 else 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
        return "the connection was cut"
    text = str(exc).strip()
    return text or exc.__class__.__name__


__all__ = [
    "MountHints",
    "PushCancelledError",
    "PushOptions",
    "PushResult",
    "push_model",
    "resolve_destination",
    "unique_blobs",
    "upload_manifest",
]
