"""How a failed check ends: the exact commands that fix what it found."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ecs_models.cli.context import fix_command, run_hint
from ecs_models.errors import InvalidNameError
from ecs_models.names import parse_model_name


def manifest_name(where: str | Sequence[str]) -> str | None:
    """A model name as `list` shows it, from a full name (host/namespace/model:tag) or a
    manifest's path under manifests/ (host, namespace, model, tag, as parts or joined by
    "/"); None when that holds no valid name."""
    parts = where.split("/") if isinstance(where, str) else list(where)
    if len(parts) == 4:
        host, namespace, model, tag = parts
        text = f"{host}/{namespace}/{model}:{tag}"
    elif isinstance(where, str):
        text = where
    else:
        return None
    try:
        return parse_model_name(text).display
    except InvalidNameError:
        return None


def fix_hints(
    args: argparse.Namespace | None, *, damaged: Sequence[str], unreadable: Sequence[str] = ()
) -> str:
    """'; run `ecs-models verify --repair a b` to download the damaged blobs again' and, for
    manifests that cannot be read, the pulls that write them again; "" when nothing helps.

    `damaged` are models whose blobs are missing, short or corrupt (a download fixes them);
    `unreadable` the names of manifests that cannot be parsed.
    """
    clauses = []
    if damaged:
        repair = run_hint(args, "verify", "--repair", *damaged)
        clauses.append(f"{repair} to download the damaged blobs again")
    if unreadable:
        pulls = " and ".join(f"`{fix_command(args, 'pull', name)}`" for name in unreadable)
        whose = "its manifest" if len(unreadable) == 1 else "their manifests"
        clauses.append(f"run {pulls} to download {whose} again")
    return "".join(f"; {clause}" for clause in clauses)
