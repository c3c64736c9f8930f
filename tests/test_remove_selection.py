"""Remove removes only what the person sees: the Models list's desktop selection, driven headless
by real clicks (with Ctrl and Shift held) and keys, against models pulled from the registry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest
from lifecycle_support import pull
from panel_harness import PanelHarness
from support.model_builder import PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.components.panel import ModelManagerPanel
from ecs_models.formatting import human_bytes
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.models.view import ModelManagerView
from ecs_models.ui.widgets.selection_list import DesktopSelectionList

# Short enough that the models list scrolls: about twelve rows show at once (with no download
# listed, the list takes the downloads' room too).
SIZE = (760, 420)
COUNT = 14
CTRL = pygame.KMOD_LCTRL
SHIFT = pygame.KMOD_LSHIFT


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> list[PushedModel]:
    """COUNT small models; sel-00 and sel-01 share their GGUF blob, as two tags of one model do."""
    models = []
    for i in range(COUNT):
        seed = 500 if i < 2 else 500 + i
        models.append(push_small_model(registry, f"library/sel-{i:02d}", "v1", seed=seed))
    return models


@pytest.fixture
def panel(models_dir: Path, registry: RegistryServer, pushed: list[PushedModel]) -> Iterator[Any]:
    store = ModelStore(models_dir)
    for model in pushed:
        pull(store, model.name)
    harness = PanelHarness(models_dir, registry.host, size=SIZE)
    try:
        harness.run_until(lambda: len(harness.view.models_list.item_list) == COUNT)
        harness.settle()
        yield harness
    finally:
        pygame.key.set_mods(0)
        harness.close()


def rows(view: ModelManagerView) -> list[dict[str, Any]]:
    return view.models_list.item_list


def row_index(view: ModelManagerView, model: PushedModel) -> int:
    for index, item in enumerate(rows(view)):
        if item["text"].startswith(model.name + " "):
            return index
    raise AssertionError(f"no row for {model.name}")


def click_row(harness: PanelHarness, model: PushedModel, mods: int = 0) -> None:
    """Click a visible row with modifiers held, as SDL reports them (pygame.key.get_mods)."""
    view = harness.view
    button = rows(view)[row_index(view, model)]["button_element"]
    assert button is not None, f"{model.name} is scrolled out of view"
    pygame.key.set_mods(mods)
    try:
        harness.click(button)
    finally:
        pygame.key.set_mods(0)


def selected(harness: PanelHarness) -> set[str]:
    (_, panel), *_ = harness.query(ModelManagerPanel)
    return set(panel.selected_models)


def highlighted(view: ModelManagerView) -> set[str]:
    """Rows drawn selected right now (visible rows only: those have a row handle)."""
    return {
        item["text"].split()[0]
        for item in rows(view)
        if item["button_element"] is not None and item["button_element"].state == "selected"
    }


def names(*models: PushedModel) -> set[str]:
    return {m.name for m in models}


def open_question(harness: PanelHarness) -> str:
    harness.click(harness.view.remove_button)
    harness.run_until(lambda: harness.view.confirm.is_open, timeout=10)
    harness.settle(2)
    return harness.view.confirm.text or ""


def scroll_list_to_bottom(harness: PanelHarness) -> None:
    """Turn the mouse wheel over the list until its last row shows and its first does not."""
    view = harness.view
    pos = view.models_list.rect.center
    pygame.mouse.set_pos(pos)  # pygame_gui hovers by SDL's pointer, not by the event's pos
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=()))
    harness.settle(2)
    deadline = time.monotonic() + 10
    while rows(view)[-1]["button_element"] is None or rows(view)[0]["button_element"] is not None:
        assert time.monotonic() < deadline, "the list did not scroll"
        pygame.event.post(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=-3, flipped=False))
        harness.settle(2)
    harness.settle(3)


def test_plain_ctrl_and_shift_clicks_select_as_on_a_desktop(
    panel: PanelHarness, pushed: list[PushedModel]
) -> None:
    view = panel.view
    a, b, c, d, e = pushed[2:7]
    assert isinstance(view.models_list, DesktopSelectionList)

    buttons = [item["button_element"] for item in rows(view)]
    click_row(panel, a)
    assert selected(panel) == names(a) == highlighted(view)
    click_row(panel, b)  # a plain click moves the selection; it does not add to it
    assert selected(panel) == names(b) == highlighted(view)
    assert view.installed_label.text.endswith("1 selected")

    click_row(panel, d, CTRL)
    assert selected(panel) == names(b, d) == highlighted(view)
    assert view.installed_label.text.endswith("2 selected")
    click_row(panel, b, CTRL)  # Ctrl-click toggles a row off again
    assert selected(panel) == names(d) == highlighted(view)

    click_row(panel, d, SHIFT)  # the range from the anchor (b, the last Ctrl-clicked) to d
    assert selected(panel) == names(b, c, d) == highlighted(view)
    assert view.installed_label.text == "14 models  ·  3 selected"
    click_row(panel, e, CTRL | SHIFT)  # Ctrl+Shift adds the range b..e to what is selected
    assert selected(panel) == names(b, c, d, e) == highlighted(view)

    click_row(panel, c)  # a plain click after a multi-selection leaves one row
    assert selected(panel) == names(c) == highlighted(view)
    assert view.installed_label.text.endswith("1 selected")

    click_row(panel, c, CTRL)
    assert selected(panel) == set() == highlighted(view)
    assert view.installed_label.text == "14 models"
    # Selecting never rebuilt the list (a rebuild costs ~15 ms and makes new row buttons).
    assert [item["button_element"] for item in rows(view)] == buttons


def test_ctrl_held_in_the_same_event_batch_as_the_click_counts(
    panel: PanelHarness, pushed: list[PushedModel]
) -> None:
    """xdotool's ctrl+click arrives in one batch: Ctrl down, button down/up, Ctrl up. By the
    time pygame_gui reports the row's press, SDL says no key is held; the press still counts."""
    view = panel.view
    click_row(panel, pushed[3])
    button = rows(view)[row_index(view, pushed[5])]["button_element"]
    pos = button.rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=()))
    panel.frame()
    key: dict[str, Any] = {"key": pygame.K_LCTRL, "unicode": "", "scancode": 224}
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, mod=CTRL, **key))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.KEYUP, mod=0, **key))
    panel.settle(4)
    assert selected(panel) == names(pushed[3], pushed[5]) == highlighted(view)


