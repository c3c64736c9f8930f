"""Push a 1 GiB model to a loopback registry and compare with a curl -T upload of the same bytes.

Prints one JSON object. Runs are interleaved (curl, push, curl, push, ...) and medians are
compared, so background load affects both sides alike. Every run uploads into a repository of
its own, so neither side can skip or mount the blob. curl's time covers the POST that opens
the upload and `curl -T file -X PUT "<location>&digest=..."`; the push's covers everything
(HEAD, POST, the body, the manifest) in a fresh process whose peak RSS is reported too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.model_builder import (
    MIB,
    build_model,
    gguf_layer,
    install_model,
    text_layer,
    write_gguf,
)
from support.registry_server import RegistryServer

SOURCE = "registry.ollama.ai/library/bench:latest"
CHILD = """
import json, resource, sys, time
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.push import push_model
store = ModelStore(sys.argv[2])
started = time.perf_counter()
result = push_model(sys.argv[1], store, sys.argv[3])
seconds = time.perf_counter() - started
assert result.bytes_sent > 0, result
print(json.dumps({"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def curl_seconds(server: RegistryServer, repository: str, path: Path, digest: str) -> float:
    started = time.perf_counter()
    with httpx.Client(trust_env=False) as client:
        response = client.post(f"{server.url}/v2/{repository}/blobs/uploads/")
        response.raise_for_status()
    location = httpx.URL(server.url + "/").join(response.headers["Location"])
    url = str(location.copy_merge_params({"digest": digest}))
    subprocess.run(
        ["curl", "-s", "-f", "-o", "/dev/null", "-T", str(path), "-X", "PUT", url],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def push_run(models: Path, dest: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, SOURCE, str(models), dest],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-push-"))
    server = RegistryServer().start()
    try:
        gguf = write_gguf(work / "model.gguf", tensor_bytes=args.size_mib * MIB, seed=1)
        model = build_model([gguf_layer(gguf), text_layer("template", "{{ .Prompt }}")])
        models = work / "models"
        install_model(models, model, repository="library/bench", tag="latest")
        blob = model.layer("model")
        blob_path = models / "blobs" / blob.file_name
        # Warm-up: page cache for both sides, and the registry's global copy of the blob.
        curl_seconds(server, "bench/warm-curl", blob_path, blob.digest)
        push_run(models, f"{server.host}/bench/warm-push:latest")
        curls, pushes, rss = [], [], []
        for run in range(args.runs):
            curls.append(curl_seconds(server, f"bench/curl-{run}", blob_path, blob.digest))
            result = push_run(models, f"{server.host}/bench/push-{run}:latest")
            pushes.append(result["seconds"])
            rss.append(result["max_rss_mb"])
        curl_median = statistics.median(curls)
        push_median = statistics.median(pushes)
        print(
            json.dumps(
                {
                    "benchmark": "push",
                    "model_bytes": model.total_size,
                    "blob_bytes": blob.size,
                    "runs": args.runs,
                    "curl_seconds": [round(x, 3) for x in curls],
                    "push_seconds": [round(x, 3) for x in pushes],
                    "curl_median_s": round(curl_median, 3),
                    "push_median_s": round(push_median, 3),
                    "push_over_curl": round(push_median / curl_median, 3),
                    "push_mb_per_s": round(model.total_size / push_median / 1e6, 1),
                    "curl_mb_per_s": round(blob.size / curl_median / 1e6, 1),
                    "peak_rss_mb": round(max(rss), 1),
                    "target": {"push_over_curl": 1.3},
                },
                indent=2,
            )
        )
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
