"""Pull a 384 MiB blob over shaped links, side by side with curl and aria2c; prints JSON.

Every tool fetches the same bytes through the same shaping proxy (tests/support/faults.py:
per-connection profiles, response bytes moved with splice) in front of Debian's docker-registry:
- open: no shaping at all;
- capped: every connection capped at 20 MB/s (a CDN edge), 40 ms added to every request;
- stragglers: one connection in three crawls at 1 MB/s (the third, sixth... to ask for a blob;
  in a second variant the first, fourth...), the others open, 40 ms per request;
- degrading: every connection open for its first 16 MiB, then 2 MB/s, 40 ms per request.
Tools: `ecs_models pull` (defaults: up to 16 streams, sha256 checked), `curl` (one stream, no
check) and `aria2c -x16 -s16 -k1M --checksum=sha-256=HEX`. Runs are interleaved round by round,
in a rotating order, and medians are compared. The pull runs in a fresh process each time; its
time is what `pull_model` took in that process (Python's start-up is reported beside it), its
peak RSS the process's. curl on a throttled link would take minutes: it runs in the first
round only, stopped after --curl-max-time, and its time is extrapolated from its bytes.
The proxy's own ceiling (one and 16 connections into /dev/null) and sha256 alone of the same
bytes are measured in the same run, as is the load average, since the machine may be shared.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pull import hash_seconds, settle
from support.faults import CuttingProxy, LinkProfile
from support.model_builder import MIB, gguf_layer, push_model, text_layer, write_gguf
from support.registry_server import RegistryServer

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model
imported = time.perf_counter()
pull_model(sys.argv[1], ModelStore(sys.argv[2]))
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "startup_s": imported - started,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

LATENCY_S = 0.04
PROFILES = {
    "open": LinkProfile(),
    "capped_20MBps": LinkProfile(rate=20e6, latency=LATENCY_S),
    "stragglers_1_in_3": LinkProfile(slow_every=3, slow_rate=1e6, latency=LATENCY_S),
    "stragglers_1_in_3_first_too": LinkProfile(
        slow_every=3, slow_first=True, slow_rate=1e6, latency=LATENCY_S
    ),
    "degrading_after_16MiB": LinkProfile(slow_after=16 * MIB, slow_rate=2e6, latency=LATENCY_S),
}
TOOLS = ("ecs_models", "aria2c", "curl")


@dataclass
class Setup:
    work: Path
    proxy: CuttingProxy
    name: str  # the model's name through the proxy
    url: str  # the blob's URL through the proxy
    direct_url: str
    digest_hex: str
    size: int


def run_ecs_models(setup: Setup) -> dict[str, float]:
    models = setup.work / "models"
    shutil.rmtree(models, ignore_errors=True)
    settle()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, setup.name, str(models)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def run_aria2c(setup: Setup) -> dict[str, float]:
    target = setup.work / "aria2c"
    shutil.rmtree(target, ignore_errors=True)
    settle()
    started = time.perf_counter()
    subprocess.run(
        [
            "aria2c",
            "-q",
            "-x16",
            "-s16",
            "-k1M",
            f"--checksum=sha-256={setup.digest_hex}",
            "--allow-overwrite=true",
            "-d",
            str(target),
            "-o",
            "blob",
            setup.url,
        ],
        check=True,
    )
    return {"seconds": time.perf_counter() - started}


def run_curl(setup: Setup, max_time: float | None) -> dict[str, float]:
    target = setup.work / "curl.out"
    target.unlink(missing_ok=True)
    settle()
    argv = ["curl", "-s", "-o", str(target), "-w", "%{time_total} %{size_download}"]
    if max_time is not None:
        argv += ["--max-time", str(max_time)]
    out = subprocess.run([*argv, setup.url], capture_output=True, text=True, check=False)
    seconds, size = (float(x) for x in out.stdout.split())
    target.unlink(missing_ok=True)
    if size >= setup.size:
        return {"seconds": seconds}
    # Stopped by --max-time: the rest would come at the rate it had.
    return {"seconds": seconds * setup.size / max(size, 1), "stopped_after_s": seconds}


def proxy_ceiling(setup: Setup) -> dict[str, float]:
    """MB/s into /dev/null through the unshaped proxy and directly, 1 and 16 connections."""
    setup.proxy.set_profile(LinkProfile())
    out: dict[str, float] = {}
    for label, url in (("proxy", setup.url), ("direct", setup.direct_url)):
        one = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
            one.append(time.perf_counter() - started)
        out[f"{label}_1_connection_MBps"] = round(setup.size / statistics.median(one) / 1e6)
        step = -(-setup.size // 16)
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                ["curl", "-s", "-o", "/dev/null", "-r", f"{i}-{min(i + step, setup.size) - 1}", url]
            )
            for i in range(0, setup.size, step)
        ]
        for proc in procs:
            proc.wait()
        out[f"{label}_16_connections_MBps"] = round(
            setup.size / (time.perf_counter() - started) / 1e6
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated")
    parser.add_argument("--curl-max-time", type=float, default=30.0)
    args = parser.parse_args()
    profiles = [p for p in args.profiles.split(",") if p]
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-links-"))
    server = RegistryServer().start()
    proxy = CuttingProxy(server).start()
    load_before = os.getloadavg()
    try:
        gguf = write_gguf(work / "model.gguf", tensor_bytes=args.size_mib * MIB, seed=7)
        pushed = push_model(
            server, "library/links", "latest", [gguf_layer(gguf), text_layer("template", "x")]
        )
        blob = pushed.layer("model")
        path = f"/v2/library/links/blobs/{blob.digest}"
        setup = Setup(
            work,
            proxy,
            f"{proxy.host}/library/links:latest",
            proxy.url + path,
            server.url + path,
            blob.hex,
            blob.size,
        )
        subprocess.run(["curl", "-s", "-o", "/dev/null", setup.direct_url], check=True)  # warm
        ceiling = proxy_ceiling(setup)
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            p: {t: [] for t in TOOLS} for p in profiles
        }
        for round_index in range(args.rounds):
            for offset, profile in enumerate(profiles):
                shift = (round_index + offset) % len(TOOLS)
                for tool in TOOLS[shift:] + TOOLS[:shift]:
                    throttled = profile != "open"
                    if tool == "curl" and throttled and round_index > 0:
                        continue
                    proxy.set_profile(PROFILES[profile])
                    proxy.reset_counters()
                    if tool == "ecs_models":
                        result = run_ecs_models(setup)
                        result["peak_connections"] = proxy.peak_blob_connections
                        result["overfetch_mib"] = round(
                            (proxy.bytes_to_client - pushed.total_size) / MIB, 1
                        )
                    elif tool == "aria2c":
                        result = run_aria2c(setup)
                    else:
                        result = run_curl(setup, args.curl_max_time if throttled else None)
                    runs[profile][tool].append(result)
        hashes = [hash_seconds(gguf) for _ in range(3)]
        print(json.dumps(report(runs, hashes, ceiling, blob.size, args, load_before), indent=2))
    finally:
        proxy.close()
        server.close()
        shutil.rmtree(work, ignore_errors=True)


def report(
    runs: dict[str, dict[str, list[dict[str, float]]]],
    hashes: list[float],
    ceiling: dict[str, float],
    size: int,
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    sha256_s = statistics.median(hashes)
    out: dict[str, Any] = {
        "benchmark": "links",
        "blob_bytes": size,
        "rounds": args.rounds,
        "latency_added_per_request_s": LATENCY_S,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "proxy_ceiling": ceiling,
        "sha256_only_median_s": round(sha256_s, 3),
        "profiles": {},
    }
    rss = []
    for profile, tools in runs.items():
        row: dict[str, Any] = {}
        for tool, results in tools.items():
            seconds = [r["seconds"] for r in results]
            row[f"{tool}_s"] = [round(x, 3) for x in seconds]
            row[f"{tool}_median_s"] = round(statistics.median(seconds), 3)
        ours = row["ecs_models_median_s"]
        mine = tools["ecs_models"]
        rss += [r["max_rss_mb"] for r in mine]
        row["ecs_models_process_median_s"] = round(
            statistics.median(r["process_s"] for r in mine), 3
        )
        row["ecs_models_peak_connections"] = max(r["peak_connections"] for r in mine)
        row["ecs_models_overfetch_mib_median"] = statistics.median(r["overfetch_mib"] for r in mine)
        if "stopped_after_s" in tools["curl"][0]:
            row["curl_extrapolated_after_s"] = tools["curl"][0]["stopped_after_s"]
        if profile == "open":
            reference = max(row["curl_median_s"], sha256_s)
            row["ecs_models_over_max_of_curl_and_sha256"] = round(ours / reference, 3)
            row["target"] = "<= 1.1"
        else:
            row["ecs_models_over_aria2c"] = round(ours / row["aria2c_median_s"], 3)
            row["target"] = "<= 0.8"
        out["profiles"][profile] = row
    out["ecs_models_peak_rss_mb"] = round(max(rss), 1)
    out["target_peak_rss_mb"] = 150
    return out


if __name__ == "__main__":
    main()
