"""Registry credentials from the environment, our config file, or Docker's config.json."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ecs_models"


class CredentialStore:
    """Looks up credentials per registry host; nothing is sent unless a registry asks for it.

    Sources, first match wins: `ECS_MODELS_REGISTRY_AUTH` ("host=user:password,host2=..."),
    `~/.config/ecs_models/credentials.json` ({"host": {"username": ..., "password": ...}}),
    and Docker's `~/.docker/config.json` "auths" entries (so `docker login` works for us too).
    """

    def __init__(self, entries: dict[str, Credential] | None = None) -> None:
        self._entries = {k.lower(): v for k, v in (entries or {}).items()}

    @classmethod
    def from_environment(cls) -> CredentialStore:
        entries: dict[str, Credential] = {}
        entries.update(_docker_config(Path.home() / ".docker" / "config.json"))
        entries.update(_our_config(config_home() / "credentials.json"))
        entries.update(_env_entries(os.environ.get("ECS_MODELS_REGISTRY_AUTH", "")))
        return cls(entries)

    def lookup(self, host: str) -> Credential | None:
        return self._entries.get(host.lower())


def _env_entries(text: str) -> dict[str, Credential]:
    entries = {}
    for item in text.split(","):
        host, sep, secret = item.strip().partition("=")
        user, sep2, password = secret.partition(":")
        if sep and sep2 and host:
            entries[host.lower()] = Credential(user, password)
    return entries


def _our_config(path: Path) -> dict[str, Credential]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    entries = {}
    if isinstance(doc, dict):
        for host, value in doc.items():
            if isinstance(value, dict) and isinstance(value.get("username"), str):
                entries[host.lower()] = Credential(
                    value["username"], str(value.get("password", ""))
                )
    return entries


def _docker_config(path: Path) -> dict[str, Credential]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    entries = {}
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if isinstance(auths, dict):
        for host, value in auths.items():
            encoded = value.get("auth") if isinstance(value, dict) else None
            if not isinstance(encoded, str):
                continue
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            bare = host.removeprefix("https://").removeprefix("http://").split("/")[0]
            entries[bare.lower()] = Credential(user, password)
    return entries
