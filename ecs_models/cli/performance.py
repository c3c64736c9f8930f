"""fit, bench, stats, ps, load and unload: will a model fit, how fast is it, what is loaded."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ecs_models.cli.context import (
    Output,
    not_installed,
    open_store,
    parse_names,
    registry_client,
    registry_host,
    run_hint,
)
from ecs_models.cli.text import positive_int
from ecs_models.errors import EcsModelsError, with_fix
from ecs_models.formatting import human_bytes
from ecs_models.gguf.fit import FitReport, fit_model
from ecs_models.gguf.memory import KV_TYPE_BYTES
from ecs_models.names import parse_model_name
from ecs_models.runtime import perfstats
from ecs_models.runtime.daemon import OllamaDaemon
from ecs_models.runtime.factory import make_runtime
from ecs_models.runtime.runtimes import (
    DEFAULT_BENCH_TOKENS,
    BenchmarkResult,
    BenchmarkSpec,
    RuntimeModel,
    runtime_model,
)


def register(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parents = list(parents)
    fit = sub.add_parser("fit", parents=parents, help="will a model fit this machine's memory")
    fit.add_argument("name", metavar="NAME", help="installed or remote model")
    fit.add_argument("--ctx", type=positive_int, default=None, metavar="N", help="context length")
    fit.add_argument("--kv-type", choices=sorted(KV_TYPE_BYTES), default="f16")
    fit.add_argument("--json", action="store_true", help="print JSON")
    fit.set_defaults(handler=cmd_fit)

    bench = sub.add_parser("bench", parents=parents, help="benchmark a model's speed here")
    bench.add_argument("name", metavar="NAME")
    bench.add_argument("--runtime", choices=["llama.cpp", "ollama"], default="llama.cpp")
    bench.add_argument("--tokens", type=positive_int, default=DEFAULT_BENCH_TOKENS)
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(handler=cmd_bench)

    stats = sub.add_parser("stats", parents=parents, help="measured performance per model")
    stats.add_argument("name", metavar="NAME", nargs="?")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(handler=cmd_stats)

    ps = sub.add_parser("ps", parents=parents, help="models the Ollama daemon has loaded")
    ps.add_argument("--json", action="store_true", help="print JSON")
    ps.set_defaults(handler=cmd_ps)

    load = sub.add_parser("load", parents=parents, help="load a model in the Ollama daemon")
    load.add_argument("name", metavar="NAME")
    load.set_defaults(handler=cmd_load)

    unload = sub.add_parser("unload", parents=parents, help="unload a model from the daemon")
    unload.add_argument("name", metavar="NAME")
    unload.set_defaults(handler=cmd_unload)


def _display(args: argparse.Namespace, name: str) -> str:
    return parse_model_name(name, default_host=registry_host(args)).display


def cmd_fit(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    with registry_client(args) as registry:
        report = fit_model(
            store,
            args.name,
            registry,
            context_length=args.ctx,
            kv_type=args.kv_type,
            default_host=registry_host(args),
        )
    if args.json:
        output.json(report.to_dict())
    else:
        for line in fit_lines(report):
            output.print(line)
    return 0


def fit_lines(report: FitReport) -> list[str]:
    info = report.info
    est = report.estimate
    source = (
        "local blob"
        if report.installed
        else f"remote header ({human_bytes(report.header_bytes_fetched)} fetched)"
    )
    facts = [
        ("model", report.model),
        ("read from", source),
        ("architecture", info.architecture or "?"),
        ("parameters", f"{info.parameter_count:,}" if info.parameter_count else "?"),
        ("quantization", info.quantization or "?"),
        ("layers", str(info.block_count or "?")),
        ("context", f"{est.context_length} of {info.context_length or '?'} tokens"),
        ("weights", human_bytes(est.weights_bytes)),
        ("KV cache", f"{human_bytes(est.kv_cache_bytes)} ({est.kv_type})"),
        ("overhead", human_bytes(est.overhead_bytes)),
        ("total", human_bytes(est.total_bytes)),
        ("verdict", str(report.verdict.verdict)),
    ]
    width = max(len(k) for k, _ in facts)
    return [f"{k:<{width}}  {v}" for k, v in facts] + [report.verdict.reason]


def cmd_bench(args: argparse.Namespace, output: Output) -> int:
    spec = BenchmarkSpec(max_tokens=args.tokens)
    if args.runtime == "ollama":
        model = RuntimeModel(_display(args, args.name))
        store = open_store(args, create=True)  # the daemon's figures are recorded here
    else:
        found = open_store(args, create=False)
        if found is None:
            raise not_installed(parse_names(args, [args.name])[0])
        store = found
        model = runtime_model(store, args.name, default_host=registry_host(args))
    runtime = make_runtime(args.runtime, quiet=True)
    try:
        result = runtime.benchmark(model, spec)
    finally:
        if isinstance(runtime, OllamaDaemon):
            runtime.close()
    perfstats.record(store, result.to_record(digest=model.digest))
    if args.json:
        output.json(result.to_dict())
    else:
        for line in bench_lines(result):
            output.print(line)
    return 0


def _num(value: float | None, unit: str, digits: int = 1) -> str:
    return "?" if value is None else f"{value:.{digits}f} {unit}"


def bench_lines(result: BenchmarkResult) -> list[str]:
    return [
        f"model        {result.model} ({result.runtime})",
        f"load         {_num(result.load_seconds, 's', 2)}",
        f"prompt       {_num(result.prompt_tokens_per_second, 'tokens/s')} "
        f"({result.prompt_tokens} tokens)",
        f"generation   {_num(result.generation_tokens_per_second, 'tokens/s')} "
        f"({result.generated_tokens} tokens)",
        f"first token  {_num(result.time_to_first_token_seconds, 's', 3)}",
        "peak memory  "
        + (human_bytes(result.peak_memory_bytes) if result.peak_memory_bytes else "?"),
    ]


def cmd_stats(args: argparse.Namespace, output: Output) -> int:
    store = open_store(args, create=False)
    wanted = _display(args, args.name) if args.name else None
    table = {} if store is None else perfstats.performance(store, wanted)
    if wanted and not table:
        raise with_fix(
            EcsModelsError(f"No performance figures are recorded for {wanted} yet."),
            "bench",
            wanted,
            purpose="to measure it",
        )
    if args.json:
        output.json({name: stats.to_dict() for name, stats in table.items()})
        return 0
    if not table:
        output.print(
            f"No performance figures recorded yet; {run_hint(args, 'bench', 'NAME')} or pull a model."
        )
        return 0
    rows = [["NAME", "RUNTIME", "LOAD", "PROMPT T/S", "GEN T/S", "TTFT", "PEAK MEM", "RUNS"]]
    for name, stats in sorted(table.items()):
        latest = stats.latest
        peak = latest.get("peak_memory_bytes")
        rows.append(
            [
                name,
                str(latest.get("runtime", "")),
                _num(latest.get("load_seconds"), "s", 2),
                _num(latest.get("prompt_tokens_per_second"), ""),
                _num(latest.get("generation_tokens_per_second"), ""),
                _num(latest.get("time_to_first_token_seconds"), "s", 3),
                human_bytes(peak) if peak else "?",
                str(len(stats.history)),
            ]
        )
    widths = [max(len(row[i].strip()) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        output.print(
            "  ".join(cell.strip().ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_ps(args: argparse.Namespace, output: Output) -> int:
    with OllamaDaemon() as daemon:
        loaded = daemon.ps()
    if args.json:
        output.json({"models": [m.to_dict() for m in loaded]})
        return 0
    if not loaded:
        output.print(f"The Ollama daemon at {daemon.base_url} has no model loaded.")
        return 0
    output.print(f"{'NAME':<32} {'SIZE':>9} {'VRAM':>9} {'CONTEXT':>8}  UNTIL")
    for m in loaded:
        output.print(
            f"{m.name:<32} {human_bytes(m.size):>9} {human_bytes(m.size_vram):>9} "
            f"{m.context_length or '':>8}  {m.expires_at or ''}"
        )
    return 0


def cmd_load(args: argparse.Namespace, output: Output) -> int:
    name = _display(args, args.name)
    with OllamaDaemon() as daemon:
        seconds = daemon.load(name)
    output.print(f"Loaded {name} in the Ollama daemon ({seconds:.2f} s).")
    return 0


def cmd_unload(args: argparse.Namespace, output: Output) -> int:
    name = _display(args, args.name)
    with OllamaDaemon() as daemon:
        daemon.unload(name)
    output.print(f"Unloaded {name} from the Ollama daemon.")
    return 0