def test_scrolled_away_selection_does_not_survive_a_plain_click(
    panel: PanelHarness, pushed: list[PushedModel], models_dir: Path
) -> None:
    view = panel.view
    first, second, last = pushed[0], pushed[1], pushed[-1]
    click_row(panel, first)
    click_row(panel, second, CTRL)
    assert selected(panel) == names(first, second)

    scroll_list_to_bottom(panel)
    assert rows(view)[0]["button_element"] is None  # the selected rows are out of sight
    click_row(panel, last)
    assert selected(panel) == names(last) == highlighted(view)
    assert [i["selected"] for i in rows(view)].count(True) == 1

    store = ModelStore(models_dir)
    manifest = store.resolve(last.name).manifest_path
    question = open_question(panel)
    assert question.startswith(f"Remove {last.name}? ")
    assert first.name not in question and second.name not in question
    panel.press_key(pygame.K_RETURN)
    panel.run_until(lambda: not manifest.exists(), timeout=10)
    remaining = {m.display for m in store.list_models()}
    assert remaining == names(*pushed[:-1])


def test_remove_removes_exactly_the_selected_rows_and_escape_removes_nothing(
    panel: PanelHarness, pushed: list[PushedModel], models_dir: Path
) -> None:
    view = panel.view
    store = ModelStore(models_dir)
    # sel-00 shares its GGUF with sel-01, which stays: that blob must not count as freed.
    chosen = [pushed[0], pushed[4], pushed[6]]
    click_row(panel, chosen[0])
    for model in chosen[1:]:
        click_row(panel, model, CTRL)
    plan = store.plan_removal([m.name for m in chosen])
    shared_gguf = pushed[0].blobs[0].digest
    assert shared_gguf not in {b.digest for b in plan.blobs}

    question = open_question(panel)
    assert question.startswith(
        f"Remove {chosen[0].name}, {chosen[1].name} and {chosen[2].name}? "
        f"This frees {human_bytes(plan.bytes_freed)}; "
    ), question
    assert "shared with other models stays" in question
    assert_question_sits_by_the_remove_button(view)

    panel.press_key(pygame.K_ESCAPE)
    assert not view.confirm.is_open
    panel.settle(10)
    assert {m.display for m in store.list_models()} == names(*pushed)
    assert selected(panel) == names(*chosen)  # Escape keeps the selection too

    blobs_before = {p.name for p in store.blobs_dir.iterdir()}
    manifests = [store.resolve(m.name).manifest_path for m in chosen]
    open_question(panel)
    panel.press_key(pygame.K_RETURN)
    panel.run_until(lambda: "Removed" in view.notice_label.text, timeout=10)
    assert {m.display for m in store.list_models()} == names(*pushed) - names(*chosen)
    assert not any(path.exists() for path in manifests)
    gone = blobs_before - {p.name for p in store.blobs_dir.iterdir()}
    assert gone == {b.path.name for b in plan.blobs}
    assert all(report.ok for report in store.verify([m.name for m in pushed[1:4]]))
    panel.settle(3)
    assert selected(panel) == set()
    assert not any(i["text"].startswith(tuple(names(*chosen))) for i in rows(view))


