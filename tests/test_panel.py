"""The real panel driven headless by posted events, against real pulls from a real registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_harness import PanelHarness
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.model import InstalledModelEntry
from ecs_models.config import ResourceLimits
from ecs_models.progress import PullState
from ecs_models.store import ModelStore

CAPTION_RE = re.compile(r"^\d{1,3} % \d+\.\d MB/s (\d+:\d\d(:\d\d)?|--:--)$")
# Slow enough to watch a 24 MiB pull for about two seconds of frames.
SLOW = ResourceLimits(bandwidth_cap=12e6)


@pytest.fixture
def slow_panel(models_dir: Path, registry: RegistryServer) -> Iterator[PanelHarness]:
    harness = PanelHarness(models_dir, registry.host, limits=SLOW)
    try:
        harness.settle()
        yield harness
    finally:
        harness.close()


def _short_name(model: PushedModel) -> str:
    # The registry fixture is the panel's default registry, so namespace/model:tag suffices.
    return f"{model.repository}:{model.tag}"


def _tasks(harness: PanelHarness) -> list[ModelInstallationTask]:
    return [task for _, task in harness.query(ModelInstallationTask)]


def _installed_names(harness: PanelHarness) -> set[str]:
    return {entry.metadata.display for _, entry in harness.query(InstalledModelEntry)}


def test_entry_is_focused_with_placeholder(slow_panel: PanelHarness) -> None:
    entry = slow_panel.view.entry
    assert entry.placeholder_text == "Enter a model name"
    assert slow_panel.manager.get_focus_set() == {entry}
    assert entry.is_focused


def test_type_name_press_enter_pull_select_and_remove(
    slow_panel: PanelHarness, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    model = push_small_model(registry, unique_repo, "v1", gguf_size=24 * MIB, seed=31)
    slow_panel.type_text(_short_name(model))
    assert slow_panel.view.entry.get_text() == _short_name(model)
    slow_panel.press_enter()

    # Enter made a task and cleared the entry for the next name.
    assert len(_tasks(slow_panel)) == 1
    assert slow_panel.view.entry.get_text() == ""

    row = slow_panel.view.rows[0]
    fractions: list[float] = []
    captions: set[str] = set()

    def finished() -> bool:
        fractions.append(row.bar.percent_full)
        if CAPTION_RE.match(row.bar.caption):
            captions.add(row.bar.caption)
        return _tasks(slow_panel)[0].state is PullState.DONE if _tasks(slow_panel) else True

    slow_panel.run_until(finished, timeout=60)
    moving = sorted({f for f in fractions if 0.0 < f < 1.0})
    assert len(moving) >= 5, f"the bar hardly moved: {moving}"
    assert fractions == sorted(fractions), "the bar went backwards"
    assert captions, "no caption of the form '42 % 85.0 MB/s 0:12' was shown"

    display = model.name  # a non-default host is part of Ollama's display name
    slow_panel.run_until(lambda: display in _installed_names(slow_panel), timeout=10)
    slow_panel.settle()
    assert any(item["text"].startswith(display) for item in slow_panel.view.models_list.item_list)
    store = ModelStore(models_dir)
    installed = store.resolve(model.name)
    assert installed.size == model.total_size
    manifest_path = installed.manifest_path

    slow_panel.click_list_item(display)
    slow_panel.click(slow_panel.view.remove_button)
    slow_panel.run_until(lambda: slow_panel.view.confirm_label.visible, timeout=10)
    confirm_text = slow_panel.view.confirm_label.text
    assert display in confirm_text
    assert "free" in confirm_text and ("MB" in confirm_text or "GB" in confirm_text)
    slow_panel.click(slow_panel.view.confirm_yes)
    slow_panel.run_until(lambda: display not in _installed_names(slow_panel), timeout=10)
    slow_panel.settle()
    assert not any(i["text"].startswith(display) for i in slow_panel.view.models_list.item_list)
    assert not manifest_path.exists()
    assert all(m.display != display for m in store.list_models())
    assert "Removed" in slow_panel.view.notice_label.text


def test_invalid_name_shows_notice_and_creates_no_task(slow_panel: PanelHarness) -> None:
    slow_panel.type_text("Bad..Name/with/too/many/parts")
    slow_panel.press_enter()
    slow_panel.settle()
    assert _tasks(slow_panel) == []
    notice = slow_panel.view.notice_label.text
    assert notice, "no notice was shown"
    assert notice.endswith(".")
    assert "too many" in notice
    # The text stays so the person can correct it.
    assert slow_panel.view.entry.get_text() == "Bad..Name/with/too/many/parts"


def test_cancel_leaves_resumable_partial(
    slow_panel: PanelHarness, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=48 * MIB, seed=32)
    slow_panel.type_text(_short_name(model))
    slow_panel.press_enter()
    row = slow_panel.view.rows[0]
    slow_panel.run_until(lambda: 0.15 < row.bar.percent_full < 0.8, timeout=30)
    slow_panel.click(row.button)
    slow_panel.run_until(lambda: _tasks(slow_panel)[0].state is PullState.CANCELLED, timeout=20)
    slow_panel.settle()
    assert "resumable" in row.bar.caption
    assert row.button.text == "Dismiss"

    blobs = models_dir / "blobs"
    partials = [p for p in blobs.iterdir() if p.name.endswith("-partial")]
    assert partials, f"no partial blob left in {sorted(p.name for p in blobs.iterdir())}"
    kept = sum(p.stat().st_size for p in partials)
    assert kept > 0
    assert all(m.display != model.name for m in ModelStore(models_dir).list_models())

    # Dismiss the row, then install again: the pull resumes and completes.
    slow_panel.click(row.button)
    slow_panel.settle()
    assert _tasks(slow_panel) == []
    slow_panel.type_text(_short_name(model))
    slow_panel.press_enter()
    slow_panel.run_until(lambda: model.name in _installed_names(slow_panel), timeout=60)
    assert not [p for p in blobs.iterdir() if p.name.endswith("-partial")]
