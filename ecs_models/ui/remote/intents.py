"""What the person did in the Remote area, as plain data the remote UI system turns into requests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PushPressed:
    model_name: str | None  # the installed model picked in the list, if any
    dest: str


@dataclass(frozen=True, slots=True)
class MirrorPressed:
    source: str
    dest: str


@dataclass(frozen=True, slots=True)
class TransferButtonPressed:
    """Cancel on a running transfer's row, Dismiss on a finished one."""

    transfer_entity: int


@dataclass(frozen=True, slots=True)
class RefreshPressed:
    pass


@dataclass(frozen=True, slots=True)
class AddHostPressed:
    address: str


@dataclass(frozen=True, slots=True)
class RemoveHostPressed:
    """The Remove button on one host's own row."""

    address: str


@dataclass(frozen=True, slots=True)
class HostRemovalAnswered:
    confirmed: bool


@dataclass(frozen=True, slots=True)
class HostPullPressed:
    host: str | None
    model: str


@dataclass(frozen=True, slots=True)
class HostDeletePressed:
    host: str | None
    model: str


@dataclass(frozen=True, slots=True)
class MirrorAddPressed:
    text: str  # "UPSTREAM=URL", or a URL for the default registry


@dataclass(frozen=True, slots=True)
class MirrorRemovePressed:
    """Remove on the registry mirrors: the (upstream, URL) picked in their list, if any."""

    picked: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class MirrorsTestPressed:
    pass


RemoteIntent = (
    PushPressed
    | MirrorPressed
    | TransferButtonPressed
    | RefreshPressed
    | AddHostPressed
    | RemoveHostPressed
    | HostRemovalAnswered
    | HostPullPressed
    | HostDeletePressed
    | MirrorAddPressed
    | MirrorRemovePressed
    | MirrorsTestPressed
)
