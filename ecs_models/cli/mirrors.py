"""`mirrors`: the registry mirrors pulls ask before each upstream; list, add, rm, test."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecs_models.cli.context import EXIT_FAILURE, EXIT_OK, Output
from ecs_models.cli.models import table

if TYPE_CHECKING:
    from ecs_models.registry.mirrors import ListedMirror


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parents = list(parents)
    mirrors = sub.add_parser(
        "mirrors",
        parents=parents,
        help="registry mirrors (team caches) pulls ask before the upstream; names stay canonical",
    )
    mirrors.add_argument("--json", action="store_true", help="print JSON")
    mirrors.set_defaults(handler=cmd_mirrors, mirrors_action=None)
    actions = mirrors.add_subparsers(dest="mirrors_action", metavar="ACTION")
    listing = actions.add_parser(
        "list", parents=parents, help="every mirror, in the order pulls ask (the default)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    add = actions.add_parser(
        "add", parents=parents, help="ask URL for models of UPSTREAM (after those listed)"
    )
    add.add_argument("upstream", metavar="UPSTREAM", help="registry host, e.g. registry.ollama.ai")
    add.add_argument(
        "url",
        metavar="URL",
        help="the mirror: http://cache.lan:5000, or https://harbor.corp/v2/PROJECT for a project",
    )
    remove = actions.add_parser(
        "rm", aliases=["remove"], parents=parents, help="remove one mirror, or all of UPSTREAM's"
    )
    remove.add_argument("upstream", metavar="UPSTREAM")
    remove.add_argument("url", metavar="URL", nargs="?")
    test = actions.add_parser(
        "test",
        parents=parents,
        help="ask every mirror (or UPSTREAM's) whether it answers, how fast",
    )
    test.add_argument("upstream", metavar="UPSTREAM", nargs="?")
    test.add_argument("--json", action="store_true", help="print JSON")


def cmd_mirrors(args: argparse.Namespace, output: Output) -> int:
    from ecs_models.registry.mirrors import MirrorList, listed_mirrors, normalize_upstream

    mirrors = MirrorList()
    action = args.mirrors_action
    if action == "add":
        upstream, url = mirrors.add(args.upstream, args.url)
        output.print(f"added {url} as a mirror of {upstream} in {mirrors.path}")
        return EXIT_OK
    if action in ("rm", "remove"):
        removed = mirrors.remove(args.upstream, args.url)
        upstream = normalize_upstream(args.upstream)
        output.print(f"removed {', '.join(removed)} from the mirrors of {upstream}")
        return EXIT_OK
    listed = listed_mirrors(mirrors.path)
    if action == "test":
        return _test(args, output, listed)
    if args.json:
        output.json(
            {
                "file": str(mirrors.path),
                "mirrors": [
                    {"upstream": row.upstream, "url": row.mirror.url, "from": row.origin}
                    for row in listed
                ],
            }
        )
        return EXIT_OK
    if not listed:
        output.print(
            f"no mirrors: add one with `mirrors add UPSTREAM URL` (kept in {mirrors.path})"
        )
        return EXIT_OK
    rows = [["UPSTREAM", "MIRROR", "FROM"]]
    rows += [[row.upstream, row.mirror.url, row.origin] for row in listed]
    for line in table(rows, gap=2):
        output.print(line)
    return EXIT_OK


def _test(args: argparse.Namespace, output: Output, listed: list[ListedMirror]) -> int:
    from ecs_models.registry.mirror_probe import probe_mirrors
    from ecs_models.registry.mirrors import normalize_upstream

    if args.upstream:
        upstream = normalize_upstream(args.upstream)
        listed = [row for row in listed if row.upstream == upstream]
    probes = probe_mirrors(
        [(row.upstream, row.mirror) for row in listed], insecure=bool(args.insecure)
    )
    if args.json:
        output.json({"mirrors": [p.to_dict() for p in probes]})
    elif not probes:
        output.print("no mirrors to test")
    else:
        rows = [["UPSTREAM", "MIRROR", "ANSWER"]]
        rows += [[p.upstream, p.url, p.summary()] for p in probes]
        for line in table(rows, gap=2):
            output.print(line)
    return EXIT_OK if all(p.answered for p in probes) else EXIT_FAILURE
