"""The real panel driven headless by posted events, against real pulls from a real registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_harness import PanelHarness
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.config import ResourceLimits
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.model import InstalledModelEntry
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import PullState

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

    row = slow_panel.view.downloads.rows[0]
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
    slow_panel.run_until(lambda: slow_panel.view.confirm.is_open, timeout=10)
    confirm_text = slow_panel.view.confirm.text or ""
    assert display in confirm_text
    assert "frees" in confirm_text and ("MB" in confirm_text or "GB" in confirm_text)
    assert slow_panel.view.confirm.yes is not None
    slow_panel.click(slow_panel.view.confirm.yes)
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
    row = slow_panel.view.downloads.rows[0]
    slow_panel.run_until(lambda: 0.15 < row.bar.percent_full < 0.8, timeout=30)
    slow_panel.click(slow_panel.download_button(0, "Pause"))
    slow_panel.run_until(lambda: _tasks(slow_panel)[0].state is PullState.CANCELLED, timeout=20)
    slow_panel.settle()
    assert row.bar.caption.startswith("paused · ")
    assert row.actions == ("Resume", "Discard", "Dismiss")

    blobs = models_dir / "blobs"
    partials = [p for p in blobs.iterdir() if p.name.endswith("-partial")]
    assert partials, f"no partial blob left in {sorted(p.name for p in blobs.iterdir())}"
    kept = sum(p.stat().st_size for p in partials)
    assert kept > 0
    assert all(m.display != model.name for m in ModelStore(models_dir).list_models())

    # Dismiss the row, then install again: the pull resumes and completes.
    slow_panel.click(slow_panel.download_button(0, "Dismiss"))
    slow_panel.settle()
    assert _tasks(slow_panel) == []
    slow_panel.type_text(_short_name(model))
    slow_panel.press_enter()
    slow_panel.run_until(lambda: model.name in _installed_names(slow_panel), timeout=60)
    assert not [p for p in blobs.iterdir() if p.name.endswith("-partial")]


def test_screenshot_pixels_at_known_widgets(
    slow_panel: PanelHarness, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    model = push_small_model(registry, unique_repo, "shot", gguf_size=48 * MIB, seed=33)
    slow_panel.type_text(_short_name(model))
    slow_panel.press_enter()
    row = slow_panel.view.downloads.rows[0]
    slow_panel.run_until(lambda: 0.2 < row.bar.percent_full < 0.7, timeout=30)
    slow_panel.frame()
    shot = tmp_path / "panel.png"
    import pygame

    pygame.image.save(slow_panel.screen, str(shot))
    image = pygame.image.load(str(shot))
    assert image.get_size() == slow_panel.screen.get_size()

    def close_to(pos: tuple[int, int], hex_colour: str, tolerance: int = 24) -> bool:
        want = pygame.Color(hex_colour)
        got = image.get_at(pos)
        return all(abs(a - b) <= tolerance for a, b in zip(got[:3], want[:3], strict=True))

    bar = row.bar.rect
    assert close_to((bar.x + 6, bar.centery), "#2f81f7"), "the filled part of the bar"
    assert close_to((bar.right - 6, bar.centery), "#2a2f37"), "the unfilled part of the bar"
    # Panel background between the list and the status line, away from any widget.
    status = slow_panel.view.status_label.rect
    assert close_to((status.right - 2, status.y - 2), "#1d2127"), "the panel background"
    # The entry and the list are drawn where the layout put them (not background colour).
    entry = slow_panel.view.entry.rect
    assert not close_to((entry.x + 2, entry.centery), "#1d2127", tolerance=4)
    slow_panel.click(slow_panel.download_button(0, "Pause"))  # the worker ends with the test


def test_concurrency_limit_queues_visibly(
    models_dir: Path, registry: RegistryServer, unique_repo: str
) -> None:
    harness = PanelHarness(
        models_dir,
        registry.host,
        limits=ResourceLimits(max_concurrent_downloads=1, bandwidth_cap=12e6),
    )
    try:
        first = push_small_model(registry, unique_repo, "one", gguf_size=24 * MIB, seed=34)
        second = push_small_model(registry, unique_repo, "two", gguf_size=1 * MIB, seed=35)
        for model in (first, second):
            harness.type_text(_short_name(model))
            harness.press_enter()
        harness.settle()
        tasks = _tasks(harness)
        assert [t.future is not None for t in tasks] == [True, False]
        assert harness.view.downloads.rows[1].bar.caption == "queued, #1 in line"
        harness.run_until(lambda: second.name in _installed_names(harness), timeout=60)
        assert first.name in _installed_names(harness), harness.describe()
    finally:
        harness.close()


def test_panel_follows_a_resize(slow_panel: PanelHarness) -> None:
    import pygame

    view = slow_panel.view
    for size in ((700, 480), (1000, 700)):
        view.resize(pygame.Rect((0, 0), size))
        slow_panel.settle(2)
        bounds = view.rect
        assert bounds.size == size
        for element in (view.entry, view.install_button, view.models_list, view.status_label):
            assert bounds.contains(element.rect), element
        assert view.install_button.rect.right <= bounds.right - 4
        assert view.status_label.rect.bottom <= bounds.bottom - 4


def test_not_enough_disk_is_a_notice_with_both_numbers(
    registry: RegistryServer, unique_repo: str, small_fs: object
) -> None:
    model = push_small_model(registry, unique_repo, "latest", gguf_size=12 * MIB, seed=33)
    root = small_fs(32 * MIB)  # type: ignore[operator]
    # 12 MiB fits on 32 MiB, but not with the 24 MiB of headroom the limits demand.
    harness = PanelHarness(
        root / "models", registry.host, limits=ResourceLimits(min_free_disk=24 * MIB)
    )
    try:
        harness.settle()
        harness.type_text(_short_name(model))
        harness.press_enter()
        harness.run_until(
            lambda: bool(_tasks(harness)) and _tasks(harness)[0].state is PullState.FAILED
        )
        harness.settle()
        notice = harness.view.notice_label.text
        assert "Not enough disk space" in notice and "MB is free" in notice and "needs 12" in notice
        assert not list((root / "models" / "blobs").iterdir())
    finally:
        harness.close()


def test_switching_tabs_back_keeps_the_confirmation_row_hidden(slow_panel: PanelHarness) -> None:
    bar = slow_panel.plugin.tab_bar
    assert bar is not None
    other = next(title for title in bar.titles if title != "Models")
    slow_panel.click(bar.buttons[other])
    slow_panel.click(bar.buttons["Models"])
    view = slow_panel.view
    assert view.visible and view.notice_label.visible
    assert not view.confirm.is_open
