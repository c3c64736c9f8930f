"""The Remote tab driven like a person would: push, mirror, and Ollama hosts, on real servers."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest
from panel_harness import PanelHarness
from support.model_builder import (
    MIB,
    BuiltModel,
    GGUFFactory,
    build_model,
    install_model,
    push_small_model,
    small_model_layers,
)
from support.registry_server import RegistryServer

from ecs_models.components.remote import RemoteTransfer
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.progress import PullState
from ecs_models.transfer.pull import pull_model
from ecs_models.ui.remote.view import RECENT_PROMPT, RemoteView

LOCAL = "registry.ollama.ai/library/remote-area:v1"
PROGRESS_CAPTION = r"^\d{1,3} % \d+\.\d MB/s (\d+:\d\d(:\d\d)?|--:--)$"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hosts.json and the recent destinations live here; the list starts empty."""
    directory = tmp_path / "config"
    (directory / "ecs_models").mkdir(parents=True)
    (directory / "ecs_models" / "hosts.json").write_text("[]")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(directory))
    return directory / "ecs_models"


@pytest.fixture
def registry_b() -> Iterator[RegistryServer]:
    server = RegistryServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def installed(models_dir: Path, gguf_factory: GGUFFactory) -> BuiltModel:
    # 40 MiB so the push spans many frames and the bar can be seen moving.
    built = build_model(small_model_layers(gguf_factory(tensor_bytes=40 * MIB, seed=77)))
    name = parse_model_name(LOCAL)
    install_model(models_dir, built, host=name.host, repository=name.repository, tag=name.tag)
    return built


@pytest.fixture
def panel(models_dir: Path, registry: RegistryServer, config_dir: Path) -> Iterator[PanelHarness]:
    harness = PanelHarness(models_dir, registry.host)
    try:
        harness.settle()
        yield harness
    finally:
        harness.close()


def remote_view(harness: PanelHarness) -> RemoteView:
    (area,) = [a for a in harness.plugin.areas if a.title == "Remote"]
    assert isinstance(area.view, RemoteView)
    return area.view


def open_remote(harness: PanelHarness) -> RemoteView:
    harness.click(harness.plugin.tab_bar.buttons["Remote"])  # type: ignore[union-attr]
    return remote_view(harness)


def saved_hosts(config_dir: Path) -> Any:
    """hosts.json's content, or None while it is not (completely) written yet."""
    try:
        return json.loads((config_dir / "hosts.json").read_text())
    except (OSError, ValueError):
        return None


def type_into(harness: PanelHarness, entry: Any, text: str) -> None:
    harness.click(entry)
    for char in text:
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
    harness.settle(2)
    assert entry.get_text() == text


def pick_option(harness: PanelHarness, menu: Any, text: str) -> None:
    """Open a drop-down and click one of its options, as a person would."""
    harness.click(menu.current_state.selected_option_button)
    harness.click_item(menu.current_state.options_selection_list, text)
    harness.settle(2)  # button press -> list selection -> menu change: one frame each


def transfers(harness: PanelHarness) -> list[RemoteTransfer]:
    return [t for _, t in harness.query(RemoteTransfer)]


def run_transfer(harness: PanelHarness, timeout: float = 60) -> tuple[list[float], set[str]]:
    """Frames until the one transfer ends; the bar fractions and captions seen meanwhile."""
    view = remote_view(harness)
    fractions: list[float] = []
    captions: set[str] = set()

    def finished() -> bool:
        if view.rows:
            fractions.append(view.rows[0].bar.percent_full)
            captions.add(view.rows[0].bar.caption)
        return bool(transfers(harness)) and transfers(harness)[0].state.finished

    harness.run_until(finished, timeout=timeout)
    harness.settle(3)
    return fractions, captions


def test_remote_tab_shows_its_view_and_hides_models_and_back(panel: PanelHarness) -> None:
    view = remote_view(panel)
    assert not view.visible and panel.view.visible
    open_remote(panel)
    assert view.visible and not panel.view.visible
    assert panel.plugin.tab_bar is not None and panel.plugin.tab_bar.selected == "Remote"
    panel.click(panel.plugin.tab_bar.buttons["Models"])
    assert panel.view.visible and not view.visible


def test_push_an_installed_model_with_progress_then_pull_it_back(
    installed: BuiltModel,  # before the panel, whose first scan finds it
    panel: PanelHarness,
    registry_b: RegistryServer,
    tmp_path: Path,
    config_dir: Path,
    unique_repo: str,
) -> None:
    view = open_remote(panel)
    panel.run_until(lambda: len(view.models_list.item_list) == 1)
    panel.click_item(view.models_list, "remote-area:v1")
    dest = f"{registry_b.host}/{unique_repo}:pushed"
    type_into(panel, view.dest_entry, dest)
    panel.click(view.push_button)

    fractions, captions = run_transfer(panel)

    (transfer,) = transfers(panel)
    assert transfer.state is PullState.DONE, transfer.error
    assert any(re.match(PROGRESS_CAPTION, c) for c in captions), captions
    assert view.rows[0].bar.percent_full == 1.0
    assert fractions == sorted(fractions), "the bar went backwards"
    assert view.result_label.text.startswith(
        f"Pushed remote-area:v1 to {dest}: {len(installed.blobs)} blobs uploaded"
    )
    # The destination is remembered in the config dir and offered in the picker.
    assert json.loads((config_dir / "recent-destinations.json").read_text()) == [dest]
    assert [o[0] for o in view.recent_menu.options_list] == [RECENT_PROMPT, dest]

    # Pulled back from registry B into an empty store, it is the same model.
    other = ModelStore(tmp_path / "other")
    with RegistryClient(insecure=True) as client:
        pulled = pull_model(dest, other, registry=client)
    assert pulled.id == installed.id
    assert pulled.manifest.raw == installed.manifest_bytes

    # Dismiss removes the finished row.
    panel.click(view.rows[0].buttons[0])
    panel.run_until(lambda: not transfers(panel) and not view.rows)


