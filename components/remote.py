"""Remote area components: push, mirror and host requests, and the transfers serving them."""

from __future__ import annotations

import enum
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ecs_models.transfer.progress import PullProgress, PullSnapshot, PullState


class TransferKind(enum.StrEnum):
    PUSH = "push"
    MIRROR = "mirror"
    HOST_PULL = "host pull"


@dataclass(slots=True)
class RemoteTransferRequest:
    """The person asked to push (source: installed model), mirror (source: any name) or pull
    on an Ollama host (source: model, dest: host URL)."""

    kind: TransferKind
    source: str
    dest: str


@dataclass(slots=True)
class RemoteTransfer:
    """One push, mirror or host pull running on the download pool; the UI reads `snapshot`."""

    kind: TransferKind
    label: str
    progress: PullProgress
    future: Future[Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    snapshot: PullSnapshot | None = None
    seen_version: int = -1
    state: PullState = PullState.QUEUED
    result_text: str = ""
    error: str | None = None

    @property
    def fraction(self) -> float:
        if self.state is PullState.DONE:
            return 1.0
        return self.snapshot.fraction if self.snapshot is not None else 0.0


@dataclass(slots=True)
class RemoteCancelRequest:
    """Cancel a running transfer, or dismiss a finished one, by its entity id."""

    transfer_entity: int


class HostAction(enum.StrEnum):
    ADD = "add"
    REMOVE = "remove"
    DELETE_MODEL = "delete model"


@dataclass(slots=True)
class HostRequest:
    """Edit the hosts list (ADD/REMOVE `address`) or delete `model` on the host `address`."""

    action: HostAction
    address: str
    model: str = ""


@dataclass(slots=True)
class HostSurveyRequest:
    """Ask every host for its version, models and loaded models now (the Refresh button)."""


class MirrorAction(enum.StrEnum):
    ADD = "add"
    REMOVE = "remove"
    TEST = "test"


@dataclass(slots=True)
class MirrorRequest:
    """Edit the registry mirrors in mirrors.json (ADD `text`, "UPSTREAM=URL" or a URL for the
    default registry; REMOVE `upstream`'s `url`), or TEST them all."""

    action: MirrorAction
    text: str = ""
    upstream: str = ""
    url: str = ""
