"""Pull a 1 GiB model from a loopback registry and compare with curl fetching the same blob.

Prints one JSON object. Runs are interleaved (curl, pull, curl, pull, ...) and medians are
compared, so background load affects both sides alike. The pull runs in a fresh process each
time so its peak RSS is measured on its own. sha256 of the same bytes on one core is reported
too: a verified pull cannot finish before the hash does, whatever the wire's speed.
"""

from __future__ import annotations

import argparse
import hashlib
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

from support.model_builder import MIB, gguf_layer, push_model, text_layer, write_gguf
from support.registry_server import RegistryServer

CHILD = """
import json, resource, sys, time
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model
store = ModelStore(sys.argv[2])
started = time.perf_counter()
pull_model(sys.argv[1], store)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def settle() -> None:
    """Flush the previous run's dirty pages so neither side pays for the other's writeback."""
    os.sync()
    time.sleep(0.2)


def curl_seconds(url: str, target: Path) -> float:
    target.unlink(missing_ok=True)
    settle()
    out = subprocess.run(
        ["curl", "-s", "-f", "-o", str(target), "-w", "%{time_total}", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def pull_run(name: str, models: Path) -> dict[str, float]:
    shutil.rmtree(models, ignore_errors=True)
    settle()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(models)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def hash_seconds(path: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(view):
            digest.update(view[:count])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-pull-"))
    server = RegistryServer().start()
    try:
        gguf = write_gguf(work / "model.gguf", tensor_bytes=args.size_mib * MIB, seed=1)
        pushed = push_model(
            server,
            "library/bench",
            "latest",
            [gguf_layer(gguf), text_layer("template", "{{ .Prompt }}")],
        )
        blob = pushed.layer("model")
        url = f"{server.url}/v2/library/bench/blobs/{blob.digest}"
        curl_target = work / "curl.out"
        curl_seconds(url, curl_target)  # warm the server's page cache for both sides
        curls, pulls, rss = [], [], []
        for _ in range(args.runs):
            curls.append(curl_seconds(url, curl_target))
            run = pull_run(pushed.name, work / "models")
            pulls.append(run["seconds"])
            rss.append(run["max_rss_mb"])
        curl_target.unlink(missing_ok=True)
        hashes = [hash_seconds(gguf) for _ in range(3)]
        curl_median = statistics.median(curls)
        pull_median = statistics.median(pulls)
        hash_median = statistics.median(hashes)
        print(
            json.dumps(
                {
                    "benchmark": "pull",
                    "blob_bytes": blob.size,
                    "runs": args.runs,
                    "curl_seconds": [round(x, 3) for x in curls],
                    "pull_seconds": [round(x, 3) for x in pulls],
                    "curl_median_s": round(curl_median, 3),
                    "pull_median_s": round(pull_median, 3),
                    "pull_over_curl": round(pull_median / curl_median, 3),
                    "pull_mb_per_s": round(blob.size / pull_median / 1e6, 1),
                    "curl_mb_per_s": round(blob.size / curl_median / 1e6, 1),
                    "sha256_only_median_s": round(hash_median, 3),
                    "pull_over_max_of_curl_and_sha256": round(
                        pull_median / max(curl_median, hash_median), 3
                    ),
                    "peak_rss_mb": round(max(rss), 1),
                    "target": {"pull_over_curl": 1.1, "peak_rss_mb": 150},
                },
                indent=2,
            )
        )
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