def assert_question_sits_by_the_remove_button(view: ModelManagerView) -> None:
    confirm = view.confirm
    box = confirm.panel.rect
    remove = view.remove_button.rect
    assert 0 <= box.top - remove.bottom <= 12, (box, remove)
    assert not box.colliderect(view.models_list.rect), "it hides the rows it asks about"
    assert view.rect.contains(box)
    text = confirm.text_box
    assert box.contains(text.rect) and text.scroll_bar is None  # wrapped, nothing cut off
    assert text.rect.height > 2 * 20  # more than one line: it wraps
    assert box.contains(confirm.yes.rect) and box.contains(confirm.no.rect)
    assert not confirm.yes.rect.colliderect(text.rect)


def test_many_selected_are_counted_and_clicking_another_row_withdraws_the_question(
    panel: PanelHarness, pushed: list[PushedModel], models_dir: Path
) -> None:
    view = panel.view
    click_row(panel, pushed[2])
    click_row(panel, pushed[7], SHIFT)
    assert len(selected(panel)) == 6
    question = open_question(panel)
    assert question.startswith(f"Remove 6 models ({pushed[2].name}, {pushed[3].name} and 4 more)?")

    click_row(panel, pushed[4])  # the highlighted rows changed: the question goes
    assert not view.confirm.is_open
    panel.settle(5)
    assert not view.confirm.is_open
    assert len(ModelStore(models_dir).list_models()) == COUNT

    question = open_question(panel)  # and Remove asks about the row now highlighted
    assert question.startswith(f"Remove {pushed[4].name}? ")
    # The window grows (as the app handles VIDEORESIZE): the question follows its button.
    panel.screen = pygame.display.set_mode((1000, 700))
    panel.manager.set_window_resolution((1000, 700))
    panel.plugin.resize(pygame.Rect(0, 0, 1000, 700))
    panel.settle(2)
    assert view.confirm.text == question
    assert_question_sits_by_the_remove_button(view)
    assert view.confirm.no is not None
    panel.click(view.confirm.no)
    assert not view.confirm.is_open
    assert len(ModelStore(models_dir).list_models()) == COUNT


def test_enter_in_the_name_entry_installs_and_never_answers_the_question(
    panel: PanelHarness, pushed: list[PushedModel], models_dir: Path
) -> None:
    view = panel.view
    click_row(panel, pushed[5])
    open_question(panel)
    assert not view.entry.is_focused  # the question took the keyboard
    panel.manager.set_focus_set(view.entry)  # the person clicks back into the entry
    panel.press_key(pygame.K_RETURN)
    panel.settle(10)
    assert view.confirm.is_open
    assert len(ModelStore(models_dir).list_models()) == COUNT
