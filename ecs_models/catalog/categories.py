"""Categories (chat, code, vision, embedding, tools, reasoning) and size buckets of entries."""

from __future__ import annotations

import re

from ecs_models.catalog.model import CatalogEntry

CATEGORIES = ("chat", "code", "vision", "embedding", "tools", "reasoning")
SIZE_BUCKETS = ("small", "medium", "large")
# Download size of a tag: small runs on most laptops, large needs a workstation.
SMALL_MAX_BYTES = 4 * 10**9
MEDIUM_MAX_BYTES = 16 * 10**9

_CODE_NAME = re.compile(
    r"code|coder|starcoder|codestral|devstral|sqlcoder|stable-code|granite-code"
)
_CODE_TEXT = re.compile(r"\b(?:code|coding|programming|programmer|software engineering)\b", re.I)
_REASONING_NAME = re.compile(r"(?:^|-)r1\b|qwq|reason|think|magistral|phi4-reasoning|openthinker")
_REASONING_TEXT = re.compile(r"\breason(?:ing|s)?\b|\bthinking\b", re.IGNORECASE)


def categories_of(entry: CatalogEntry) -> frozenset[str]:
    """Every category the entry belongs to; a model can be chat, tools and vision at once."""
    capabilities = set(entry.capabilities)
    name = entry.name.lower()
    found: set[str] = set()
    if "embedding" in capabilities or "embed" in name:
        found.add("embedding")
    else:
        found.add("chat")
    if "vision" in capabilities or any("Image" in tag.inputs for tag in entry.tags):
        found.add("vision")
    if "tools" in capabilities:
        found.add("tools")
    if (
        "thinking" in capabilities
        or _REASONING_NAME.search(name)
        or _REASONING_TEXT.search(entry.description)
    ):
        found.add("reasoning")
    if _CODE_NAME.search(name) or _CODE_TEXT.search(entry.description):
        found.add("code")
    return frozenset(found)


def size_bucket(size: int) -> str:
    if size <= SMALL_MAX_BYTES:
        return "small"
    if size <= MEDIUM_MAX_BYTES:
        return "medium"
    return "large"


def size_buckets_of(entry: CatalogEntry) -> frozenset[str]:
    """The buckets of the entry's downloadable tags: "has a small variant" and so on."""
    return frozenset(
        size_bucket(tag.size) for tag in entry.tags if tag.size is not None and not tag.cloud
    )
