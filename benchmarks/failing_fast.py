"""How long a pull takes to fail when the registry cannot be reached at all.

Prints one JSON object: seconds from `pull_model` to its error for a refused port (nothing
listens there) and for a host name DNS does not know (`.invalid` never resolves). Reference
measured in the same run: a registry whose every connection is cut at once, which still gets
the client's full back-off schedule (what a refused connection cost before it failed fast).
Each figure is the median of `--runs` pulls.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.faults import CuttingProxy
from support.registry_server import RegistryServer

from ecs_models.errors import EcsModelsError
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import PullOptions, pull_model


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seconds_to_fail(name: str, models: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        pull_model(name, ModelStore(models), options=PullOptions(insecure=True))
    except EcsModelsError as exc:
        return time.perf_counter() - started, str(exc)
    raise SystemExit(f"{name} did not fail")


def median_of(runs: int, name: str, models: Path) -> tuple[float, str]:
    results = [seconds_to_fail(name, models) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RegistryServer() as registry:
        models = Path(tmp) / "models"
        models.mkdir()
        refused, refused_text = median_of(
            args.runs, f"127.0.0.1:{closed_port()}/library/nothing:1", models
        )
        unknown, unknown_text = median_of(
            args.runs, "registry.example.invalid/library/nothing:1", models
        )
        with CuttingProxy(registry) as cutting:
            cutting.cut_after(0, connections=10_000)
            cut, cut_text = median_of(args.runs, f"{cutting.host}/library/nothing:1", models)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "refused_s": round(refused, 3),
                "unknown_host_s": round(unknown, 3),
                "reference_cut_every_connection_s": round(cut, 3),
                "refused_vs_reference": round(refused / cut, 3),
                "refused_error": refused_text,
                "unknown_host_error": unknown_text,
                "reference_error": cut_text,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
