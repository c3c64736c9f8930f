"""What a catalog knows about a model and its tags, whichever source it came from."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

# Capability chips ollama.com shows on a model (the library JSON uses the same words).
KNOWN_CAPABILITIES = ("tools", "thinking", "vision", "embedding", "audio", "cloud")

# Upper-case units only: "24b" in a tag name is a parameter count, "24GB" a size.
_SIZE_RE = re.compile(r"(?<![\w.:-])(\d+(?:\.\d+)?)\s?([KMGTP]?B)\b")
_SIZE_SCALE = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}
_COUNT_RE = re.compile(r"(\d+(?:[.,]\d+)*)\s*([KMB]?)\b", re.IGNORECASE)
_COUNT_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}


def parse_size(text: str | None) -> int | None:
    """'4.9GB' -> 4_900_000_000 (decimal units, as ollama.com prints them); None if absent."""
    if not text:
        return None
    match = _SIZE_RE.search(text)
    if match is None:
        return None
    return round(float(match.group(1)) * _SIZE_SCALE[match.group(2)])


def parse_count(text: str | None) -> int | None:
    """'55.7M' -> 55_700_000, '221K' -> 221_000, '1,234' -> 1234; None if absent."""
    if not text:
        return None
    match = _COUNT_RE.search(text)
    if match is None:
        return None
    number = match.group(1).replace(",", "")
    return round(float(number) * _COUNT_SCALE[match.group(2).upper()])


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One tag of a model: its download size and what the tags page says about it."""

    name: str
    size: int | None = None  # bytes to download; None for cloud tags or when unknown
    size_exact: bool = False  # True when summed from the manifest, not a rounded "4.9GB"
    digest_prefix: str | None = None  # the 12 hex ollama.com shows (manifest digest)
    context: str | None = None  # "128K"
    inputs: tuple[str, ...] = ()  # ("Text", "Image")
    updated: str | None = None  # "1 month ago", relative to when the page was read
    cloud: bool = False

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "size": self.size}
        if self.size_exact:
            doc["size_exact"] = True
        for key in ("digest_prefix", "context", "updated"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        if self.inputs:
            doc["inputs"] = list(self.inputs)
        if self.cloud:
            doc["cloud"] = True
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TagInfo:
        size = doc.get("size")
        return cls(
            name=str(doc["name"]),
            size=int(size) if isinstance(size, int) else None,
            size_exact=bool(doc.get("size_exact", False)),
            digest_prefix=_text_or_none(doc.get("digest_prefix")),
            context=_text_or_none(doc.get("context")),
            inputs=tuple(str(x) for x in doc.get("inputs", ())),
            updated=_text_or_none(doc.get("updated")),
            cloud=bool(doc.get("cloud", False)),
        )


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A model as a catalog lists it: enough to search, filter, judge the fit and pull it."""

    name: str  # what to pull: "llama3.1", "user/model" or "host:port/ns/model"
    description: str = ""
    capabilities: tuple[str, ...] = ()
    parameter_sizes: tuple[str, ...] = ()  # the size chips: "8b", "70b", "e4b"
    pulls: int | None = None
    tag_count: int | None = None
    updated: str | None = None
    tags: tuple[TagInfo, ...] = ()
    source: str = "ollama.com"

    @property
    def default_tag(self) -> TagInfo | None:
        """The tag a bare name pulls ("latest"), else the first tag with a size."""
        for tag in self.tags:
            if tag.name == "latest":
                return tag
        return next(
            (t for t in self.tags if t.size is not None), self.tags[0] if self.tags else None
        )

    def tag(self, name: str) -> TagInfo | None:
        return next((t for t in self.tags if t.name == name), None)

    def with_tags(self, tags: tuple[TagInfo, ...]) -> CatalogEntry:
        return replace(self, tags=tags)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "parameter_sizes": list(self.parameter_sizes),
            "pulls": self.pulls,
            "tag_count": self.tag_count,
            "updated": self.updated,
            "source": self.source,
            "tags": [tag.to_json() for tag in self.tags],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CatalogEntry:
        pulls = doc.get("pulls")
        tag_count = doc.get("tag_count")
        return cls(
            name=str(doc["name"]),
            description=str(doc.get("description") or ""),
            capabilities=tuple(str(x) for x in doc.get("capabilities", ())),
            parameter_sizes=tuple(str(x) for x in doc.get("parameter_sizes", ())),
            pulls=int(pulls) if isinstance(pulls, int) else None,
            tag_count=int(tag_count) if isinstance(tag_count, int) else None,
            updated=_text_or_none(doc.get("updated")),
            source=str(doc.get("source") or "ollama.com"),
            tags=tuple(TagInfo.from_json(t) for t in doc.get("tags", ()) if isinstance(t, dict)),
        )


@dataclass(frozen=True, slots=True)
class CatalogResult:
    """Entries plus where they came from and how old they are, so the UI can say so."""

    entries: tuple[CatalogEntry, ...]
    origin: str  # "live", "cache" or "snapshot"
    source: str  # "ollama.com" or a registry host
    fetched_at: dt.datetime  # when the data was read from its source (UTC)
    notice: str | None = None  # one sentence when we fell back (offline, unreadable page)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        reference = now if now is not None else dt.datetime.now(dt.UTC)
        return max(0.0, (reference - self.fetched_at).total_seconds())

    def age_text(self, now: dt.datetime | None = None) -> str:
        return describe_age(self.age_seconds(now))


def describe_age(seconds: float) -> str:
    """'just now', '5 minutes old', '3 days old': how old cached data is, in words."""
    if seconds < 60:
        return "just now"
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = int(seconds // length)
            return f"{count} {unit}{'' if count == 1 else 's'} old"
    return "just now"


def _text_or_none(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None
