"""Runtimes: llama.cpp in process on Gemma 3 270M, the Ollama daemon, and performance_stats."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from support.model_builder import GGUFFactory, build_model, bytes_layer, install_model, text_layer

from ecs_models.cli import main
from ecs_models.gguf.fit import fit_installed
from ecs_models.runtime import perfstats
from ecs_models.runtime.daemon import DaemonUnavailableError, OllamaDaemon, daemon_url
from ecs_models.runtime.factory import make_runtime
from ecs_models.runtime.perfstats import PerformanceRecord
from ecs_models.runtime.runtimes import (
    BenchmarkSpec,
    LlamaCppRuntime,
    RuntimeLoadError,
    RuntimeModel,
    RuntimeUnavailableError,
    llama_cpp_unavailable_reason,
    runtime_model,
)
from ecs_models.store.model_store import ModelStore

LLAMA_MISSING = llama_cpp_unavailable_reason()
needs_llama = pytest.mark.skipif(LLAMA_MISSING is not None, reason=LLAMA_MISSING or "")
GEMMA = "gemma3:270m"
QUICK = BenchmarkSpec(max_tokens=12, context_length=512)


@pytest.fixture(scope="module")
def llama_runs(gemma_file: Path) -> None:
    """llama.cpp must really run here: a build for another CPU dies with SIGILL, so probe it in
    a child process and fail with the reason instead of killing the test session."""
    probe = (
        "import llama_cpp, sys; "
        "llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=128, verbose=False); "
        "llm('Hi', max_tokens=1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(gemma_file)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(
            f"llama-cpp-python cannot run Gemma 3 here (exit {done.returncode}); rebuild it with "
            'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON". '
            + done.stderr[-300:],
            pytrace=False,
        )


@pytest.fixture
def gemma_store(models_dir: Path, gemma_file: Path) -> ModelStore:
    layers = [
        bytes_layer("model", gemma_file.read_bytes()),
        text_layer("template", "{{ .Prompt }}"),
    ]
    install_model(models_dir, build_model(layers), repository="library/gemma3", tag="270m")
    return ModelStore(models_dir)


# -- llama.cpp in process (real inference) --------------------------------------------------


@pytest.mark.runtime
@needs_llama
def test_benchmark_gemma_in_process(llama_runs: None, gemma_store: ModelStore) -> None:
    model = runtime_model(gemma_store, GEMMA)
    assert model.path == gemma_store.blob_path(gemma_store.resolve(GEMMA).manifest.layers[0].digest)
    before = psutil.Process().memory_info().rss
    runtime = LlamaCppRuntime()
    first = runtime.benchmark(model, QUICK)
    assert first.generated_tokens == QUICK.max_tokens  # end-of-text is banned: a fixed workload
    assert first.prompt_tokens > 50 and first.load_seconds > 0
    assert (first.prompt_tokens_per_second or 0) > 0
    assert (first.generation_tokens_per_second or 0) > 0
    assert 0 < (first.time_to_first_token_seconds or 0) < 60
    assert (first.peak_memory_bytes or 0) >= before
    # Same prompt, seed and greedy sampling: the same text.
    second = runtime.benchmark(model, QUICK)
    assert second.text == first.text and first.text.strip()
    # The fit estimate covers what loading really took.
    estimate = fit_installed(gemma_store, GEMMA, context_length=QUICK.context_length).estimate
    assert (first.peak_memory_bytes or 0) - before <= estimate.total_bytes


@pytest.mark.runtime
@needs_llama
def test_bench_command_records_stats(
    llama_runs: None, gemma_store: ModelStore, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(gemma_store.root)
    assert main(["--models", root, "bench", GEMMA, "--tokens", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["generated_tokens"] == 8 and result["runtime"] == "llama.cpp"
    assert main(["--models", root, "stats", GEMMA, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["gemma3:270m"]
    latest = stats["latest"]
    assert latest["generation_tokens_per_second"] == result["generation_tokens_per_second"]
    assert latest["runtime"] == "llama.cpp" and len(stats["history"]) == 1
    record = stats["history"][0]
    assert record["digest"] == gemma_store.resolve(GEMMA).digest
    assert record["machine"]["cores"] == psutil.cpu_count()
    assert main(["--models", root, "stats"]) == 0
    assert "gemma3:270m" in capsys.readouterr().out


@pytest.mark.runtime
@needs_llama
def test_smoke_and_load_errors(
    llama_runs: None, gemma_store: ModelStore, gguf_factory: GGUFFactory, models_dir: Path
) -> None:
    runtime = LlamaCppRuntime()
    assert runtime.smoke(runtime_model(gemma_store, GEMMA)).strip()
    junk = build_model([bytes_layer("model", b"GGUF" + b"\0" * 4096)])
    install_model(models_dir, junk, repository="library/junk")
    with pytest.raises(RuntimeLoadError, match="could not load junk:latest"):
        runtime.smoke(runtime_model(ModelStore(models_dir), "junk"))


# -- runtime selection and errors (no inference needed) -------------------------------------


def test_runtime_selection_errors(models_dir: Path) -> None:
    with pytest.raises(RuntimeUnavailableError, match="Unknown runtime 'vllm'"):
        make_runtime("vllm")
    if LLAMA_MISSING is not None:
        with pytest.raises(RuntimeUnavailableError, match="install ecs-models\\[runtime\\]"):
            make_runtime("llama.cpp")
    install_model(models_dir, build_model([text_layer("license", "MIT")]), repository="a/b")
    with pytest.raises(RuntimeLoadError, match="no GGUF model layer"):
        runtime_model(ModelStore(models_dir), "a/b")


# -- the Ollama daemon ----------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_daemon_url_follows_ollama_host() -> None:
    cases = {
        "": "http://127.0.0.1:11434",
        "0.0.0.0": "http://0.0.0.0:11434",
        "example.com:8080": "http://example.com:8080",
        "https://example.com": "https://example.com:443",
        "http://10.0.0.5": "http://10.0.0.5:80",
        ":9999": "http://127.0.0.1:9999",
        '"127.0.0.1:4000"': "http://127.0.0.1:4000",
        "[::1]:5000": "http://[::1]:5000",
        "::1": "http://[::1]:11434",
    }
    for value, expected in cases.items():
        assert daemon_url({"OLLAMA_HOST": value}) == expected, value
    assert daemon_url({}) == "http://127.0.0.1:11434"


def test_no_daemon_is_one_clear_sentence(
    monkeypatch: pytest.MonkeyPatch, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    with (
        OllamaDaemon(f"http://127.0.0.1:{port}") as daemon,
        pytest.raises(
            DaemonUnavailableError, match=f"No Ollama daemon answers at http://127.0.0.1:{port}"
        ),
    ):
        daemon.ps()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    for argv in (["ps"], ["load", "llama3"], ["unload", "llama3"]):
        assert main(["--models", str(models_dir), *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: No Ollama daemon answers") and err.count("\n") == 1


@pytest.fixture
def daemon() -> OllamaDaemon:
    client = OllamaDaemon()
    try:
        client.version()
    except DaemonUnavailableError:
        client.close()
        pytest.skip(f"no Ollama daemon answers at {client.base_url} (set OLLAMA_HOST to test one)")
    return client


def test_daemon_ps_load_unload(daemon: OllamaDaemon) -> None:
    with daemon:
        tags = daemon._http.get("/api/tags").json().get("models") or []
        if not tags:
            pytest.skip(f"the Ollama daemon at {daemon.base_url} has no model installed")
        name = str(tags[0]["name"])
        daemon.load(name)
        assert name in {m.name for m in daemon.ps()}
        daemon.unload(name)
        result = daemon.benchmark(RuntimeModel(name), QUICK)
        assert result.generated_tokens > 0 and (result.generation_tokens_per_second or 0) > 0


# -- performance_stats ----------------------------------------------------------------------


def test_stats_keep_latest_and_history(models_dir: Path) -> None:
    store = ModelStore(models_dir)
    perfstats.record(
        store, PerformanceRecord("m:latest", "download", download_bytes_per_second=5e7)
    )
    perfstats.record(
        store,
        PerformanceRecord(
            "m:latest",
            "benchmark",
            runtime="llama.cpp",
            generation_tokens_per_second=40.0,
            load_seconds=0.5,
        ),
    )
    with perfstats.stats_path(store).open("a") as handle:
        handle.write('{"model": "m:latest", "kind": "benchmark", "load_seconds": "fast"}\n')
        handle.write("not json at all\n")
    perfstats.record(store, PerformanceRecord("m:latest", "benchmark", load_seconds=0.25))
    perfstats.record(store, PerformanceRecord("other:1", "verify", verify_bytes_per_second=1e9))
    table = perfstats.performance(store)
    assert set(table) == {"m:latest", "other:1"}
    mine = table["m:latest"]
    assert len(mine.history) == 3  # the two damaged lines are skipped
    assert mine.latest["load_seconds"] == 0.25  # newest wins per figure
    assert mine.latest["generation_tokens_per_second"] == 40.0  # kept from an older record
    assert mine.latest["download_bytes_per_second"] == 5e7
    assert perfstats.performance(store, "M:LATEST")["m:latest"].latest == mine.latest
    # Stats live beside blobs/ and manifests/, never inside them.
    assert perfstats.stats_path(store).parent == store.state_dir


def test_stats_command(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--models", str(models_dir), "stats"]) == 0
    assert "No performance figures" in capsys.readouterr().out
    assert main(["--models", str(models_dir), "stats", "nothing", "--json"]) == 1
    err = capsys.readouterr().err
    assert "No performance figures are recorded for nothing:latest" in err
