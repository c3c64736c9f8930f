"""Thread-safe pull progress: workers write it, the UI and the command line read snapshots."""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ecs_models.errors import EcsModelsError, OperationCancelledError
from ecs_models.explain import explain
from ecs_models.retry import RetryNotice


class PullState(enum.StrEnum):
    QUEUED = "queued"
    RESOLVING = "resolving"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (PullState.DONE, PullState.FAILED, PullState.CANCELLED)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One progress message, shaped like an object of Ollama's /api/pull stream."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None
    bytes_per_second: float | None = None
    eta_seconds: float | None = None
    error: str | None = None
    freed_bytes: int | None = None  # "removing unused layers": what deleting them freed
    source: str | None = None  # where the bytes come from when mirrors are configured

    def to_json_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"error": self.error}
        out: dict[str, Any] = {"status": self.status}
        if self.digest is not None:
            out["digest"] = self.digest
        if self.total is not None:
            out["total"] = self.total
        if self.completed is not None:
            out["completed"] = self.completed
        if self.bytes_per_second is not None:
            out["bytes_per_second"] = round(self.bytes_per_second)
        if self.eta_seconds is not None:
            out["eta_seconds"] = round(self.eta_seconds, 1)
        if self.freed_bytes is not None:
            out["freed_bytes"] = self.freed_bytes
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass(frozen=True, slots=True)
class LayerProgress:
    digest: str
    media_type: str
    total: int
    completed: int


@dataclass(frozen=True, slots=True)
class PullSnapshot:
    """An immutable copy of a pull's progress at one instant."""

    model: str
    state: PullState
    status: str
    layers: tuple[LayerProgress, ...]
    total: int
    completed: int
    bytes_per_second: float
    eta_seconds: float | None
    error: str | None
    freed_bytes: int = 0  # the replaced version's unused blobs, deleted after a re-pull
    retry: RetryNotice | None = None  # a retry waiting to happen, until bytes flow again
    source: str | None = None  # the mirror (or upstream) the current blob comes from

    @property
    def fraction(self) -> float:
        return min(1.0, self.completed / self.total) if self.total > 0 else 0.0

    @property
    def source_note(self) -> str:
        """'from cache.lan:5000' while mirrors are in play, else '' (a row appends it)."""
        return f"from {self.source}" if self.source else ""


# Speed is averaged over the last half of the pull so far, within these bounds: steady once a
# pull has run a while (streams joining, stragglers replaced and raced ranges do not make it
# jump), yet quick to show a pull that has just started or stopped.
_RATE_WINDOW_MIN_S = 3.0
_RATE_WINDOW_MAX_S = 60.0
_SAMPLE_EVERY_S = 0.1


@dataclass(slots=True)
class _Layer:
    digest: str
    media_type: str
    total: int
    completed: int = 0


