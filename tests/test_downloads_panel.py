"""The downloads list driven headless with real clicks, against real pulls and real faults:
pause and resume from the partial, discard it, unfinished downloads found at start-up, a
refused registry failing fast in plain words, retries shown while the registry is down, and
the message history."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import esper
import pygame
import pygame_gui
import pytest
from panel_harness import PanelHarness
from support.faults import CuttingProxy
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.config import ResourceLimits
from ecs_models.app.plugin import ModelManagementPlugin
from ecs_models.app.schedule import entered_world
from ecs_models.app.window import WindowLoop
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.notice import NoticeLog
from ecs_models.formatting import human_bytes
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.partial import load_parts
from ecs_models.transfer.progress import PullState
from ecs_models.transfer.unfinished import PULLS_DIR
from ecs_models.ui.core.layout import ROW
from ecs_models.ui.widgets.downloads import DownloadRowView, DownloadsList
from ecs_models.ui.widgets.elide import elide_name


def _tasks(h: PanelHarness) -> list[ModelInstallationTask]:
    return [task for _, task in sorted(h.query(ModelInstallationTask), key=lambda p: p[0])]


def _installed(h: PanelHarness) -> set[str]:
    return {entry.metadata.name for _, entry in h.query(InstalledModelEntry)}


def _log(h: PanelHarness) -> list[str]:
    return [entry.text for entry in h.plugin.resources.get(NoticeLog).entries]


def _short(model: PushedModel) -> str:
    return f"{model.repository}:{model.tag}"


def _partial_files(models_dir: Path) -> list[Path]:
    return sorted(p for p in (models_dir / "blobs").iterdir() if "-partial" in p.name)


def _saved(store: ModelStore, model: PushedModel) -> int:
    """Bytes of the model blob the partial's state says are on disk."""
    layer = model.layer("model")
    parts = load_parts(store.partial_path(layer.digest), layer.size)
    assert parts is not None, "no resumable partial state"
    return sum(p.completed for p in parts)


