"""`list`: installed models as `ollama list` presents them (`show` is in cli/show.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from ecs_models.cli.context import EXIT_OK, Output, open_store
from ecs_models.cli.text import one_line
from ecs_models.formatting import human_time, ollama_bytes
from ecs_models.show.tags import api_tags, matching_prefix, newest_first


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    listing = sub.add_parser(
        "list", aliases=["ls"], parents=list(parents), help="list installed models"
    )
    listing.add_argument(
        "prefix",
        metavar="PREFIX",
        nargs="?",
        help="only models whose name starts with this, ignoring case (as `ollama list PREFIX`)",
    )
    listing.add_argument("--json", action="store_true", help='{"models": [...]} as /api/tags')
    listing.set_defaults(handler=cmd_list)


def table(rows: Sequence[Sequence[str]], *, gap: int = 4) -> list[str]:
    """Left-aligned columns separated by `gap` spaces, as `ollama list` prints them."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (" " * gap).join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def cmd_list(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    # Ollama's order (newest first) and filter (a case-insensitive prefix of the shown name).
    models = newest_first(store.list_models()) if store is not None else []
    models = matching_prefix(models, args.prefix)
    if args.json:
        doc = api_tags(store, models) if store is not None else {"models": []}
        output.print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    now = dt.datetime.now(dt.UTC)
    rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
    rows += [[m.display, m.id, ollama_bytes(m.size), human_time(m.modified, now)] for m in models]
    for line in table(rows):
        output.print(line)
    if store is not None:
        for path, problem in store.unreadable_manifests():
            output.note(f"warning: skipped unreadable manifest {path}: {one_line(problem)}")
    return EXIT_OK
