"""The installed-model lists as a desktop user drives them, headless: the filter box (Ctrl+F, the
count beside it), the keyboard (Tab order and its ring, list keys, Delete, Enter, Escape,
Ctrl+1..5), the status bar's bytes and the remembered window size and sort order; real key
events against a real store of 150 models that share their blobs."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pygame
import pygame_gui
import pytest
from panel_harness import PanelHarness
from support.many_models import InstalledSet, install_many
from support.registry_server import RegistryServer

from ecs_models.app.config import LocalModelConfig
from ecs_models.app.store_totals import totals_text
from ecs_models.app.ui_state import UiState, load_ui_state, save_ui_state
from ecs_models.app.window import WINDOW_SIZE
from ecs_models.components.panel import ModelManagerPanel
from ecs_models.components.performance import PerformanceSelection
from ecs_models.formatting import human_bytes
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.core.fit_text import text_width
from ecs_models.ui.widgets.filtered_list import FilteredList

COUNT = 150
ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).parent / "support" / "remember_driver.py"
SIZE = (1000, 700)
CTRL = pygame.KMOD_LCTRL


@pytest.fixture
def many(models_dir: Path) -> InstalledSet:
    return install_many(models_dir, COUNT)


@pytest.fixture
def harness(
    models_dir: Path, registry: RegistryServer, many: InstalledSet
) -> Iterator[PanelHarness]:
    panel = PanelHarness(models_dir, registry.host, size=SIZE)
    try:
        panel.run_until(lambda: len(panel.view.models_list.item_list) == COUNT)
        panel.settle()
        yield panel
    finally:
        panel.close()


def press(harness: PanelHarness, key: int, mod: int = 0) -> None:
    for kind in (pygame.KEYDOWN, pygame.KEYUP):
        pygame.event.post(pygame.event.Event(kind, key=key, mod=mod, unicode="", scancode=0))
    # A key may post a widget event, whose handler posts a selection event: a frame each.
    harness.settle(4)


def type_keys(harness: PanelHarness, text: str) -> None:
    """Type into whatever has the keyboard, one TEXTINPUT per character, as SDL sends them."""
    for char in text:
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
        harness.frame()
    harness.settle(2)


def focused(harness: PanelHarness) -> set[Any]:
    return set(harness.manager.get_focus_set() or ())


def panel_state(harness: PanelHarness) -> ModelManagerPanel:
    (_, panel), *_ = harness.query(ModelManagerPanel)
    assert isinstance(panel, ModelManagerPanel)
    return panel


def shown(listed: FilteredList) -> list[str]:
    return listed.shown_keys


def display(name: str) -> str:
    return name.removeprefix("registry.ollama.ai/library/")


def test_ctrl_f_filters_by_name_family_and_tag_with_the_count_beside(
    harness: PanelHarness, many: InstalledSet
) -> None:
    view = harness.view
    listed = view.filtered
    assert view.installed_label.text == f"{COUNT} models"
    assert view.entry in focused(harness)  # the install entry has the keyboard at start

    press(harness, pygame.K_f, CTRL)
    assert listed.entry in focused(harness)
    assert harness.plugin.keyboard.ring.visible  # the keyboard moved the focus: ring shows
    assert harness.plugin.keyboard.ring.rect.contains(listed.entry.rect)

    type_keys(harness, "qwen2")  # a family (and part of the names)
    qwen = [n for n in many.names if "-qwen2-" in n]
    assert sorted(shown(listed)) == sorted(qwen)
    assert view.installed_label.text == f"{len(qwen)} of {COUNT}"

    type_keys(harness, " instruct")  # every word must match: the family and the tag
    both = [n for n in qwen if n.endswith(":instruct")]
    assert sorted(shown(listed)) == sorted(both) and 0 < len(both) < len(qwen)
    assert view.installed_label.text == f"{len(both)} of {COUNT}"
    assert view.entry.get_text() == ""  # nothing went to the install entry

    # The size class is searched too (from the model's config, "1B"), not only the name.
    press(harness, pygame.K_ESCAPE)  # Escape empties the box
    assert listed.entry.get_text() == "" and len(shown(listed)) == COUNT
    type_keys(harness, "1b")
    one_b = [n for i, n in enumerate(many.names) if i % 9 == 0]
    assert sorted(shown(listed)) == sorted(one_b)
    assert not any("1b" in display(n) for n in one_b)

    type_keys(harness, "zzz")
    assert shown(listed) == [] and view.installed_label.text == f"0 of {COUNT}"


def test_rows_the_filter_hides_leave_the_selection(
    harness: PanelHarness, many: InstalledSet
) -> None:
    listed = harness.view.filtered
    press(harness, pygame.K_f, CTRL)
    type_keys(harness, "llama")
    press(harness, pygame.K_DOWN)  # Down moves from the box into the list: its first row
    first = shown(listed)[0]
    ring = harness.plugin.keyboard.ring  # and the ring goes with the keyboard
    assert ring.visible and ring.rect.contains(listed.list.rect)
    assert panel_state(harness).selected_models == {first}
    assert harness.view.installed_label.text.endswith("1 selected")
    press(harness, pygame.K_f, CTRL)
    type_keys(harness, " 0001")  # hides the selected row
    assert first not in shown(listed)
    assert panel_state(harness).selected_models == set()


def test_list_keys_move_the_selection_and_delete_asks_enter_removes_escape_keeps(
    harness: PanelHarness, many: InstalledSet, models_dir: Path
) -> None:
    view = harness.view
    listed = view.filtered
    press(harness, pygame.K_f, CTRL)
    type_keys(harness, "gemma2")
    rows = shown(listed)
    press(harness, pygame.K_RETURN)  # Enter in the box moves into the list too
    assert listed.list in focused(harness)
    assert panel_state(harness).selected_models == {rows[0]}
    press(harness, pygame.K_DOWN)
    press(harness, pygame.K_DOWN)
    assert panel_state(harness).selected_models == {rows[2]}
    press(harness, pygame.K_UP)
    assert panel_state(harness).selected_models == {rows[1]}
    press(harness, pygame.K_END)
    assert panel_state(harness).selected_models == {rows[-1]}
    assert listed.list.item_list[-1]["button_element"] is not None  # scrolled into view
    press(harness, pygame.K_HOME)
    assert panel_state(harness).selected_models == {rows[0]}
    page = listed.list.visible_row_count() - 1
    press(harness, pygame.K_PAGEDOWN)
    assert panel_state(harness).selected_models == {rows[page]}
    press(harness, pygame.K_PAGEUP)
    assert panel_state(harness).selected_models == {rows[0]}
    press(harness, pygame.K_DOWN)
    press(harness, pygame.K_DOWN, pygame.KMOD_LSHIFT)  # Shift extends from the anchor
    assert panel_state(harness).selected_models == {rows[1], rows[2]}
    press(harness, pygame.K_DOWN)
    chosen = rows[3]
    assert panel_state(harness).selected_models == {chosen}

    store = ModelStore(models_dir)
    manifest = many.manifests[chosen]
    press(harness, pygame.K_DELETE)
    harness.run_until(lambda: view.confirm.is_open, timeout=10)
    assert display(chosen) in (view.confirm.text or "")
    press(harness, pygame.K_ESCAPE)
    assert not view.confirm.is_open
    harness.settle(5)
    assert len(store.list_models()) == COUNT and manifest.exists()

    press(harness, pygame.K_DELETE)
    harness.run_until(lambda: view.confirm.is_open, timeout=10)
    press(harness, pygame.K_RETURN)
    harness.run_until(lambda: not manifest.exists(), timeout=10)
    remaining = {str(m.name) for m in store.list_models()}
    assert remaining == set(many.names) - {chosen}
    harness.run_until(lambda: chosen not in shown(listed))
    assert view.installed_label.text == f"{len(rows) - 1} of {COUNT - 1}"


def test_tab_moves_through_every_widget_in_reading_order_with_a_ring(
    harness: PanelHarness,
) -> None:
    view = harness.view
    keyboard = harness.plugin.keyboard
    bar = harness.plugin.tab_bar
    assert bar is not None
    visited: list[Any] = []
    for _ in range(40):
        press(harness, pygame.K_TAB)
        (element,) = [e for e in focused(harness) if e is keyboard.target]
        if visited and element is visited[0]:
            break
        visited.append(element)
        assert keyboard.ring.visible and keyboard.ring.rect.contains(element.rect)
    else:
        raise AssertionError("Tab never came back to where it started")
    # The tabs, then the view: entry, streams, Install, filter, list, Remove, Verify, sort.
    wanted = [
        *bar.buttons.values(),
        view.entry,
        view.streams_menu.menu,
        view.install_button,
        view.filtered.entry,
        view.remove_button,
        view.verify_button,
        view.sort_menu,
        view.models_list,
    ]
    assert all(element in visited for element in wanted), [type(e).__name__ for e in visited]
    start = visited.index(next(iter(bar.buttons.values())))
    in_order = visited[start:] + visited[:start]  # from the first tab on
    tops = [e.rect.top for e in in_order[len(bar.buttons) :]]
    # Reading order: never back up the window (widgets of one line may differ by a few px).
    assert all(later >= earlier - 8 for earlier, later in itertools.pairwise(tops))
    # Shift+Tab walks back the same way.
    press(harness, pygame.K_TAB, pygame.KMOD_LSHIFT)
    assert keyboard.target is visited[-1]
    # A click hides the ring (the mouse took over).
    harness.click(view.install_button)
    assert not keyboard.ring.visible


def test_enter_activates_the_focused_widget(harness: PanelHarness) -> None:
    view = harness.view
    keyboard = harness.plugin.keyboard
    press(harness, pygame.K_f, CTRL)
    press(harness, pygame.K_RETURN)  # into the list: the first row selected
    first = shown(view.filtered)[0]
    while keyboard.target is not view.remove_button:
        press(harness, pygame.K_TAB)
    press(harness, pygame.K_RETURN)  # a button pressed by key asks as a click does
    harness.run_until(lambda: view.confirm.is_open, timeout=10)
    assert display(first) in (view.confirm.text or "")
    assert view.confirm.yes in focused(harness)  # the question takes the keyboard
    press(harness, pygame.K_ESCAPE)
    assert not view.confirm.is_open


def test_ctrl_digits_switch_tabs_and_ctrl_f_finds_that_tabs_filter(
    harness: PanelHarness, many: InstalledSet
) -> None:
    plugin = harness.plugin
    titles = list(plugin.tab_bar.buttons) if plugin.tab_bar is not None else []
    assert len(titles) == 5
    for digit, title in zip(
        (pygame.K_2, pygame.K_4, pygame.K_5, pygame.K_1), (1, 3, 4, 0), strict=True
    ):
        press(harness, digit, CTRL)
        assert plugin.active_title == titles[title]
    # X11 sends Ctrl+1 as a key and as the text "1": the text must not reach a text field.
    harness.manager.set_focus_set(harness.view.entry)
    pygame.event.post(
        pygame.event.Event(pygame.KEYDOWN, key=pygame.K_1, mod=CTRL, unicode="1", scancode=0)
    )
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="1"))
    harness.settle(3)
    assert harness.view.entry.get_text() == ""
    assert plugin.keyboard.target is plugin.tab_bar.buttons["Models"]  # type: ignore[union-attr]
    press(harness, pygame.K_3, CTRL)
    assert plugin.active_title == "Storage"
    storage = next(a.view for a in plugin.areas if a.title == "Storage")
    listed = storage.report_filtered  # type: ignore[attr-defined]
    harness.run_until(lambda: len(listed.shown_keys) == COUNT, timeout=30)
    press(harness, pygame.K_f, CTRL)
    assert listed.entry in focused(harness)
    type_keys(harness, "phi3 latest")
    wanted = [n for n in many.names if "-phi3-" in n and n.endswith(":latest")]
    assert sorted(listed.shown_keys) == sorted(wanted)
    assert listed.count_label.text == f"{len(wanted)} of {COUNT}"
    assert harness.view.filtered.query == ""  # the Models tab's filter is its own


def test_status_bar_shows_bytes_on_disk_and_if_unshared(
    harness: PanelHarness, many: InstalledSet, models_dir: Path
) -> None:
    # On disk: the blob files themselves; unshared: every model's own size added up.
    on_disk = sum(p.stat().st_size for p in (models_dir / "blobs").iterdir())
    logical = many.model_size * COUNT
    text = f"{COUNT} models: {human_bytes(on_disk)} on disk, {human_bytes(logical)} if unshared"
    harness.run_until(lambda: harness.view.status_label.text.startswith(text))
    config = harness.plugin.resources.get(LocalModelConfig)
    assert totals_text(config.installed_models.values()) == text


def test_the_window_remembers_its_size_and_sort_order(
    models_dir: Path, many: InstalledSet, tmp_path: Path
) -> None:
    config_home = tmp_path / "config"
    state_file = config_home / "ecs_models" / "window.json"

    def window(mode: str) -> dict[str, Any]:
        out = tmp_path / f"{mode}.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
        env.update(XDG_CONFIG_HOME=str(config_home), PYTHONPATH=str(ROOT))
        command = [sys.executable, str(DRIVER), str(models_dir), str(COUNT), mode, str(out)]
        subprocess.run(command, env=env, check=True, timeout=120)
        seen: dict[str, Any] = json.loads(out.read_text())
        return seen

    assert window("change")["sort"] == {"models": "Size"}
    assert load_ui_state(state_file) == UiState((900, 640), {"models": "Size"})
    assert window("look") == {"size": [900, 640], "sort": "Size"}
    before = state_file.read_bytes()
    window("untouched")  # a run that changes nothing writes nothing
    assert state_file.read_bytes() == before

    # A damaged file means the defaults; an unknown order keeps the default order.
    state_file.write_text("{not json")
    assert load_ui_state(state_file) == UiState()
    # The default size, within the screen (SDL's dummy display is 1024 wide).
    default = window("look")
    assert default["sort"] == "Name"
    assert default["size"] == [min(WINDOW_SIZE[0], 1024), WINDOW_SIZE[1]]
    save_ui_state(state_file, UiState((900, 640), {"models": "Nonsense"}))
    assert window("look") == {"size": [900, 640], "sort": "Name"}


def test_filter_count_and_hint_fit_their_boxes_at_800_wide(
    models_dir: Path, registry: RegistryServer, many: InstalledSet
) -> None:
    panel = PanelHarness(models_dir, registry.host, size=(800, 600))
    try:
        panel.run_until(lambda: len(panel.view.models_list.item_list) == COUNT)
        listed = panel.view.filtered
        hint = listed.entry.placeholder_text
        assert text_width(listed.entry.font, hint) <= listed.entry.rect.width - 12
        press(panel, pygame.K_f, CTRL)
        press(panel, pygame.K_RETURN)
        label = listed.count_label
        assert text_width(label.font, label.text) <= label.rect.width, label.text
        assert not listed.entry.rect.colliderect(label.rect)
        assert not label.rect.colliderect(panel.view.remove_button.rect)
        assert isinstance(listed.entry, pygame_gui.elements.UITextEntryLine)
    finally:
        panel.close()


def test_remote_tab_filters_the_models_to_push_and_picks_one_by_keyboard(
    harness: PanelHarness, many: InstalledSet
) -> None:
    plugin = harness.plugin
    press(harness, pygame.K_5, CTRL)
    assert plugin.active_title == "Remote"
    remote = next(a.view for a in plugin.areas if a.title == "Remote")
    listed = remote.filtered  # type: ignore[attr-defined]
    harness.run_until(lambda: len(listed.shown_keys) == COUNT, timeout=30)
    press(harness, pygame.K_f, CTRL)
    type_keys(harness, "mistral-014")
    wanted = sorted(n for n in many.names if "-mistral-014" in n)
    assert sorted(listed.shown_keys) == wanted and len(wanted) == 2
    assert listed.count_label.text == f"2 of {COUNT}"
    press(harness, pygame.K_DOWN)
    assert remote.selected_model == listed.shown_keys[0]  # type: ignore[attr-defined]
    press(harness, pygame.K_DOWN, pygame.KMOD_LSHIFT)  # one model is pushed: Shift moves
    assert remote.selected_model == listed.shown_keys[1]  # type: ignore[attr-defined]
    assert listed.list.get_multi_selection() == [listed.list.item_list[1]["text"]]
    press(harness, pygame.K_f, CTRL)  # selects the query: typing replaces it
    type_keys(harness, "mistral-0144")  # hides the selected 0149
    assert listed.shown_keys == [n for n in wanted if "0144" in n]
    assert remote.selected_model is None  # type: ignore[attr-defined]


NOTICE_IDS = ("#ecsm_notice_info", "#ecsm_notice_error")  # one-line notices: see issue 15b


@pytest.mark.parametrize("size", [(800, 600), (900, 650), (1920, 1080)])
def test_no_text_spills_out_of_its_widget_from_800x600_to_1920x1080(
    models_dir: Path, registry: RegistryServer, many: InstalledSet, size: tuple[int, int]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = PanelHarness(models_dir, registry.host, size=size)
        try:
            panel.run_until(lambda: len(panel.view.models_list.item_list) == COUNT)
            press(panel, pygame.K_f, CTRL)
            press(panel, pygame.K_RETURN)  # a model selected: its details and Fit line show
            spilled: dict[str, list[tuple[str, int, int]]] = {}
            for digit, title in zip(
                (pygame.K_1, pygame.K_2, pygame.K_3, pygame.K_4, pygame.K_5),
                ("Models", "Discover", "Storage", "Performance", "Remote"),
                strict=True,
            ):
                press(panel, digit, CTRL)
                panel.settle(10)
                spilled[title] = spilling(panel)
                if title == "Storage":
                    storage = next(a.view for a in panel.plugin.areas if a.title == title)
                    listed = storage.report_filtered  # type: ignore[attr-defined]
                    panel.run_until(partial(all_listed, listed))
                    panel.settle(3)
                    # Every row in view keeps its health column, however narrow the list.
                    drawn = [i["button_element"] for i in listed.list.item_list]
                    handles = [h for h in drawn if h is not None]
                    assert handles and all("   not verified" in h.text for h in handles)
            assert spilled == {t: [] for t in spilled}
        finally:
            panel.close()
    assert not [w for w in caught if "too small" in str(w.message)]


def all_listed(listed: FilteredList) -> bool:
    return len(listed.shown_keys) == COUNT


def spilling(panel: PanelHarness) -> list[tuple[str, int, int]]:
    """Visible labels and buttons whose text is wider than they are: (text, needs, has)."""
    found = []
    for element in panel.manager.get_sprite_group().sprites():
        if not isinstance(element, pygame_gui.elements.UILabel | pygame_gui.elements.UIButton):
            continue
        if not element.visible or not element.text or set(element.object_ids) & set(NOTICE_IDS):
            continue
        needs = text_width(element.font, element.text)
        if needs > element.rect.width:
            found.append((element.text, needs, element.rect.width))
    return found


def test_performance_tab_filters_its_models_and_picks_one_by_keyboard(
    harness: PanelHarness, many: InstalledSet
) -> None:
    plugin = harness.plugin
    press(harness, pygame.K_4, CTRL)
    assert plugin.active_title == "Performance"
    view = next(a.view for a in plugin.areas if a.title == "Performance")
    listed = view.filtered  # type: ignore[attr-defined]
    harness.run_until(lambda: len(listed.shown_keys) == COUNT, timeout=30)
    press(harness, pygame.K_f, CTRL)
    type_keys(harness, "qwen2-014")
    wanted = sorted(n for n in many.names if "-qwen2-014" in n)
    assert sorted(listed.shown_keys) == wanted and len(wanted) == 2
    press(harness, pygame.K_DOWN)
    selection = plugin.resources.get(PerformanceSelection)
    assert selection.model_name == listed.shown_keys[0]
    press(harness, pygame.K_END)
    assert selection.model_name == listed.shown_keys[1]
