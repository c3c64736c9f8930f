"""A 512 MiB pull through a warm registry mirror vs the same pull straight from the upstream,
and with the mirror down, the cost of falling back vs a direct pull.

Two real docker-registry processes on loopback: the upstream, and a second in pull-through
mode (`proxy: remoteurl:`) in front of it, warmed by one pull first. Prints one JSON object.
Runs are interleaved (direct, mirrored, direct, ...) in fresh processes with empty models
directories, and medians are compared, so background load affects both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.model_builder import MIB, PushedModel, gguf_layer, push_model, text_layer, write_gguf
from support.registry_server import RegistryServer

# argv: name, models dir, "direct" or "mirrors"; the mirrors come from ECS_MODELS_MIRRORS.
CHILD = """
import json, sys, time
from ecs_models.registry.mirrors import MirrorTable
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.pull import PullOptions, pull_model
sources = set()
progress = PullProgress(sys.argv[1], listener=lambda e: e.digest and sources.add(e.source))
options = PullOptions(mirrors=MirrorTable() if sys.argv[3] == "direct" else None)
started = time.perf_counter()
pull_model(sys.argv[1], ModelStore(sys.argv[2]), progress=progress, options=options)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "sources": sorted(s or "upstream" for s in sources)}))
"""


def settle() -> None:
    """Flush the previous run's dirty pages so no run pays for another's writeback."""
    os.sync()
    time.sleep(0.2)


def pull_run(name: str, models: Path, mode: str, env: dict[str, str]) -> tuple[float, list[str]]:
    """Seconds the pull took, and where its blobs came from."""
    shutil.rmtree(models, ignore_errors=True)
    settle()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(models), mode],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), [str(s) for s in result["sources"]]


def wait_until_cached(mirror: RegistryServer, pushed: PushedModel, timeout: float = 120) -> None:
    """The cache stores what it relayed on its own, after the client has been served."""
    deadline = time.monotonic() + timeout
    for blob in pushed.blobs:
        path = mirror.blob_data_path(blob.digest)
        while not (path.exists() and path.stat().st_size == blob.size):
            if time.monotonic() > deadline:
                raise SystemExit(f"the mirror never stored {blob.digest}")
            time.sleep(0.1)


def compare(
    name: str, models: Path, env: dict[str, str], runs: int, expect: str
) -> tuple[list[float], list[float]]:
    """Interleaved direct and mirrored pulls; the mirrored ones must come from `expect`."""
    direct: list[float] = []
    mirrored: list[float] = []
    for _ in range(runs):
        direct.append(pull_run(name, models, "direct", env)[0])
        seconds, sources = pull_run(name, models, "mirrors", env)
        if sources != [expect]:
            raise SystemExit(f"expected every blob from {expect}, got them from {sources}")
        mirrored.append(seconds)
    return direct, mirrored


def rounded(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-mirrors-"))
    upstream = RegistryServer().start()
    mirror = RegistryServer(proxy_remote=upstream.url).start()
    models = work / "models"
    try:
        gguf = write_gguf(work / "model.gguf", tensor_bytes=args.size_mib * MIB, seed=14)
        pushed = push_model(
            upstream,
            "library/bench",
            "latest",
            [gguf_layer(gguf), text_layer("template", "{{ .Prompt }}")],
        )
        gguf.unlink()
        env = dict(os.environ)
        env["XDG_CONFIG_HOME"] = str(work / "config")  # no mirrors.json: only the variable
        env["ECS_MODELS_MIRRORS"] = f"{upstream.host}={mirror.url}"
        pull_run(pushed.name, models, "mirrors", env)  # warm the cache (and the page cache)
        wait_until_cached(mirror, pushed)

        direct, warm = compare(pushed.name, models, env, args.runs, mirror.host)
        mirror.stop()  # its port now refuses connections
        direct_2, fallback = compare(pushed.name, models, env, args.runs, upstream.host)

        warm_ratio = statistics.median(warm) / statistics.median(direct)
        fallback_extra = statistics.median(fallback) - statistics.median(direct_2)
        print(
            json.dumps(
                {
                    "benchmark": "mirrors",
                    "model_bytes": pushed.total_size,
                    "runs": args.runs,
                    "warm_mirror": {
                        "direct_seconds": rounded(direct),
                        "through_mirror_seconds": rounded(warm),
                        "through_mirror_over_direct": round(warm_ratio, 3),
                    },
                    "mirror_down": {
                        "direct_seconds": rounded(direct_2),
                        "fallback_seconds": rounded(fallback),
                        "fallback_extra_s": round(fallback_extra, 3),
                    },
                    "target": {"through_mirror_over_direct": 1.15, "fallback_extra_s": 1.0},
                    "met": warm_ratio <= 1.15 and fallback_extra <= 1.0,
                },
                indent=2,
            )
        )
    finally:
        mirror.close()
        upstream.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
