"""Low-level exceptions in plain words: the one place that turns them into a sentence with the fix.

httpx, http.client, sockets, the filesystem and JSON report problems in their own terms
(`[Errno -2] Name or service not known`, `Expecting value: line 1 column 1`). The command line
and the window both show `explain(exc)` instead: one sentence saying what happened and what to
do about it. Our own errors (EcsModelsError) are one such sentence already and pass unchanged.

Nothing here imports httpx: exceptions are recognised by their class and by the OSError they
wrap (httpx keeps it as `__cause__`), so the command line does not load httpx to report a
local error.
"""

from __future__ import annotations

import enum
import errno
import json
import socket
import ssl

from ecs_models.errors import EcsModelsError


class ConnectionProblem(enum.Enum):
    """Why a connection to a server failed, as far as it decides what to tell and to retry."""

    REFUSED = "refused"  # the host is there, nothing listens on the port
    NAME_UNKNOWN = "name unknown"  # DNS has no such host (or no DNS at all)
    TIMED_OUT = "timed out"
    CUT = "cut"  # reset, closed early, or a body that ended short
    UNREACHABLE = "unreachable"  # no route: this machine is offline or the network is down
    TLS = "tls"  # the certificate or the TLS handshake failed


# The short reason, to go inside another sentence ("Could not reach ollama.com (...)").
_REASONS = {
    ConnectionProblem.REFUSED: "nothing is listening there (connection refused)",
    ConnectionProblem.NAME_UNKNOWN: "the host name could not be found",
    ConnectionProblem.TIMED_OUT: "it did not answer in time",
    ConnectionProblem.CUT: "the connection was cut",
    ConnectionProblem.UNREACHABLE: "there is no network route to it",
    ConnectionProblem.TLS: "the secure (TLS) connection failed",
}

