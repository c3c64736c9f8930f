"""The Models tab's details pane shows `show`'s facts, read on a worker, never in a frame."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_harness import PanelHarness
from support.model_builder import KIB, build_model, cached_gguf, gguf_layer, install_model
from support.model_builder import text_layer as text
from support.registry_server import RegistryServer

from ecs_models.components.facts_cache import ModelFactsCache
from ecs_models.components.panel import ModelManagerPanel

TEMPLATE = (
    "{{ if .Tools }}{{ range .Tools }}{{ json . }}{{ end }}{{ end }}"
    "{{ range .Messages }}{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"
    "{{ .Content }}{{ end }}"
)


@pytest.fixture
def panel(models_dir: Path, registry: RegistryServer) -> Iterator[PanelHarness]:
    rich = cached_gguf(
        64 * KIB,
        seed=81,
        arch="qwen3",
        ctx=8192,
        n_embd=128,
        extra_kv={"qwen3.vision.block_count": 2},
    )
    install_model(
        models_dir,
        build_model([gguf_layer(rich), text("template", TEMPLATE)]),
        repository="library/rich",
    )
    plain = cached_gguf(64 * KIB, seed=82)
    install_model(
        models_dir,
        build_model([gguf_layer(plain), text("template", "{{ .Prompt }}")]),
        repository="library/plain",
    )
    harness = PanelHarness(models_dir, registry.host)
    try:
        harness.run_until(lambda: len(harness.view.models_list.item_list) == 2)
        yield harness
    finally:
        harness.close()


def _lines(harness: PanelHarness) -> list[str]:
    return [label.text for label in harness.view.detail_labels]


def test_details_show_gguf_facts_and_capability_tags_read_on_a_worker(
    panel: PanelHarness,
) -> None:
    cache = panel.plugin.resources.get(ModelFactsCache)
    # Occupy both chore workers: the facts cannot be read until they are free again.
    gate = threading.Event()
    blockers = [panel.plugin.pools.chores.submit(gate.wait) for _ in range(2)]
    try:
        panel.click_list_item("rich:latest")
        frames = len(panel.frame_times)
        panel.settle(10)
        # Frames went on while the read waited for a worker; the pane says it is reading.
        assert len(panel.frame_times) >= frames + 10
        assert "Capabilities: reading the model file…" in _lines(panel)
        assert "Context length: …" in _lines(panel)
        assert panel.view.capability_tags.texts == []
        assert len(cache.pending) == 1
    finally:
        gate.set()
        for blocker in blockers:
            blocker.result(timeout=10)

    panel.run_until(lambda: bool(panel.view.capability_tags.texts))
    lines = _lines(panel)
    assert "Architecture: qwen3" in lines
    assert "Context length: 8192" in lines
    assert "Embedding length: 128" in lines
    assert "Quantization: Q4_K_M" in lines
    assert any(re.fullmatch(r"Parameters: \S+ \([0-9,]+\)", line) for line in lines), lines
    assert panel.view.capability_tags.texts == ["completion", "vision", "tools", "thinking"]
    tag_row = lines.index("")
    row = panel.view.layout.details[tag_row]
    for label in panel.view.capability_tags.labels[:4]:
        assert label.visible and row.top <= label.relative_rect.top < row.bottom

    # The other model has its own facts.
    panel.click_list_item("plain:latest")
    panel.run_until(lambda: panel.view.capability_tags.texts == ["completion"])
    assert "Architecture: llama" in _lines(panel)
    # Focus back on the first model (set on the component: a second click on a list row
    # toggles it in a multi-selection list) reads nothing again.
    ((_, component),) = panel.query(ModelManagerPanel)
    component.focused_model = "registry.ollama.ai/library/rich:latest"
    panel.settle(3)
    assert not cache.pending
    assert panel.view.capability_tags.texts == ["completion", "vision", "tools", "thinking"]
    assert len(cache.facts) == 2


def test_tags_that_do_not_fit_collapse_into_a_count(
    models_dir: Path, registry: RegistryServer
) -> None:
    everything = cached_gguf(
        64 * KIB, seed=83, arch="qwen3", extra_kv={"qwen3.vision.block_count": 1}
    )
    template = TEMPLATE + "{{ .Suffix }}"
    install_model(
        models_dir,
        build_model([gguf_layer(everything), text("template", template)]),
        repository="library/every",
    )
    harness = PanelHarness(models_dir, registry.host, size=(560, 600))
    try:
        harness.run_until(lambda: len(harness.view.models_list.item_list) == 1)
        harness.click_list_item("every:latest")
        harness.run_until(lambda: bool(harness.view.capability_tags.texts))
        texts = harness.view.capability_tags.texts
        assert texts[-1].startswith("+") and texts[0] == "completion"
        shown = len(texts) - 1
        assert shown + int(texts[-1][1:]) == 5  # completion vision tools insert thinking
        right = max(label.relative_rect.right for label in harness.view.capability_tags.labels[:3])
        assert right <= harness.view.layout.details[0].right
    finally:
        harness.close()
