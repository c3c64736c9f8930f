"""health --smoke: a real 4-token generation with llama.cpp is part of a model's health."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.model_builder import GGUFFactory, build_model, gguf_layer, install_model, text_layer

from ecs_models.cli import main
from ecs_models.runtime.runtimes import llama_cpp_unavailable_reason
from ecs_models.storage.health import FindingKind, check_health, load_health
from ecs_models.store.model_store import ModelStore

LLAMA_MISSING = llama_cpp_unavailable_reason()
needs_llama = pytest.mark.skipif(LLAMA_MISSING is not None, reason=LLAMA_MISSING or "")


@pytest.fixture
def unknown_arch(models_dir: Path, gguf_factory: GGUFFactory) -> ModelStore:
    """A structurally valid GGUF whose architecture llama.cpp does not know: it cannot load."""
    path = gguf_factory(tensor_bytes=64 * 1024, seed=3, arch="nosucharch")
    layers = [gguf_layer(path), text_layer("template", "{{ .Prompt }}")]
    install_model(models_dir, build_model(layers), repository="library/odd", tag="v1")
    return ModelStore(models_dir)


@pytest.mark.runtime
@needs_llama
def test_gemma_passes_and_an_unloadable_gguf_fails_the_smoke_check(
    gemma_file: Path, unknown_arch: ModelStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store = unknown_arch
    layers = [gguf_layer(gemma_file), text_layer("template", "{{ .Prompt }}")]
    install_model(store.root, build_model(layers), repository="library/gemma3", tag="270m")
    # Without --smoke both are healthy: size, sha256, GGUF structure and config all pass.
    assert check_health(store, hash_content=False).ok
    assert main(["--models", str(store.root), "health", "--smoke", "--no-hash", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)["health"]
    assert out["smoke"] == {"requested": True, "skipped": None}
    by_name = {m["display"]: m for m in out["models"]}
    gemma, odd = by_name["gemma3:270m"], by_name["odd:v1"]
    assert gemma["ok"] and gemma["smoke"] == "passed" and gemma["findings"] == []
    assert not odd["ok"] and odd["smoke"] == "failed"
    [finding] = odd["findings"]
    assert finding["kind"] == FindingKind.RUNTIME.value and finding["layer"] == "model"
    assert finding["detail"].startswith("llama.cpp could not load odd:v1")
    assert finding["detail"].endswith(".") and finding["detail"].count("\n") == 0
    # The result is kept with the others, smoke outcome included.
    saved = load_health(store)
    assert saved["registry.ollama.ai/library/gemma3:270m"].smoke == "passed"
    assert [f.kind for f in saved["registry.ollama.ai/library/odd:v1"].findings] == [
        FindingKind.RUNTIME
    ]
    # The text report names the failure as a runtime problem (only odd:v1: Gemma loads slowly).
    assert main(["--models", str(store.root), "health", "--smoke", "--no-hash", "odd:v1"]) == 1
    text = capsys.readouterr().out
    assert "FAILED  odd:v1  blob" in text and "runtime: llama.cpp could not load odd:v1" in text


def _health_in_child(root: Path, *, smoke: bool) -> dict[str, object]:
    """Run a check in a fresh interpreter and report whether llama_cpp was ever imported."""
    code = (
        "import json, sys\n"
        # A Python where llama-cpp-python is not installed: importing it raises ImportError.
        + "from ecs_models.storage.health import check_health\n"
        + "from ecs_models.store.model_store import ModelStore\n"
        + f"report = check_health(ModelStore({str(root)!r}), hash_content=False, smoke={smoke})\n"
        + "loaded = sys.modules.get('llama_cpp') is not None\n"
        + "print(json.dumps({'report': report.to_json(), 'llama_loaded': loaded}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_without_smoke_nothing_is_loaded(unknown_arch: ModelStore) -> None:
    result = _health_in_child(unknown_arch.root, smoke=False)
    report = result["report"]
    assert isinstance(report, dict)
    assert result["llama_loaded"] is False
    assert report["ok"] is True  # the unloadable GGUF is not found out without a smoke check
    assert report["smoke"] == {"requested": False, "skipped": None}
    assert [m["smoke"] for m in report["models"]] == [None]
