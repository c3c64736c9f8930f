"""`list --json` (/api/tags with capabilities and lengths) over 1,000 installed models.

Prints one JSON object. Every model has its own GGUF with a 32,000-token vocabulary (a header
of ~0.6 MB, as Llama 2's), a template, params and a licence. Timed as a person runs it, as a
subprocess: `list --json` on a fresh store (nothing cached yet), `list --json` again (served
from the per-digest cache) and `list PREFIX --json`. References measured in the same run:
plain `list` (the table, which opens no model file) and, in process, Ollama's way of deriving
the same fields, show_model's full header read of every model.
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

from support.model_builder import (
    build_model,
    bytes_layer,
    default_config,
    install_model,
    small_model_layers,
    write_gguf,
)

from ecs_models.show.facts import show_model
from ecs_models.store.model_store import ModelStore

NAME_WIDTH = 24  # general.name is patched per model at a fixed width, so every blob differs


def make_store(root: Path, count: int, vocab: int) -> Path:
    """`count` models, each with its own model blob (one GGUF written, then renamed inside)."""
    # n_embd 4 keeps token_embd (vocab x n_embd floats) at 0.5 MB: the header is what counts.
    template = write_gguf(
        root / "base.gguf",
        vocab=vocab,
        n_embd=4,
        n_head=4,
        n_head_kv=2,
        tensor_bytes=64 * 1024,
        name="x" * NAME_WIDTH,
    )
    data = template.read_bytes()
    marker = b"x" * NAME_WIDTH
    assert data.count(marker) == 1
    # The models differ only in general.name: their config is described once, from the
    # template, instead of parsing each 32,000-token header again in the test builder.
    config = default_config(build_model(small_model_layers(template)).layers)
    del config["rootfs"]  # each model's own layer digests go there
    text_layers = small_model_layers(template)[1:]
    models = root / "models"
    for index in range(count):
        model_file = data.replace(marker, f"bench-model-{index:012d}".encode())
        built = build_model([bytes_layer("model", model_file), *text_layers], config)
        install_model(models, built, repository=f"library/bench{index:04d}", tag="latest")
    return models


def run_cli(models: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ecs_models", "--models", str(models), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return (time.perf_counter() - started) * 1e3, result.stdout


def median_ms(models: Path, runs: int, *args: str) -> float:
    return statistics.median(run_cli(models, *args)[0] for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecs-list-bench-") as tmp:
        models = make_store(Path(tmp), args.models, args.vocab)
        store = ModelStore(models)
        installed = store.list_models()
        cache = store.state_dir / "tags-cache.json"

        # Warm the page cache for every timing below (the models were just written anyway).
        run_cli(models, "list")
        cold = []
        for _ in range(args.runs):
            cache.unlink(missing_ok=True)
            cold.append(run_cli(models, "list", "--json")[0])
        warm_ms = median_ms(models, args.runs, "list", "--json")
        _, document = run_cli(models, "list", "--json")
        entries = json.loads(document)["models"]
        prefix_ms = median_ms(models, args.runs, "list", "bench09", "--json")
        table_ms = median_ms(models, args.runs, "list")

        started = time.perf_counter()
        for model in installed:
            show_model(store, model)
        show_all_ms = (time.perf_counter() - started) * 1e3

        print(
            json.dumps(
                {
                    "models": len(installed),
                    "vocabulary": args.vocab,
                    "model_blob_bytes": installed[0].manifest.layers[0].size,
                    "entries_with_capabilities": sum(1 for e in entries if e.get("capabilities")),
                    "entries_with_context_length": sum(
                        1 for e in entries if e["details"].get("context_length")
                    ),
                    "list_json_first_ms": round(statistics.median(cold), 1),
                    "list_json_cached_ms": round(warm_ms, 1),
                    "list_prefix_json_cached_ms": round(prefix_ms, 1),
                    "reference_list_table_ms": round(table_ms, 1),
                    "reference_show_model_every_model_ms": round(show_all_ms, 1),
                    "cache_bytes": cache.stat().st_size,
                    "cpu_count": os.cpu_count(),
                },
                indent=2,
            )
        )
        shutil.rmtree(models, ignore_errors=True)


if __name__ == "__main__":
    main()
