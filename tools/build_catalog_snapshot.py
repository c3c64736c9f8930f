"""Build assets/catalog-snapshot.json, the offline catalog, from the real saved facts.

Usage: python tools/build_catalog_snapshot.py --data DIR [--out FILE]

Inputs (DIR holds the two source files named below, with their source notes):
  ollama-library-2026-08-21.json                  models, capabilities, pulls, tags and sizes
  ollama-registry-manifest-sizes-2026-02-16.json  exact download sizes of 568 tags
  tests/fixtures/ollama-pages/...listing-popular  descriptions (the library JSON has none)
Their source blocks are kept in the output; fields the app does not use are dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ecs_models.catalog.ollama_pages import parse_listing  # noqa: E402
from ecs_models.catalog.snapshot import SNAPSHOT_FORMAT  # noqa: E402

LIBRARY = "ollama-library-2026-08-21.json"
SIZES = "ollama-registry-manifest-sizes-2026-02-16.json"
LISTING = REPO / "tests/fixtures/ollama-pages/helgesverre__library_listing-popular.html"
_PARAMETER_TAG = re.compile(r"^(?:e?\d+(?:\.\d+)?[kmbt]|\d+x\d+(?:\.\d+)?[kmbt])$")
# An exact size replaces the library's rounded one only when both describe the same build.
_EXACT_TOLERANCE = 0.06


def exact_sizes(doc: dict[str, Any]) -> dict[tuple[str, str], int]:
    sizes: dict[tuple[str, str], int] = {}
    for model in doc["models"]:
        for tag in model["tags"]:
            # The manifest's layers plus its config blob: every byte a pull downloads.
            sizes[(model["name"], tag["tag"])] = tag["layers_total_bytes"] + tag["config_bytes"]
    return sizes


def tag_row(model: str, tag: dict[str, Any], exact: dict[tuple[str, str], int]) -> list[Any]:
    size = tag.get("size_bytes")
    is_exact = 0
    known = exact.get((model, tag["tag"]))
    if known is not None and (size is None or abs(known - size) <= _EXACT_TOLERANCE * size):
        size, is_exact = known, 1
    return [
        tag["tag"],
        size,
        is_exact,
        tag.get("digest_prefix") or "",
        tag.get("context_window") or "",
        ",".join(tag.get("input") or []),
        1 if tag.get("cloud") else 0,
    ]


def build(data_dir: Path) -> dict[str, Any]:
    library = json.loads((data_dir / LIBRARY).read_text())
    sizes_doc = json.loads((data_dir / SIZES).read_text())
    exact = exact_sizes(sizes_doc)
    listing = {e.name: e for e in parse_listing(LISTING.read_text())}
    models = []
    for model in library["models"]:
        name = model["name"]
        page = listing.get(name)
        parameter_tags = [t["tag"] for t in model["tags"] if _PARAMETER_TAG.match(t["tag"])]
        models.append(
            {
                "name": name,
                "description": page.description if page else "",
                "capabilities": model["capabilities"],
                "parameter_sizes": parameter_tags or list(page.parameter_sizes if page else ()),
                "pulls": model["pulls"],
                "tag_count": model["tag_count"],
                "updated": model["updated_text"],
                "tags": [tag_row(name, tag, exact) for tag in model["tags"]],
            }
        )
    listing_source = (LISTING.parent / (LISTING.name + ".source.txt")).read_text()
    return {
        "format": SNAPSHOT_FORMAT,
        "snapshot_date": library["source"]["commit_date"][:10],
        "fetched_at": library["source"]["snapshot_lastUpdated"],
        "tag_columns": ["tag", "size", "size_exact", "digest_prefix", "context", "inputs", "cloud"],
        "sources": {
            "library": library["source"],
            "exact_sizes": sizes_doc["source"],
            "descriptions": {
                "text": listing_source.strip(),
                "notes": "Descriptions of the models listed on that page; newer models have none.",
            },
        },
        "models": models,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with the two source JSON files"
    )
    parser.add_argument("--out", type=Path, default=REPO / "assets" / "catalog-snapshot.json")
    args = parser.parse_args()
    snapshot = build(args.data)
    text = json.dumps(snapshot, separators=(",", ":"), ensure_ascii=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    exact_count = sum(row[2] for m in snapshot["models"] for row in m["tags"])
    print(
        json.dumps(
            {
                "out": str(args.out),
                "bytes": len(text.encode()),
                "models": len(snapshot["models"]),
                "tags": sum(len(m["tags"]) for m in snapshot["models"]),
                "exact_sizes": exact_count,
                "with_description": sum(1 for m in snapshot["models"] if m["description"]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
