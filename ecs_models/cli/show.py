"""`show`: an installed model as `ollama show` prints it, or /api/show's JSON with --json."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ecs_models.cli.context import (
    EXIT_OK,
    Output,
    not_installed,
    open_store,
    parse_names,
    registry_host,
)
from ecs_models.cli.models import table
from ecs_models.gguf.reader import quantization_name
from ecs_models.show.facts import ShowResult, show_model
from ecs_models.show.gostyle import go_float, go_plain
from ecs_models.storage.create import human_number

# The options that print one part alone, as `ollama show --license` and friends do.
SECTION_FLAGS = ("license", "modelfile", "parameters", "system", "template")
# Ollama abbreviates arrays in the Metadata table to about this many characters.
_ARRAY_WIDTH = 10
_HEAD_LINES = 2  # System and License show their first lines, then "..."


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    show = sub.add_parser("show", parents=list(parents), help="show one installed model")
    show.set_defaults(handler=cmd_show)
    show.add_argument("name", metavar="NAME")
    show.add_argument(
        "-v", "--verbose", action="store_true", help="add the metadata arrays and the tensors"
    )
    only = show.add_mutually_exclusive_group()
    only.add_argument("--json", action="store_true", help="print /api/show's JSON")
    for flag in SECTION_FLAGS:
        only.add_argument(f"--{flag}", action="store_true", help=f"print only the {flag}")


def cmd_show(args: argparse.Namespace, output: Output) -> int:
    (name,) = parse_names(args, [args.name])
    store = open_store(args, create=False)
    if store is None:
        raise not_installed(name)
    model = store.resolve(name, default_host=registry_host(args))
    result = show_model(store, model, verbose=args.verbose)
    doc = result.response
    if result.problem is not None:
        output.note(
            f"note: {model.display} has no readable GGUF header "
            f"({result.problem.rstrip('.')}); only its config and layers are shown."
        )
    if args.json:
        output.print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    for flag in SECTION_FLAGS:
        if getattr(args, flag):
            _print_section(output, flag, doc)
            return EXIT_OK
    for line in render(result, verbose=args.verbose):
        output.print(line)
    return EXIT_OK


def _print_section(output: Output, flag: str, doc: Mapping[str, Any]) -> None:
    text = str(doc.get(flag, ""))
    if flag in ("system", "template"):
        # Printed exactly, as `ollama show --template` does, so `> file` keeps the bytes.
        with output.lock:
            output.out.write(text)
            output.out.flush()
    else:
        output.print(text)


def render(result: ShowResult, *, verbose: bool = False) -> list[str]:
    """The sections `ollama show` prints, each a heading, indented rows and a blank line."""
    doc = result.response
    info: Mapping[str, Any] = doc.get("model_info") or {}
    lines: list[str] = []

    def section(title: str, rows: Sequence[Sequence[str]]) -> None:
        if rows:
            lines.append(f"  {title}")
            lines.extend(table([["", *row] for row in rows]))
            lines.append("")

    section("Model", _model_rows(doc, info))
    section("Capabilities", [[c] for c in doc.get("capabilities") or ()])
    projector = doc.get("projector_info")
    if projector:
        section("Projector", _projector_rows(projector))
    parameters = str(doc.get("parameters", ""))
    section("Parameters", [line.split() for line in parameters.splitlines() if line.strip()])
    if verbose:
        section("Metadata", [[key, _metadata_text(info[key])] for key in sorted(info)])
        tensors = doc.get("tensors") or ()
        section("Tensors", [[t["name"], t["type"], _go_list(t["shape"])] for t in tensors])
    for title, key in (("System", "system"), ("License", "license")):
        section(title, [[row] for row in _head(str(doc.get(key, "")))])
    return lines


def _model_rows(doc: Mapping[str, Any], info: Mapping[str, Any]) -> list[list[str]]:
    details: Mapping[str, Any] = doc.get("details") or {}
    arch = info.get("general.architecture") or details.get("family")
    rows = []
    if doc.get("remote_host"):
        rows += [["Remote model", str(doc.get("remote_model", ""))]]
        rows += [["Remote URL", str(doc["remote_host"])]]
    if arch:
        rows.append(["architecture", str(arch)])
    count = info.get("general.parameter_count")
    parameters = details.get("parameter_size") or (
        human_number(count) if isinstance(count, int) and count > 0 else ""
    )
    if parameters:
        rows.append(["parameters", parameters])
    for label, suffix in (
        ("context length", "context_length"),
        ("embedding length", "embedding_length"),
    ):
        value = info.get(f"{arch}.{suffix}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            rows.append([label, go_plain(value) if isinstance(value, float) else str(value)])
    file_type = info.get("general.file_type")
    quantization = details.get("quantization_level") or (
        quantization_name(file_type) if isinstance(file_type, int) else ""
    )
    rows.append(["quantization", str(quantization or "")])
    if doc.get("requires"):
        rows.append(["requires", str(doc["requires"])])
    return rows


def _projector_rows(info: Mapping[str, Any]) -> list[list[str]]:
    arch = info.get("general.architecture")
    rows = [["architecture", str(arch)]] if arch else []
    count = info.get("general.parameter_count")
    if isinstance(count, int) and count > 0:
        rows.append(["parameters", human_number(count)])
    for label, suffix in (
        ("embedding length", "embedding_length"),
        ("dimensions", "projection_dim"),
    ):
        for modality in ("vision", "audio"):
            value = info.get(f"{arch}.{modality}.{suffix}")
            if isinstance(value, int) and not isinstance(value, bool):
                rows.append([label, str(value)])
                break
    return rows


def _metadata_text(value: Any) -> str:
    """A model_info value in the Metadata table; long arrays are cut as Ollama cuts them.

    Integers print whole (268098176), where Ollama's %g of a JSON number gives 2.68098176e+08.
    """
    if isinstance(value, list):
        return _abbreviated(value)
    return _cell(value)


def _cell(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return go_float(value) if isinstance(value, float) else go_plain(value)


def _abbreviated(values: Sequence[Any]) -> str:
    shown = 0
    width = 1  # the opening bracket
    for index, item in enumerate(values):
        item_width = len(_cell(item)) + (2 if index else 0)
        if width + item_width > _ARRAY_WIDTH and index:
            break
        width += item_width
        shown += 1
    if shown < len(values):
        return _go_list(values[:shown])[:-1] + f" ...+{len(values) - shown} more]"
    return _go_list(values)


def _go_list(values: Sequence[Any]) -> str:
    return "[" + " ".join(_cell(v) for v in values) + "]"


def _head(text: str, count: int = _HEAD_LINES) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[:count] + (["..."] if len(lines) > count else [])