_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
_CUT_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
_CUT_NAMES = frozenset(
    {
        "RemoteDisconnected",
        "IncompleteRead",
        "ReadError",
        "WriteError",
        "RemoteProtocolError",
        "ConnectionResetError",
        "BrokenPipeError",
    }
)
_TIMEOUT_NAMES = frozenset(
    {"ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException"}
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it wraps (httpx -> httpcore -> OSError), outermost first."""
    seen: list[BaseException] = []
    probe: BaseException | None = exc
    while probe is not None and len(seen) < 8 and all(probe is not s for s in seen):
        seen.append(probe)
        probe = probe.__cause__ or probe.__context__
    return seen


def connection_problem(exc: BaseException) -> ConnectionProblem | None:
    """What kind of connection failure `exc` is, or None when it is not one."""
    for item in _chain(exc):
        if isinstance(item, socket.gaierror):
            return ConnectionProblem.NAME_UNKNOWN
        if isinstance(item, ConnectionRefusedError):
            return ConnectionProblem.REFUSED
        if isinstance(item, ssl.SSLError):
            return ConnectionProblem.TLS
        if isinstance(item, TimeoutError):
            return ConnectionProblem.TIMED_OUT
        if isinstance(item, OSError) and item.errno in _UNREACHABLE_ERRNOS:
            return ConnectionProblem.UNREACHABLE
        if isinstance(item, OSError) and item.errno in _CUT_ERRNOS:
            return ConnectionProblem.CUT
    for item in _chain(exc):
        name = type(item).__name__
        if name in _TIMEOUT_NAMES:
            return ConnectionProblem.TIMED_OUT
        if name in _CUT_NAMES:
            return ConnectionProblem.CUT
    return None


def connection_reason(problem: ConnectionProblem) -> str:
    """'nothing is listening there (connection refused)': to go inside another sentence."""
    return _REASONS[problem]


def connection_sentence(problem: ConnectionProblem, host: str, what: str = "the registry") -> str:
    """One sentence with the fix: "Can't connect to 127.0.0.1:9 — is the registry running?"."""
    if problem is ConnectionProblem.REFUSED:
        return f"Can't connect to {host} — is {what} running?"
    if problem is ConnectionProblem.NAME_UNKNOWN:
        return (
            f"Can't find the host {_bare(host)} — check the name for typos and that this "
            "computer is online."
        )
    if problem is ConnectionProblem.TIMED_OUT:
        return f"{host} did not answer in time — check the network connection, or try again later."
    if problem is ConnectionProblem.UNREACHABLE:
        return f"Can't reach {host}: there is no network route to it — is this computer online?"
    if problem is ConnectionProblem.TLS:
        return (
            f"The secure connection to {host} failed — check the address; a registry with a "
            "self-signed certificate needs --insecure."
        )
    return f"The connection to {host} was cut — try again; a download resumes where it stopped."


def explain(exc: BaseException, *, host: str | None = None, what: str = "the registry") -> str:
    """`exc` as one sentence that says what to do; `host` names the server a connection was to.

    Our own errors already are such a sentence. Anything this function does not recognise
    keeps its class name, so a bug still reads as one.
    """
    if isinstance(exc, EcsModelsError):
        return _one_line(str(exc)) or exc.__class__.__name__
    problem = connection_problem(exc)
    if problem is not None:
        return connection_sentence(problem, host or _host_of(exc) or "the server", what)
    if isinstance(exc, json.JSONDecodeError):
        return f"The data is not valid JSON (line {exc.lineno}, column {exc.colno}) — the file or answer is damaged."
    if isinstance(exc, UnicodeDecodeError):
        return "The data is not UTF-8 text — the file is damaged or is not the kind expected."
    if isinstance(exc, OSError):
        return _os_sentence(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted."
    text = _one_line(str(exc))
    name = exc.__class__.__name__
    return f"Unexpected error ({name}: {text})." if text else f"Unexpected error ({name})."


def recognised(exc: BaseException) -> bool:
    """True when `explain` has plain words for `exc` (not the "Unexpected error" fallback)."""
    return (
        isinstance(exc, EcsModelsError | OSError | ValueError | KeyboardInterrupt)
        and (
            not isinstance(exc, ValueError)
            or isinstance(exc, json.JSONDecodeError | UnicodeDecodeError)
        )
    ) or connection_problem(exc) is not None


def _os_sentence(exc: OSError) -> str:
    path = exc.filename if isinstance(exc.filename, str) else None
    where = f" {path}" if path else ""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"The disk is full{' at' + where if path else ''} — free some space and try again."
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"Permission denied{' for' + where if path else ''} — choose a place you can write "
            "to, or fix its permissions."
        )
    if code == errno.ENOENT:
        return f"{path or 'The file'} does not exist — check the path."
    if code == errno.EROFS:
        return f"{path or 'The place'} is on a read-only filesystem — choose another place."
    if code == errno.EISDIR:
        return f"{path or 'That'} is a folder, not a file — name a file."
    if code == errno.ENOTDIR:
        return f"A part of {path or 'the path'} is not a folder — check the path."
    if code == errno.EIO:
        return f"The disk reported an input/output error{' at' + where if path else ''} — it may be failing."
    if code in (errno.EMFILE, errno.ENFILE):
        return "Too many files are open — close some programs and try again."
    reason = exc.strerror or _one_line(str(exc)) or exc.__class__.__name__
    return f"{reason}{':' + where if path else ''}."


def _host_of(exc: BaseException) -> str | None:
    """The host:port an httpx error was about (its request's URL), if it has one."""
    for item in _chain(exc):
        try:
            request = getattr(item, "request", None)
        except RuntimeError:  # httpx raises when an error has no request attached
            request = None
        url = getattr(request, "url", None)
        host = getattr(url, "host", None)
        if host:
            port = getattr(url, "port", None)
            return f"{host}:{port}" if port else str(host)
    return None


def _bare(host: str) -> str:
    """The host name without its port: DNS does not know ports."""
    if host.startswith("["):
        return host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _one_line(text: str) -> str:
    return " ".join(text.split())
