"""The catalog snapshot shipped in assets/, so search works offline on the very first start."""

from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from typing import Any

from ecs_models.catalog.errors import CatalogUnavailableError
from ecs_models.catalog.model import CatalogEntry, CatalogResult, TagInfo

SNAPSHOT_FORMAT = 1
SNAPSHOT_FILE = "catalog-snapshot.json"


def _tag(row: list[Any]) -> TagInfo:
    name, size, exact, digest, context, inputs, cloud = row
    return TagInfo(
        name=str(name),
        size=int(size) if isinstance(size, int) else None,
        size_exact=bool(exact),
        digest_prefix=digest or None,
        context=context or None,
        inputs=tuple(x for x in str(inputs).split(",") if x),
        cloud=bool(cloud),
    )


def parse_snapshot(doc: dict[str, Any]) -> CatalogResult:
    """Entries of a snapshot document (the format tools/build_catalog_snapshot.py writes)."""
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise CatalogUnavailableError("The catalog snapshot has an unknown format.")
    entries = tuple(
        CatalogEntry(
            name=m["name"],
            description=m.get("description") or "",
            capabilities=tuple(m.get("capabilities") or ()),
            parameter_sizes=tuple(m.get("parameter_sizes") or ()),
            pulls=m.get("pulls"),
            tag_count=m.get("tag_count"),
            updated=m.get("updated"),
            tags=tuple(_tag(row) for row in m.get("tags") or ()),
            source="ollama.com",
        )
        for m in doc["models"]
    )
    fetched = dt.datetime.fromisoformat(str(doc["fetched_at"]).replace("Z", "+00:00"))
    return CatalogResult(
        entries=entries,
        origin="snapshot",
        source="ollama.com",
        fetched_at=fetched,
        extra={"snapshot_date": doc.get("snapshot_date"), "sources": doc.get("sources", {})},
    )


@functools.lru_cache(maxsize=1)
def load_snapshot() -> CatalogResult:
    """The shipped snapshot, read once per process (about half a megabyte of JSON)."""
    try:
        text = resources.files("ecs_models.assets").joinpath(SNAPSHOT_FILE).read_text("utf-8")
        return parse_snapshot(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogUnavailableError(
            f"The catalog snapshot shipped with ecs-models cannot be read ({exc.__class__.__name__})."
        ) from exc