@dataclass
class PullProgress:
    """Progress of one pull, shared by the worker threads that write it and any reader.

    Completed bytes only ever grow (Ollama's progress going backwards is #8484): bytes that have
    to be fetched again after a failure are not subtracted.
    """

    model: str
    listener: Callable[[ProgressEvent], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _state: PullState = PullState.QUEUED
    _status: str = "queued"
    _layers: dict[str, _Layer] = field(default_factory=dict)
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _first_sample: float | None = None
    _transferred: int = 0
    _error: str | None = None
    _freed_bytes: int = 0
    _source: str | None = None
    _version: int = 0
    _retry: RetryNotice | None = None

    # -- writer side -------------------------------------------------------------------
    def set_state(self, state: PullState, status: str | None = None) -> None:
        with self._lock:
            self._state = state
            if status is not None:
                self._status = status
            self._retry = None
            self._version += 1
        if status is not None and state not in (PullState.FAILED,):
            self._emit(ProgressEvent(status=status))

    def set_layers(self, layers: list[tuple[str, str, int]]) -> None:
        """Declare the blobs of the pull: (digest, media type, size) in manifest order."""
        with self._lock:
            self._layers = {d: _Layer(d, m, s) for d, m, s in layers}
            self._version += 1

    def layer_started(self, digest: str, already: int, status: str | None = None) -> None:
        """A blob starts downloading with `already` bytes present (resumed or skipped).

        `status` replaces the event's "pulling <digest>" (a push says "pushing <digest>").
        """
        with self._lock:
            layer = self._layers[digest]
            layer.completed = max(layer.completed, min(already, layer.total))
            self._version += 1
        self.emit_layer(digest, status)

    def advance(self, digest: str, nbytes: int) -> None:
        """Record `nbytes` newly received for a blob; cheap, called for every chunk."""
        now = time.monotonic()
        with self._lock:
            layer = self._layers[digest]
            layer.completed = min(layer.total, layer.completed + nbytes)
            self._transferred += nbytes
            self._sample_locked(now)
            self._retry = None  # bytes flow again
            self._version += 1

    def retrying(self, notice: RetryNotice) -> None:
        """A request failed and will be retried after a wait: readers show it counting down."""
        with self._lock:
            self._retry = notice
            self._version += 1
        self._emit(ProgressEvent(status=f"{notice.text()}: {notice.reason}"))

    def emit_layer(self, digest: str, status: str | None = None) -> None:
        """Send one Ollama-shaped event for a layer to the listener (the CLI's stream)."""
        if self.listener is None:
            return
        snap = self.snapshot()
        for layer in snap.layers:
            if layer.digest == digest:
                self._emit(
                    ProgressEvent(
                        status=status or f"pulling {digest.removeprefix('sha256:')[:12]}",
                        digest=digest,
                        total=layer.total,
                        completed=layer.completed,
                        bytes_per_second=snap.bytes_per_second,
                        eta_seconds=snap.eta_seconds,
                        source=snap.source,
                    )
                )
                return

    def unused_layers_removed(self, status: str, freed_bytes: int) -> None:
        """The replaced version's unused blobs are gone: Ollama's `status` step, with the bytes."""
        with self._lock:
            self._status = status
            self._freed_bytes = freed_bytes
            self._version += 1
        self._emit(ProgressEvent(status=status, freed_bytes=freed_bytes))

    def set_source(self, source: str | None, status: str | None = None) -> None:
        """Where the next bytes come from (a mirror's label, or the upstream's host once it
        falls back); `status` is a line saying why it changed."""
        with self._lock:
            self._source = source
            self._version += 1
        if status is not None:
            self._emit(ProgressEvent(status=status, source=source))

    def fail(self, message: str) -> None:
        with self._lock:
            self._state = PullState.FAILED
            self._error = message
            self._version += 1
        self._emit(ProgressEvent(status="error", error=message))

    def cancelled(self, message: str | None = None) -> None:
        with self._lock:
            self._state = PullState.CANCELLED
            self._error = message or "The pull was cancelled; its partial download stays resumable."
            self._version += 1

    @contextlib.contextmanager
    def reporting(
        self, failure: str, error_type: type[EcsModelsError] = EcsModelsError
    ) -> Iterator[None]:
        """End the progress the way the block ends: cancelled, or failed with one sentence.

        An OSError from the block (a socket, a full disk) becomes `error_type` with the
        sentence "<failure>: <reason>." so every caller reports the same way.
        """
        try:
            yield
        except OperationCancelledError as exc:
            self.cancelled(str(exc) or None)
            raise
        except EcsModelsError as exc:
            self.fail(str(exc))
            raise
        except OSError as exc:
            error = error_type(f"{failure}: {explain(exc)}")
            self.fail(str(error))
            raise error from exc

    def _emit(self, event: ProgressEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    # -- reader side -------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows whenever anything changes: readers skip work when it has not moved."""
        return self._version

    def snapshot(self) -> PullSnapshot:
        with self._lock:
            layers = tuple(
                LayerProgress(x.digest, x.media_type, x.total, x.completed)
                for x in self._layers.values()
            )
            rate = self._rate_locked()
            state, status, error = self._state, self._status, self._error
            freed = self._freed_bytes
            retry = self._retry
            source = self._source
        total = sum(x.total for x in layers)
        completed = sum(x.completed for x in layers)
        eta = (total - completed) / rate if rate > 0 else None
        return PullSnapshot(
            model=self.model,
            state=state,
            status=status,
            layers=layers,
            total=total,
            completed=completed,
            bytes_per_second=rate,
            eta_seconds=eta,
            error=error,
            freed_bytes=freed,
            retry=retry,
            source=source,
        )

    def _sample_locked(self, now: float) -> None:
        samples = self._samples
        if self._first_sample is None:
            self._first_sample = now
        if len(samples) >= 2 and now - samples[-2][0] < _SAMPLE_EVERY_S:
            samples[-1] = (now, self._transferred)  # at most ten samples a second are kept
        else:
            samples.append((now, self._transferred))
        window = min(_RATE_WINDOW_MAX_S, max(_RATE_WINDOW_MIN_S, (now - self._first_sample) / 2))
        while len(samples) > 2 and now - samples[1][0] >= window:
            samples.popleft()

    def _rate_locked(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        # A pull that stopped receiving shows its speed fall to zero, not the last average.
        idle = time.monotonic() - t1
        span = max(t1 - t0, 1e-6) + (idle if idle > 0.5 else 0.0)
        return (b1 - b0) / span
