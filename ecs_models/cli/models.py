"""`list` and `show`: installed models as `ollama list` and `ollama show` present them."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from ecs_models.cli.context import (
    EXIT_OK,
    SHOW_TEXT_LIMIT,
    Output,
    not_installed,
    open_store,
    parse_names,
    registry_host,
)
from ecs_models.cli.text import human_time, ollama_bytes, one_line
from ecs_models.store import InstalledModel, ModelStore


def table(rows: Sequence[Sequence[str]], *, gap: int = 4) -> list[str]:
    """Left-aligned columns separated by `gap` spaces, as `ollama list` prints them."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (" " * gap).join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def cmd_list(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    models = store.list_models() if store is not None else []
    if args.json:
        doc = {"models": [model.to_api_dict() for model in models]}
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


def _resolve(args: argparse.Namespace, raw_name: str) -> tuple[ModelStore, InstalledModel]:
    (name,) = parse_names(args, [raw_name])
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(name)
    return store, store.resolve(name, default_host=registry_host(args))


def _small_text(store: ModelStore, digest: str, size: int) -> str | None:
    if size > SHOW_TEXT_LIMIT:
        return None
    try:
        return store.blob_path(digest).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def show_document(store: ModelStore, model: InstalledModel) -> dict[str, Any]:
    """What `show --json` prints: the /api/tags entry plus id, layers, config and texts."""
    doc = model.to_api_dict()
    doc["id"] = model.id
    doc["manifest_digest"] = model.digest
    doc["layers"] = [
        {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
        for layer in model.manifest.layers
    ]
    config = model.manifest.config
    doc["config_blob"] = {
        "mediaType": config.media_type,
        "digest": config.digest,
        "size": config.size,
    }
    doc["config"] = store.read_config(model)
    for kind in ("template", "system", "params", "license"):
        texts = [
            text
            for layer in model.manifest.layers
            if layer.kind == kind and (text := _small_text(store, layer.digest, layer.size))
        ]
        if not texts:
            continue
        if kind == "params":
            try:
                doc["parameters"] = json.loads(texts[0])
            except ValueError:
                doc["parameters"] = texts[0]
        elif kind == "license":
            doc["license"] = texts
        else:
            doc[kind] = texts[0]
    return doc


def cmd_show(args: argparse.Namespace, output: Output) -> int:
    store, model = _resolve(args, args.name)
    doc = show_document(store, model)
    if args.json:
        output.print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    details = model.details
    facts = [
        ("name", model.display),
        ("ID", model.id),
        ("digest", model.digest),
        ("size", f"{ollama_bytes(model.size)} ({model.size} bytes)"),
        (
            "modified",
            f"{human_time(model.modified)} ({model.modified.astimezone():%Y-%m-%d %H:%M})",
        ),
        ("format", details.format or ""),
        ("family", details.family or ""),
        ("families", ", ".join(details.families)),
        ("parameters", details.parameter_size or ""),
        ("quantization", details.quantization_level or ""),
    ]
    lines = ["  Model"]
    lines += ["    " + row for row in table([[k, v] for k, v in facts if v])]
    lines += ["", "  Layers"]
    blobs = [*model.manifest.layers, model.manifest.config]
    rows = [
        [
            "config" if blob is model.manifest.config else blob.kind,
            ollama_bytes(blob.size),
            blob.digest,
            blob.media_type,
        ]
        for blob in blobs
    ]
    lines += ["    " + row for row in table(rows, gap=2)]
    params = doc.get("parameters")
    if isinstance(params, dict) and params:
        rows = []
        for key, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                rows.append([key, json.dumps(item, ensure_ascii=False)])
        lines += ["", "  Parameters"] + ["    " + row for row in table(rows)]
    for title, key in (("Template", "template"), ("System", "system")):
        if isinstance(doc.get(key), str):
            lines += ["", f"  {title}"] + ["    " + x for x in doc[key].splitlines()]
    for text in doc.get("license", []):
        lines += ["", "  License"] + ["    " + x for x in text.splitlines()]
    config = doc["config"]
    if config:
        rows = [
            [key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)]
            for key, value in config.items()
        ]
        lines += ["", "  Config"] + ["    " + row for row in table(rows)]
    for line in lines:
        output.print(line.rstrip())
    return EXIT_OK


# -- rm and prune ----------------------------------------------------------------------------
