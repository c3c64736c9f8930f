"""Whole-store verification vs `openssl dgst -sha256` over the same blobs, and `du` on 1,000 models.

Prints one JSON object. Verification: a store of N models of similar size (real GGUF model
blobs, template and config blobs, real manifests) is checked with health.check_health (sizes,
sha256 in parallel, GGUF structure, config) and, interleaved with it, `openssl dgst -sha256`
hashes the same blob files sequentially in one process; medians are compared. Both read from
the page cache (a warm-up pass of each runs first). du: 1,000 models with real manifest files
and small blobs; each run builds a fresh ModelStore, so no in-process cache is warm.
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

from support.model_builder import MIB, write_gguf

from ecs_models.manifest import CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, OLLAMA_LAYER_PREFIX
from ecs_models.names import ModelName
from ecs_models.storage.health import check_health
from ecs_models.storage.report import storage_report
from ecs_models.store.model_store import ModelStore


def _put_blob(store: ModelStore, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    store.blob_path(digest).write_bytes(data)
    return digest, len(data)


def _put_file_blob(store: ModelStore, path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    digest = "sha256:" + sha.hexdigest()
    shutil.move(path, store.blob_path(digest))
    return digest, store.blob_path(digest).stat().st_size


def _manifest(
    store: ModelStore, name: ModelName, layers: list[tuple[str, str, int]], family: str
) -> None:
    config = json.dumps(
        {
            "model_format": "gguf",
            "model_family": family,
            "model_families": [family],
            "rootfs": {"type": "layers", "diff_ids": [d for _, d, _ in layers]},
        },
        separators=(",", ":"),
    ).encode()
    config_digest, config_size = _put_blob(store, config)
    doc = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": m, "digest": d, "size": s} for m, d, s in layers],
    }
    path = store.manifest_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(doc, separators=(",", ":")).encode())


def build_verify_store(root: Path, models: int, size_mib: int) -> ModelStore:
    store = ModelStore(root)
    template = _put_blob(store, b"{{ .System }} {{ .Prompt }}")
    for i in range(models):
        gguf = root / f"model-{i}.gguf"
        write_gguf(gguf, tensor_bytes=size_mib * MIB, seed=100 + i)
        model = _put_file_blob(store, gguf)
        layers = [
            (OLLAMA_LAYER_PREFIX + "model", *model),
            (OLLAMA_LAYER_PREFIX + "template", *template),
        ]
        name = ModelName("registry.ollama.ai", "library", f"bench{i}", "latest")
        _manifest(store, name, layers, "llama")
    return store


def build_du_store(root: Path, models: int) -> ModelStore:
    store = ModelStore(root)
    template = _put_blob(store, b"{{ .Prompt }}")
    shared = _put_blob(store, os.urandom(4096))
    for i in range(models):
        own = _put_blob(store, os.urandom(1024) + i.to_bytes(4, "little"))
        layers = [
            (OLLAMA_LAYER_PREFIX + "model", *own),
            (OLLAMA_LAYER_PREFIX + "adapter", *shared),
            (OLLAMA_LAYER_PREFIX + "template", *template),
        ]
        name = ModelName("registry.ollama.ai", f"ns{i % 10}", f"model{i}", f"t{i % 3}")
        _manifest(store, name, layers, "llama")
    return store


def openssl_seconds(paths: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["openssl", "dgst", "-sha256", *map(str, paths)], check=True, capture_output=True
    )
    return time.perf_counter() - started


def health_seconds(root: Path) -> tuple[float, bool, int]:
    store = ModelStore(root)
    started = time.perf_counter()
    report = check_health(store, save=False)
    return time.perf_counter() - started, report.ok, report.bytes_hashed


def du_seconds(root: Path) -> tuple[float, int]:
    store = ModelStore(root)
    started = time.perf_counter()
    report = storage_report(store)
    return time.perf_counter() - started, len(report.models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--du-models", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-bench-verify-"))
    try:
        store = build_verify_store(work / "verify", args.models, args.size_mib)
        blobs = sorted(store.blobs_dir.iterdir())
        total = sum(p.stat().st_size for p in blobs)
        openssl_seconds(blobs)  # warm-up: both sides read from the page cache
        health_seconds(store.root)
        ours: list[float] = []
        reference: list[float] = []
        ok = True
        hashed = 0
        for _ in range(args.runs):
            reference.append(openssl_seconds(blobs))
            seconds, good, hashed = health_seconds(store.root)
            ours.append(seconds)
            ok = ok and good
        du_store = build_du_store(work / "du", args.du_models)
        du_runs = [du_seconds(du_store.root) for _ in range(args.runs)]
        ours_median = statistics.median(ours)
        reference_median = statistics.median(reference)
        print(
            json.dumps(
                {
                    "verify": {
                        "models": args.models,
                        "blob_files": len(blobs),
                        "bytes": total,
                        "bytes_hashed": hashed,
                        "store_ok": ok,
                        "cores": os.cpu_count(),
                        "health_seconds_median": round(ours_median, 4),
                        "openssl_sequential_seconds_median": round(reference_median, 4),
                        "health_mb_per_s": round(total / ours_median / 1e6, 1),
                        "openssl_mb_per_s": round(total / reference_median / 1e6, 1),
                        "speedup_vs_openssl": round(reference_median / ours_median, 3),
                        "target_speedup": 1.6,
                        "runs": args.runs,
                    },
                    "du": {
                        "models": du_runs[0][1],
                        "seconds_median": round(statistics.median(s for s, _ in du_runs), 4),
                        "seconds_max": round(max(s for s, _ in du_runs), 4),
                        "target_seconds": 0.5,
                        "runs": args.runs,
                    },
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