def _closed_port() -> int:
    """A loopback port nothing listens on (just bound and released): connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def slow_link(registry: RegistryServer) -> Iterator[CuttingProxy]:
    """The session registry behind a 6 MiB/s link that counts the bytes it delivers."""
    with CuttingProxy(registry, rate=6 * MIB) as link:
        yield link


@pytest.fixture
def h(models_dir: Path, slow_link: CuttingProxy) -> Iterator[PanelHarness]:
    """The panel, pulling through the slow link by default."""
    harness = PanelHarness(models_dir, slow_link.host)
    try:
        harness.settle()
        yield harness
    finally:
        harness.close()


def _start_and_pause(h: PanelHarness, model: PushedModel, low: float = 0.2) -> None:
    """Type the name, press Enter, and click Pause once some of it is on disk."""
    h.type_text(_short(model))
    h.press_enter()

    def agreeing_until_low() -> bool:
        # Every frame, the percent on the bar is the bar's own fill (one reading for both).
        bar = h.view.downloads.rows[0].bar
        if bar.caption[:1].isdigit():
            percent = int(bar.caption.split(" %")[0])
            assert abs(percent - bar.percent_full * 100) < 1.5, (bar.caption, bar.percent_full)
        return low < _tasks(h)[0].fraction < 0.8

    h.run_until(agreeing_until_low, timeout=30)
    h.click(h.download_button(0, "Pause"))
    h.run_until(lambda: _tasks(h)[0].state is PullState.CANCELLED, timeout=20)
    h.settle()


def test_pause_then_resume_fetches_only_the_rest(
    h: PanelHarness,
    models_dir: Path,
    registry: RegistryServer,
    slow_link: CuttingProxy,
    unique_repo: str,
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=61)
    _start_and_pause(h, model)
    row = h.view.downloads.rows[0]
    assert row.actions == ("Resume", "Discard", "Dismiss")
    assert row.bar.caption.startswith("paused · ")
    saved = _saved(ModelStore(models_dir), model)
    assert 0 < saved < model.layer("model").size

    slow_link.set_rate(None)
    slow_link.wait_idle()  # the paused pull's connections are gone
    slow_link.reset_counters()
    h.click(h.download_button(0, "Resume"))
    assert h.view.downloads.rows[0].actions == ("Pause",)
    h.run_until(lambda: f"{slow_link.host}/{_short(model)}" in _installed(h), timeout=60)
    remainder = model.total_size - saved
    # Only what the paused pull had not saved crossed the link again.
    assert remainder <= slow_link.bytes_to_client <= remainder + 2 * MIB
    assert _partial_files(models_dir) == []


def test_discard_says_what_it_frees_and_deletes_the_partial(
    h: PanelHarness,
    models_dir: Path,
    registry: RegistryServer,
    slow_link: CuttingProxy,
    unique_repo: str,
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=62)
    _start_and_pause(h, model)
    records = list((models_dir / ".ecs-models" / PULLS_DIR).glob("*.json"))
    assert _partial_files(models_dir) and records
    # What the disk gets back: the blocks of the partial data, its state files and the record.
    allocated = sum(p.stat().st_blocks * 512 for p in [*_partial_files(models_dir), *records])

    h.click(h.download_button(0, "Discard"))
    h.run_until(lambda: h.view.discard_confirm.is_open, timeout=10)
    question = h.view.discard_confirm.text or ""
    assert question.startswith(f"Discard the partial download of {slow_link.host}")
    assert f"This deletes {human_bytes(allocated)};" in question, question
    assert "installing it again starts over" in question
    assert _partial_files(models_dir), "nothing is deleted before the answer"

    h.click(h.view.discard_confirm.yes)
    h.run_until(lambda: not _tasks(h), timeout=10)
    h.settle()
    assert _partial_files(models_dir) == []
    assert not list((models_dir / ".ecs-models" / PULLS_DIR).glob("*.json"))
    freed = f"{human_bytes(allocated)} freed."
    assert any(
        t.startswith("Discarded the partial download") and t.endswith(freed) for t in _log(h)
    )
    assert h.view.downloads.rows == []
    assert h.view.layout.downloads.height == 0  # the empty list gives its room away


def test_start_up_lists_unfinished_downloads_as_paused(
    models_dir: Path, registry: RegistryServer, slow_link: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=63)
    first = PanelHarness(models_dir, slow_link.host)
    try:
        first.settle()
        _start_and_pause(first, model)
    finally:
        first.close()
    saved = _saved(ModelStore(models_dir), model)

    # Started again: the download is listed by its name, paused, with what is already here.
    second = PanelHarness(models_dir, slow_link.host)
    try:
        second.run_until(lambda: len(second.view.downloads.rows) == 1, timeout=20)
        second.settle()
        task = _tasks(second)[0]
        assert task.state is PullState.CANCELLED and task.from_disk
        assert task.model_name == f"{slow_link.host}/{_short(model)}"
        assert task.bytes_done >= saved
        row = second.view.downloads.rows[0]
        assert row.actions == ("Resume", "Discard", "Dismiss")
        assert row.bar.caption.startswith("paused · "), row.bar.caption
        assert "Found unfinished on disk" in (row.bar.tool_tip_text or "")
    finally:
        second.close()

    # Without its record no name is known: the partial is offered only as bytes to reclaim.
    for record in (models_dir / ".ecs-models" / PULLS_DIR).glob("*.json"):
        record.unlink()
    third = PanelHarness(models_dir, slow_link.host)
    try:
        third.run_until(lambda: len(third.view.downloads.rows) == 1, timeout=20)
        third.settle()
        row = third.view.downloads.rows[0]
        assert row.actions == ("Discard", "Dismiss")
        assert "no model names it" in row.bar.caption
        assert "Discard deletes it" in (row.bar.tool_tip_text or "")
        third.click(third.download_button(0, "Discard"))
        third.run_until(lambda: third.view.discard_confirm.is_open, timeout=10)
        third.click(third.view.discard_confirm.yes)
        third.run_until(lambda: not _tasks(third), timeout=10)
        assert _partial_files(models_dir) == []
    finally:
        third.close()


def test_a_refused_registry_fails_in_seconds_in_plain_words(
    models_dir: Path, registry: RegistryServer
) -> None:
    port = _closed_port()
    typed = f"127.0.0.1:{port}/some-team/a-long-model-name-to-shorten:q4_K_M-instruct"
    h = PanelHarness(models_dir, registry.host, size=(1400, 800))
    try:
        h.settle()
        h.type_text(typed)
        started = time.monotonic()
        h.press_enter()
        assert h.view.entry.get_text() == ""  # accepted: the entry is free for the next name
        h.run_until(lambda: _tasks(h)[0].state is PullState.FAILED, timeout=30)
        assert time.monotonic() - started < 10  # refused: one quick retry, then the answer
        h.settle()
        sentence = f"Can't connect to 127.0.0.1:{port} — is the registry running?"
        assert _tasks(h)[0].error == sentence
        assert h.view.entry.get_text() == typed  # no retyping after a failure
        row = h.view.downloads.rows[0]
        assert row.actions == ("Retry", "Dismiss")
        assert sentence in row.bar.caption
        # Shortened in its middle, keeping where it comes from and its tag; whole on hover.
        shown = row.name_label.text
        assert shown.startswith(f"127.0.0.1:{port}…/") and shown.endswith(":q4_K_M-instruct")
        assert row.name_label.tool_tip_text == typed
        assert any(sentence in text for text in _log(h))

        # A second notice does not overwrite the first: the history keeps both.
        h.view.entry.set_text("")
        h.type_text("bad name!")
        h.press_enter()
        log = _log(h)
        assert len(log) >= 2 and any(sentence in text for text in log)
        h.click(h.plugin.messages.button)
        assert h.plugin.messages.is_open
        shown = h.plugin.messages.text_box.html_text
        assert "is the registry running?" in shown and "Messages (" in h.plugin.messages.button.text
        h.click(h.plugin.messages.close_button)
        assert not h.plugin.messages.is_open
    finally:
        h.close()


def test_registry_killed_mid_pull_shows_retries_then_completes(
    models_dir: Path, fresh_registry: RegistryServer
) -> None:
    model = push_small_model(fresh_registry, "library/killed", "v1", gguf_size=24 * MIB, seed=64)
    h = PanelHarness(models_dir, fresh_registry.host, limits=ResourceLimits(bandwidth_cap=4e6))
    try:
        h.settle()
        h.type_text(_short(model))
        h.press_enter()
        h.run_until(lambda: _tasks(h)[0].fraction > 0.15, timeout=30)
        fresh_registry.kill()
        row = h.view.downloads.rows[0]
        h.run_until(lambda: "retrying " in row.bar.caption, timeout=30)
        caption = row.bar.caption
        # "38 % · retrying 1/6 in 2 s (nothing is listening there ...)": the bar and its text agree.
        percent = int(caption.split(" % ")[0])
        assert abs(percent - row.bar.percent_full * 100) <= 1, (caption, row.bar.percent_full)
        assert "/" in caption.split("retrying ")[1]
        fresh_registry.restart()
        h.run_until(lambda: model.name in _installed(h), timeout=90)
    finally:
        h.close()


def test_clear_finished_keeps_paused_downloads(
    h: PanelHarness,
    models_dir: Path,
    registry: RegistryServer,
    slow_link: CuttingProxy,
    unique_repo: str,
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=65)
    _start_and_pause(h, model)
    h.view.entry.set_text("")
    h.type_text(f"127.0.0.1:{_closed_port()}/library/gone:1")
    h.press_enter()
    h.run_until(lambda: _tasks(h)[-1].state is PullState.FAILED, timeout=30)
    h.settle()
    assert len(h.view.downloads.rows) == 2
    assert "1 paused" in h.view.downloads.title_label.text
    assert "1 failed" in h.view.downloads.title_label.text
    h.click(h.view.downloads.clear_button)
    h.settle()  # the request is carried out in the frame after the click's
    assert [t.state for t in _tasks(h)] == [PullState.CANCELLED]
    assert len(h.view.downloads.rows) == 1
    assert not h.view.downloads.clear_button.is_enabled

    # Installing the paused name again resumes its row; no second row appears.
    h.view.entry.set_text("")
    h.type_text(_short(model))
    h.press_enter()
    assert len(_tasks(h)) == 1 and not _tasks(h)[0].state.finished
    assert h.view.downloads.rows[0].actions == ("Pause",)


def test_closing_the_window_while_downloading_asks_first(
    models_dir: Path, registry: RegistryServer, slow_link: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=66)
    pygame.display.init()
    pygame.font.init()
    size = (1000, 700)
    screen = pygame.display.set_mode(size)
    manager = pygame_gui.UIManager(size)
    plugin = ModelManagementPlugin(
        manager,
        pygame.Rect((0, 0), size),
        models_dir=models_dir,
        registry=slow_link.host,
        insecure=True,
        paint_background=False,
    )
    window = WindowLoop(screen, manager, plugin)

    def frames(count: int = 4) -> None:
        for _ in range(count):
            window.frame()

    def click(element: object) -> None:
        pos = element.rect.center  # type: ignore[attr-defined]
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=()))
        frames(1)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
        frames()

    try:
        frames()
        manager.set_focus_set(plugin.view.entry)
        for char in _short(model):
            pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
        frames(2)
        for kind in (pygame.KEYDOWN, pygame.KEYUP):
            pygame.event.post(pygame.event.Event(kind, key=pygame.K_RETURN, mod=0, unicode="\r"))

        def downloaded() -> int:
            with entered_world(plugin.world_name):
                return sum(t.bytes_done for _, t in esper.get_component(ModelInstallationTask))

        deadline = time.monotonic() + 20
        while downloaded() < 2 * MIB:  # some of it on disk, so there is a partial to keep
            assert time.monotonic() < deadline
            frames(1)

        pygame.event.post(pygame.event.Event(pygame.QUIT))
        frames()
        assert not window.closed and plugin.asking_to_close
        question = plugin.quit_question
        assert (question.text or "").startswith("1 download is still running. Quit anyway?")
        click(question.no)  # Keep: the download goes on
        assert not window.closed and not plugin.asking_to_close and plugin.busy() == 1

        pygame.event.post(pygame.event.Event(pygame.QUIT))
        frames()
        click(question.yes)
        assert window.closed
    finally:
        plugin.close()
        pygame.display.quit()
    # Closing stopped the pull, which stays resumable from its partial.
    assert _saved(ModelStore(models_dir), model) > 0


def test_names_are_shortened_in_the_middle_keeping_host_and_tag() -> None:
    pygame.font.init()
    font = pygame.font.Font(None, 18)

    def measure(text: str) -> int:
        return int(font.size(text)[0])

    name = "registry.example.com:5000/some-team/a-very-long-model-name:q4_K_M-instruct"
    assert elide_name(name, measure(name), measure) == name
    host_kept = "registry.example.com:5000…/a-very-long-model-name:q4_K_M-instruct"
    # First the namespace goes: where it comes from and what it is both stay.
    assert elide_name(name, measure(host_kept), measure) == host_kept
    # Then the model's middle: the tag is never cut before it.
    tighter = elide_name(name, measure(host_kept) - 30, measure)
    assert tighter.startswith("registry.example.com:5000…/a-") and tighter.endswith(
        "-name:q4_K_M-instruct"
    )
    assert tighter.count("…") == 2 and measure(tighter) <= measure(host_kept) - 30
    tiny = elide_name(name, measure(":q4_K_M-instruct") + 20, measure)
    assert measure(tiny) <= measure(":q4_K_M-instruct") + 20 and "…" in tiny


def test_a_list_that_shrinks_to_fit_shows_its_first_row_whole() -> None:
    """Scrolled down to a second download, then the first one goes: the one left must not stay
    scrolled half out of sight (as it did at 800x600)."""
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((800, 600))
    try:
        manager = pygame_gui.UIManager((800, 600))
        rect = pygame.Rect(10, 10, 700, 26 + ROW)  # the title line and one row's room
        box = pygame_gui.elements.UIPanel(pygame.Rect(0, 0, 800, 600), manager=manager)
        downloads = DownloadsList(manager, box, rect)

        def views(count: int) -> list[DownloadRowView]:
            return [DownloadRowView(i + 1, f"m{i}", 0.5, "50 %", ("Pause",)) for i in range(count)]

        downloads.show(views(2))
        downloads.scroll_to(1)
        for _ in range(3):
            manager.update(0.05)  # the container follows its scroll bar on update
        scrolled = downloads.rows[0].name_label.rect.top
        assert scrolled < downloads.scroller.rect.top  # the first row is scrolled out of view
        downloads.show(views(1))
        for _ in range(3):
            manager.update(0.05)
        assert downloads.rows[0].name_label.rect.top == downloads.scroller.rect.top
    finally:
        pygame.display.quit()


# The window run as `python -m ecs_models` runs it, with one download started through its world;
# once some of it is on disk, the process is sent SIGTERM.
_TERMINATED_WINDOW = """
import os, signal, sys
import esper
from ecs_models.app.schedule import entered_world
from ecs_models.app.window import run_window
from ecs_models.components.installation import ModelInstallationTask, ModelInstallRequest