@pytest.fixture
def recent_b(config_dir: Path, registry_b: RegistryServer) -> str:
    """Registry B as a destination used before, saved where the panel reads it at start."""
    dest = f"{registry_b.host}/"
    (config_dir / "recent-destinations.json").write_text(json.dumps([dest, "old.example.com/"]))
    return dest


def test_pick_a_recent_destination_and_mirror_a_model_that_is_not_installed(
    recent_b: str,
    panel: PanelHarness,
    registry: RegistryServer,
    registry_b: RegistryServer,
    models_dir: Path,
    unique_repo: str,
) -> None:
    source = push_small_model(registry, unique_repo, "v2", gguf_size=2 * MIB, seed=78)
    view = open_remote(panel)

    # The drop-down of recent destinations fills the destination entry.
    pick_option(panel, view.recent_menu, recent_b)
    assert view.dest_entry.get_text() == recent_b

    type_into(panel, view.mirror_entry, f"{registry.host}/{unique_repo}:v2")
    panel.click(view.mirror_button)
    run_transfer(panel)

    (transfer,) = transfers(panel)
    assert transfer.state is PullState.DONE, transfer.error
    text = view.result_label.text
    assert text.startswith(f"Mirrored {registry.host}/{unique_repo}:v2 to ")
    assert f"{len(source.blobs)} blobs uploaded" in text
    with RegistryClient(insecure=True) as client:
        mirrored = client.get_manifest(parse_model_name(f"{registry_b.host}/{unique_repo}:v2"))
    assert mirrored == source.manifest_bytes  # byte for byte
    assert ModelStore(models_dir).list_models() == []  # nothing was stored locally
    blobs = models_dir / "blobs"
    assert not blobs.exists() or not any(blobs.iterdir())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_hosts_are_shown_without_stalling_frames(
    panel: PanelHarness, config_dir: Path
) -> None:
    view = open_remote(panel)
    # A silent host: it accepts connections (the backlog does) and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        refused_url = f"http://127.0.0.1:{closed_port()}"
        for url in (silent_url, refused_url):
            type_into(panel, view.address_entry, url.removeprefix("http://"))
            panel.click(view.add_host_button)
        # The hosts file is written off the UI thread: wait for both to be saved.
        panel.run_until(lambda: saved_hosts(config_dir) == [silent_url, refused_url], timeout=5)

        def header(url: str) -> str:
            for card in view.cards:
                if card.lines[0].startswith(url + " "):
                    return card.lines[0]
            return ""

        panel.frame_times.clear()
        started = time.monotonic()
        panel.run_until(lambda: header(refused_url).endswith("not reachable"), timeout=2.0)
        # The refused host is known while the silent one is still being waited for.
        assert header(silent_url).endswith("checking…")
        assert view.cards[1].kind == "down"
        panel.run_until(lambda: header(silent_url).endswith("not reachable"), timeout=8.0)
        assert time.monotonic() - started >= 2.0  # it was waited for, and frames went on
        assert len(panel.frame_times) > 50
        assert max(panel.frame_times) < 0.1, max(panel.frame_times)
    finally:
        silent.close()

    # Remove the refused host by its own row's button, whatever the host menu shows (the
    # first host, by default): the question under that button names it; Escape keeps it.
    assert view.selected_host == silent_url
    card = next(c for c in view.cards if c.url == refused_url)
    panel.click(card.remove_button)
    assert view.confirm.is_open
    assert view.confirm.text == (
        f"Remove {refused_url} from the hosts list? Its models stay on that host."
    )
    box = view.confirm.panel.rect
    assert 0 <= box.top - card.remove_button.rect.bottom <= 8 and view.rect.contains(box)
    assert box.right == card.remove_button.rect.right
    panel.press_key(pygame.K_ESCAPE)
    assert not view.confirm.is_open
    panel.settle(5)
    assert json.loads((config_dir / "hosts.json").read_text()) == [silent_url, refused_url]

    panel.click(card.remove_button)
    panel.press_key(pygame.K_RETURN)
    panel.run_until(lambda: json.loads((config_dir / "hosts.json").read_text()) == [silent_url])
    panel.run_until(lambda: len(view.cards) == 1)
    assert view.cards[0].url == silent_url and not view.confirm.is_open


def test_screenshot_shows_the_hosts_rows_in_colour(panel: PanelHarness, tmp_path: Path) -> None:
    view = open_remote(panel)
    type_into(panel, view.address_entry, f"127.0.0.1:{closed_port()}")
    panel.click(view.add_host_button)
    panel.run_until(lambda: bool(view.cards) and view.cards[0].kind == "down", timeout=5)
    panel.settle(3)
    shot = tmp_path / "remote.png"
    pygame.image.save(panel.screen, shot)
    image = pygame.image.load(shot)
    header = view.cards[0].header.rect
    reds = [
        image.get_at((x, y))
        for x in range(header.left, header.left + 200)
        for y in range(header.top, header.bottom)
    ]
    # The "not reachable" line is drawn in the error colour (#ff7b72).
    assert any(c.r > 200 and c.g < 160 and c.b < 150 for c in reds)
    # ... and never in the reachable colour (#9fd3a8).
    assert not any(c.g > 190 and c.r < 180 for c in reds)
    assert view.cards[0].lines[1].startswith("No Ollama daemon answers at http://127.0.0.1:")
