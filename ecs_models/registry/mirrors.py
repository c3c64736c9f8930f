"""Registry mirrors per upstream host: `mirrors.json` in ~/.config/ecs_models and ECS_MODELS_MIRRORS.

A mirror holds the same repositories as its upstream (a pull-through cache, a synced copy, a
peer-to-peer distributor). How a mirror URL maps onto requests, as containerd's hosts.toml
does (its `override_path` for the second form):

- `scheme://host[:port]`: `/v2/<namespace>/<model>/...`, the upstream's own paths (Docker's
  registry-mirrors, docker-registry's and Zot's caches, Spegel, Dragonfly);
- `scheme://host[:port]/v2/<prefix>`: `/v2/<prefix>/<namespace>/<model>/...`, a project or
  repository inside a registry (Harbor's proxy-cache project, Artifactory, Nexus).

Any other path is refused, so a mistyped URL is an error rather than a silent cache miss.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ecs_models.errors import EcsModelsError
from ecs_models.names import ModelName, parse_model_name
from ecs_models.registry.client import is_loopback_host
from ecs_models.registry.credentials import config_home

MIRRORS_FILE_NAME = "mirrors.json"
MIRRORS_ENV = "ECS_MODELS_MIRRORS"
# One path segment of a repository prefix (a Harbor project, an Artifactory repository key).
_PREFIX_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def mirrors_file() -> Path:
    """Where the table lives: beside credentials.json and hosts.json (XDG aware)."""
    return config_home() / MIRRORS_FILE_NAME


@dataclass(frozen=True, slots=True)
class Mirror:
    """One mirror: where it is and the repository prefix its copies live under."""

    scheme: str
    host: str  # host[:port], as in a model name
    prefix: str = ""  # "ollama-proxy" for https://harbor.corp/v2/ollama-proxy

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}" + (f"/v2/{self.prefix}" if self.prefix else "")

    @property
    def label(self) -> str:
        """What progress says the bytes came from: 'cache.lan:5000'."""
        return self.host + (f"/{self.prefix}" if self.prefix else "")

    def name_for(self, name: ModelName) -> ModelName:
        """The mirror's address of a model: the same repository and tag, on the mirror's host,
        under its prefix. It is only ever asked for, never installed under."""
        namespace = f"{self.prefix}/{name.namespace}" if self.prefix else name.namespace
        return ModelName(self.host, namespace, name.model, name.tag, scheme=self.scheme)


def parse_mirror_url(text: str) -> Mirror:
    """`http://cache.lan:5000`, `https://harbor.corp/v2/ollama-proxy` or a bare `host:port`
    (https, or http on loopback as for registries); EcsModelsError with one sentence if not."""
    value = text.strip() if isinstance(text, str) else ""
    if not value or any(c.isspace() for c in value):
        raise EcsModelsError(
            f"{str(text)[:80]!r} is not a mirror URL such as http://cache.lan:5000."
        )
    if "://" not in value:
        bare = value.split("/", 1)[0]
        value = ("http://" if is_loopback_host(bare) else "https://") + value
    parts = urllib.parse.urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise EcsModelsError(f"The mirror {value[:80]!r} is not an http or https URL.")
    if parts.username is not None or parts.password is not None:
        raise EcsModelsError(
            f"The mirror {parts.hostname} has credentials in its URL; put them in "
            "~/.config/ecs_models/credentials.json (or ECS_MODELS_REGISTRY_AUTH) instead."
        )
    if parts.query or parts.fragment:
        raise EcsModelsError(f"The mirror URL {value[:80]!r} may not have a query or fragment.")
    host = _registry_host(parts.netloc, what=f"The mirror URL {value[:80]!r}")
    path = parts.path.strip("/")
    prefix = ""
    if path and path != "v2":
        head, _, prefix = path.partition("/")
        segments = prefix.split("/")
        if head != "v2" or not all(_PREFIX_PART_RE.fullmatch(s) for s in segments):
            raise EcsModelsError(
                f"The mirror URL {value[:80]!r} has a path that is not /v2/<project>; a mirror "
                "is host[:port], or host[:port]/v2/<project> for a project in a registry."
            )
    return Mirror(parts.scheme.lower(), host, prefix)


def normalize_upstream(text: str) -> str:
    """The upstream a mirror stands for, as the host of a model name: 'registry.ollama.ai'."""
    value = text.strip() if isinstance(text, str) else ""
    bare = value.split("://", 1)[-1].rstrip("/")
    return _registry_host(bare, what=f"The upstream {value[:80]!r}")


def _registry_host(netloc: str, *, what: str) -> str:
    # A model name's host grammar (names.py) decides what a registry host may be.
    try:
        return parse_model_name(f"{netloc}/mirror/check").host.lower()
    except EcsModelsError:
        raise EcsModelsError(
            f"{what} does not name a registry host such as cache.lan:5000."
        ) from None


class MirrorTable(Mapping[str, tuple[Mirror, ...]]):
    """Mirrors per upstream host (lowercase), in the order they are asked."""

    def __init__(self, entries: Mapping[str, Sequence[Mirror]] | None = None) -> None:
        self._entries = {k.lower(): tuple(v) for k, v in (entries or {}).items() if v}

    def __getitem__(self, upstream: str) -> tuple[Mirror, ...]:
        return self._entries[upstream.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def for_host(self, host: str) -> tuple[Mirror, ...]:
        return self._entries.get(host.lower(), ())

    def pairs(self) -> list[tuple[str, Mirror]]:
        """(upstream, mirror) in the order they are asked."""
        return [(up, m) for up, mirrors in self._entries.items() for m in mirrors]

    @classmethod
    def from_environment(cls, path: Path | None = None) -> MirrorTable:
        """The file's table, with ECS_MODELS_MIRRORS replacing the lists of the upstreams it
        names (as ECS_MODELS_REGISTRY_AUTH wins over credentials.json)."""
        entries = {
            up: [parse_mirror_url(u) for u in urls] for up, urls in MirrorList(path).load().items()
        }
        entries.update(parse_mirrors_env(os.environ.get(MIRRORS_ENV, "")))
        return cls(entries)


@dataclass(frozen=True, slots=True)
class ListedMirror:
    """One row of the table as a person sees it: where it is set decides how to change it."""

    upstream: str
    mirror: Mirror
    origin: str  # "file", or MIRRORS_ENV when the variable sets this upstream's list


def listed_mirrors(path: Path | None = None) -> list[ListedMirror]:
    """Every mirror pulls use, in the order they are asked, with where each is set."""
    from_env = set(parse_mirrors_env(os.environ.get(MIRRORS_ENV, "")))
    return [
        ListedMirror(up, m, MIRRORS_ENV if up in from_env else "file")
        for up, m in MirrorTable.from_environment(path).pairs()
    ]


def parse_mirrors_env(text: str) -> dict[str, list[Mirror]]:
    """`UPSTREAM=URL[,URL…][;UPSTREAM2=URL…]` into mirrors per upstream."""
    entries: dict[str, list[Mirror]] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        upstream, sep, urls = item.partition("=")
        if not sep or not urls.strip():
            raise EcsModelsError(
                f"{MIRRORS_ENV} holds {item.strip()[:80]!r}, which is not "
                "UPSTREAM=URL[,URL…] (entries are separated by ';')."
            )
        mirrors = [parse_mirror_url(u) for u in urls.split(",") if u.strip()]
        entries.setdefault(normalize_upstream(upstream), []).extend(mirrors)
    return entries


class MirrorList:
    """The file people edit: `{"registry.ollama.ai": ["http://cache.lan:5000", ...]}`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else mirrors_file()

    def load(self) -> dict[str, list[str]]:
        """Normalized URLs per upstream; no file is no mirrors."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise EcsModelsError(f"Cannot read {self.path}: {exc.strerror or exc}.") from exc
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not all(
            isinstance(v, list) and all(isinstance(u, str) for u in v) for v in doc.values()
        ):
            raise EcsModelsError(
                f"{self.path} should be a JSON object of upstream hosts to lists of mirror URLs."
            )
        table: dict[str, list[str]] = {}
        for upstream, urls in doc.items():
            normalized = table.setdefault(normalize_upstream(upstream), [])
            for url in urls:
                mirror_url = parse_mirror_url(url).url
                if mirror_url not in normalized:
                    normalized.append(mirror_url)
        return {k: v for k, v in table.items() if v}

    def save(self, table: Mapping[str, Sequence[str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        doc = {k: list(v) for k, v in table.items() if v}
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, upstream: str, url: str) -> tuple[str, str]:
        """Append a mirror (asked after those already listed); returns (upstream, URL)."""
        host, mirror = normalize_upstream(upstream), parse_mirror_url(url).url
        table = self.load()
        urls = table.setdefault(host, [])
        if mirror in urls:
            raise EcsModelsError(f"{mirror} is already a mirror of {host}.")
        urls.append(mirror)
        self.save(table)
        return host, mirror

    def remove(self, upstream: str, url: str | None = None) -> list[str]:
        """Remove one mirror of an upstream, or all of them; returns the URLs removed."""
        host = normalize_upstream(upstream)
        table = self.load()
        urls = table.get(host, [])
        if url is None:
            removed = list(urls)
        else:
            mirror = parse_mirror_url(url).url
            removed = [u for u in urls if u == mirror]
        if not removed:
            what = f"{parse_mirror_url(url).url} is not a mirror" if url else "There are no mirrors"
            raise EcsModelsError(f"{what} of {host} in {self.path}.")
        table[host] = [u for u in urls if u not in removed]
        self.save(table)
        return removed
