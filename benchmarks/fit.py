"""`fit` of an installed 1 GiB-class model (warm and cold) and the bytes a pre-download fit costs.

Prints one JSON object. The model is a generated 1 GiB GGUF with a llama-3-sized vocabulary
(128,256 tokens), so its header is as large as a real one's. References measured in the same
run: gguf.GGUFReader on the same file, and reading the header's bytes raw from the page cache.
The pre-download fit runs against a loopback docker-registry; its bytes are counted by a proxy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import gguf
from support.faults import CuttingProxy
from support.model_builder import (
    GIB,
    build_model,
    gguf_layer,
    install_model,
    push_built_model,
    text_layer,
    write_gguf,
)
from support.registry_server import RegistryServer

from ecs_models.gguf.fit import fit_installed, fit_remote
from ecs_models.gguf.reader import read_gguf_info
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore

CHILD = """
import json, sys, time
started = time.perf_counter()
from ecs_models.gguf.fit import fit_installed
from ecs_models.store.model_store import ModelStore
imported = time.perf_counter()
report = fit_installed(ModelStore(sys.argv[1]), "bench:1g")
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1e3, "fit_ms": (done - imported) * 1e3}))
"""


def child_fit(models: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(models)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def median_ms(work: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1 * GIB, help="model tensor bytes")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fit-") as tmp:
        work = Path(tmp)
        path = write_gguf(
            work / "model.gguf",
            arch="llama",
            n_layers=16,
            n_embd=512,
            n_head=8,
            n_head_kv=2,
            ctx=131072,
            vocab=128256,
            tensor_bytes=args.size,
        )
        model = build_model([gguf_layer(path), text_layer("template", "{{ .Prompt }}")])
        models = work / "models"
        install_model(models, model, repository="library/bench", tag="1g")
        info = read_gguf_info(path)
        assert info.data_offset is not None

        # A fresh process with no cached facts reads the whole header once ...
        cold = child_fit(models)
        # ... and every later process finds them cached by blob digest in the state dir.
        warm_process = statistics.median(child_fit(models)["fit_ms"] for _ in range(5))
        store = ModelStore(models)
        fit_installed(store, "bench:1g")
        warm = median_ms(lambda: fit_installed(store, "bench:1g"), args.runs)
        reader_ms = median_ms(lambda: gguf.GGUFReader(path), 1)

        def raw_header() -> None:
            with path.open("rb") as handle:
                handle.read(info.data_offset or 0)

        raw_ms = median_ms(raw_header, args.runs)

        with RegistryServer(workdir=work / "registry") as registry, CuttingProxy(registry) as proxy:
            pushed = push_built_model(registry, "library/bench", "1g", model)
            proxy.reset_counters()
            with RegistryClient() as client:
                started = time.perf_counter()
                remote = fit_remote(f"{proxy.host}/library/bench:1g", client)
                remote_s = time.perf_counter() - started
            wire = proxy.bytes_to_client
            requests = len(proxy.requests)
        blob = pushed.layer("model").size

    print(
        json.dumps(
            {
                "model_bytes": blob,
                "header_bytes": info.data_offset,
                "vocab": info.vocab_size,
                "installed_fit_warm_ms": round(warm, 3),
                "installed_fit_warm_new_process_ms": round(warm_process, 3),
                "installed_fit_cold_ms": round(cold["fit_ms"], 3),
                "target_warm_ms": 50,
                "reference_gguf_reader_ms": round(reader_ms, 1),
                "reference_raw_header_read_ms": round(raw_ms, 3),
                "remote_fit": {
                    "bytes_on_wire": wire,
                    "blob_bytes_read": remote.header_bytes_fetched,
                    "requests": requests,
                    "seconds": round(remote_s, 3),
                    "fraction_of_blob": round(wire / blob, 5),
                    "limit_bytes": max(blob // 100, info.data_offset),
                    "within_limit": wire <= max(blob // 100, info.data_offset),
                    "same_facts_as_local": remote.info == info,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