sent = []

def on_frame(plugin):
    with entered_world(plugin.world_name):
        if not esper.get_component(ModelInstallRequest) and not plugin.busy():
            esper.create_entity(ModelInstallRequest(sys.argv[3], insecure=True))
        tasks = [task for _, task in esper.get_component(ModelInstallationTask)]
    if any(task.bytes_done > 2 << 20 for task in tasks) and plugin.busy() and not sent:
        sent.append(True)  # once: a second close would answer the question
        os.kill(os.getpid(), signal.SIGTERM)
    return False

sys.exit(run_window(models_dir=sys.argv[1], registry=sys.argv[2], insecure=True, on_frame=on_frame))
"""


def test_sigterm_ends_the_window_while_a_download_runs(
    models_dir: Path, registry: RegistryServer, slow_link: CuttingProxy, unique_repo: str
) -> None:
    model = push_small_model(registry, unique_repo, "big", gguf_size=32 * MIB, seed=67)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    env["SDL_VIDEODRIVER"] = "dummy"
    child = subprocess.run(
        [sys.executable, "-c", _TERMINATED_WINDOW, str(models_dir), slow_link.host, _short(model)],
        env=env,
        timeout=40,
        capture_output=True,
        text=True,
    )
    # Not held open by the close question: ended, and its download stays resumable.
    assert child.returncode == 0, child.stderr
    assert _saved(ModelStore(models_dir), model) > 0
    assert list((models_dir / ".ecs-models" / PULLS_DIR).glob("*.json"))
