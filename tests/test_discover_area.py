"""The Discover tab driven headless: search the shipped snapshot, filter, see tags, install from a
private registry's catalog, and check, update and pin against the real registry fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest
from panel_harness import PanelHarness
from support.faults import CuttingProxy
from support.model_builder import (
    MIB,
    PushedModel,
    cached_gguf,
    gguf_layer,
    json_layer,
    push_model,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.components.discover import DiscoverData, DiscoverJob, DiscoverMode, JobKind
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.components.model import InstalledModelEntry
from ecs_models.formatting import human_bytes
from ecs_models.gguf.fit import fit_remote
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.history import history, pinned_models
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.discover.view import DiscoverView

# Nothing listens on port 9: "ollama.com" fails at once, as it does on a machine offline.
UNREACHABLE_WEB = "http://127.0.0.1:9"


@pytest.fixture
def offline_web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty catalog cache of the test's own, and an ollama.com that cannot be reached."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("ECS_MODELS_CATALOG_URL", UNREACHABLE_WEB)
    return cache


@pytest.fixture
def panel(offline_web: Path, models_dir: Path, registry: RegistryServer) -> Iterator[PanelHarness]:
    harness = PanelHarness(models_dir, registry.host)
    try:
        harness.settle()
        yield harness
    finally:
        harness.close()


def discover_view(h: PanelHarness) -> DiscoverView:
    for area in h.plugin.areas:
        if area.title == "Discover":
            assert isinstance(area.view, DiscoverView)
            return area.view
    raise AssertionError("no Discover tab")


def data_of(h: PanelHarness) -> DiscoverData:
    return h.plugin.resources.get(DiscoverData)


def open_discover(h: PanelHarness) -> DiscoverView:
    assert h.plugin.tab_bar is not None
    h.click(h.plugin.tab_bar.buttons["Discover"])
    view = discover_view(h)
    h.run_until(lambda: data_of(h).catalog is not None, timeout=30)
    h.settle()
    return view


def type_into(h: PanelHarness, entry: Any, text: str) -> None:
    """Focus the entry, as a click into it would, and type key by key, a frame per key."""
    h.manager.set_focus_set(entry)
    for char in text:
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=char))
        h.frame()
    h.settle(2)


def click_row(h: PanelHarness, rows: Any, key: str) -> None:
    button = rows.item_button(key)
    assert button is not None, f"no visible row for {key!r} in {rows.texts[:5]}"
    h.click(button)


def result_names(view: DiscoverView) -> list[str]:
    return [view.results._keys[t] for t in view.results.texts]


def installed(h: PanelHarness) -> set[str]:
    return {e.metadata.display for _, e in h.query(InstalledModelEntry)}


def tasks(h: PanelHarness) -> list[ModelInstallationTask]:
    return [t for _, t in h.query(ModelInstallationTask)]


# -- browsing the shipped snapshot -------------------------------------------------------------


def test_switching_tabs_shows_discover_and_hides_models(panel: PanelHarness) -> None:
    view = discover_view(panel)
    assert not view.visible and panel.view.visible
    open_discover(panel)
    assert view.visible and not panel.view.visible
    assert view.entry.visible and view.results.widget.visible
    # Browse mode: Update buttons stay hidden even though showing a panel shows its children.
    assert not view.update_buttons[0].visible and view.install_button.visible
    assert panel.plugin.tab_bar is not None
    panel.click(panel.plugin.tab_bar.buttons["Models"])
    assert panel.view.visible and not view.visible and not view.entry.visible


def test_misspelt_query_finds_the_model_offline_from_the_snapshot(panel: PanelHarness) -> None:
    view = open_discover(panel)
    # ollama.com is unreachable and the cache empty: the shipped snapshot, and the UI says so.
    origin = view.origin_label.text
    assert "offline snapshot from 2026-08-21" in origin and "ollama.com" in origin
    assert len(result_names(view)) > 20
    type_into(panel, view.entry, "mistrall")
    assert result_names(view)[0] == "mistral"
    first = view.results.texts[0]
    assert first.startswith("mistral") and "GB" in first and "pulls" in first
    view.entry.set_text("")
    type_into(panel, view.entry, "lama3.1")
    assert result_names(view)[0] == "llama3.1"


def test_category_and_size_chips_filter_the_results(panel: PanelHarness) -> None:
    view = open_discover(panel)
    panel.click(view.category_chips["embedding"])
    names = result_names(view)
    assert names and "nomic-embed-text" in names[:5]
    assert "llama3.1" not in names
    catalog = data_of(panel).catalog
    assert catalog is not None
    by_name = {e.name: e for e in catalog.result.entries}
    assert all("embedding" in by_name[n].capabilities or "embed" in n for n in names)
    # The same chip again clears the filter; a size chip narrows to builds of that size.
    panel.click(view.category_chips["embedding"])
    assert "llama3.1" in result_names(view)
    panel.click(view.category_chips["code"])
    panel.click(view.size_chips["large"])
    large = result_names(view)
    assert large and all(
        any(t.size and t.size > 16 * 10**9 for t in by_name[n].tags) for n in large
    )


def test_selecting_a_result_lists_its_tags_with_sizes_and_fit(panel: PanelHarness) -> None:
    view = open_discover(panel)
    type_into(panel, view.entry, "llama3.1")
    click_row(panel, view.results, "llama3.1")
    panel.run_until(lambda: len(view.tags.texts) > 10, timeout=20)
    panel.settle()
    rows = {row.split()[0]: row for row in view.tags.texts}
    assert "latest" in rows and "70b" in rows
    assert "4.9 GB" in rows["latest"] or "4.6 GB" in rows["latest"]
    assert any(word in rows["latest"] for word in ("fits", "tight", "too large"))
    assert "too large" in rows["405b"]  # 243 GB never fits a test machine
    assert "llama3.1" in view.detail_labels[0].text
    assert view.install_button.text == "Install llama3.1:latest"
    click_row(panel, view.tags, "70b")
    assert view.install_button.text == "Install llama3.1:70b"
    assert any("70b" in label.text for label in view.detail_labels)
    # ollama.com's registry is unreachable here: the size-based estimate stays, and says why.
    panel.run_until(lambda: "could not be read" in details_text(view), timeout=30)
    lines = [label.text for label in view.detail_labels]
    assert any(line.startswith("70b: too large") for line in lines)
    why = details_text(view).split("the header could not be read: ", 1)[1]
    assert "(estimated from the download size; the header could not be read: " in details_text(view)
    # In plain words (no "[Errno -2]"), naming the host: "Can't find the host registry.ollama.ai…".
    assert why.startswith("Can't ") and "registry.ollama.ai" in why and "Errno" not in why
    assert "from the model's header" not in details_text(view)


# -- a private registry's catalog, installs and updates -------------------------------------------


def choose_source(h: PanelHarness, view: DiscoverView, source: str) -> None:
    """Open the source drop-down and click `source` in it, as a person would."""
    h.click(view.source_menu)
    expanded: Any = view.source_menu.menu_states["expanded"]
    h.run_until(lambda: expanded.options_selection_list is not None, timeout=5)
    for item in expanded.options_selection_list.item_list:
        if item["text"] == source and item["button_element"] is not None:
            h.click(item["button_element"])
            return
    raise AssertionError(f"{source!r} is not offered")


def push_version(
    registry: RegistryServer, repo: str, template: str, tag: str = "latest", seed: int = 1
) -> PushedModel:
    """Versions share their 2 MiB GGUF; the template (and so the config) changes."""
    layers = [
        gguf_layer(cached_gguf(2 * MIB, seed)),
        text_layer("template", template),
        json_layer("params", {"stop": ["<|end|>"]}),
    ]
    return push_model(registry, repo, tag, layers)


def new_bytes(old: PushedModel, new: PushedModel) -> int:
    known = {b.digest for b in old.blobs}
    return sum({b.digest: b.size for b in new.blobs if b.digest not in known}.values())


def test_install_from_a_private_registry_catalog_shows_in_the_models_tab(
    panel: PanelHarness, registry: RegistryServer, unique_repo: str, models_dir: Path
) -> None:
    model = push_version(registry, unique_repo, "{{ .Prompt }}", seed=41)
    other = push_version(registry, unique_repo, "{{ .System }}", tag="q8", seed=41)
    view = open_discover(panel)
    choose_source(panel, view, registry.host)
    panel.run_until(
        lambda: (c := data_of(panel).catalog) is not None and c.result.source == registry.host,
        timeout=30,
    )
    panel.settle()
    assert registry.host in view.origin_label.text and "live" in view.origin_label.text
    short = unique_repo.split("/")[1]
    # A slip in the middle of the name still finds it.
    typo = short[:3] + short[4] + short[3] + short[5:]
    type_into(panel, view.entry, typo)
    key = f"{registry.host}/{unique_repo}"
    assert result_names(view)[0] == key
    click_row(panel, view.results, key)
    panel.run_until(lambda: len(view.tags.texts) == 2, timeout=20)
    panel.settle()
    rows = {row.split()[0]: row for row in view.tags.texts}
    assert "nothing here yet" in rows["latest"]
    click_row(panel, view.tags, "latest")
    label = view.install_button.text
    assert label.startswith("Install 127.0.0.1") and label.endswith(":latest")
    panel.click(view.install_button)
    assert "Models tab" in view.notice_label.text
    assert [t.model_name for t in tasks(panel)] == [f"{model.name}"]
    panel.run_until(lambda: model.name in installed(panel), timeout=60)
    assert ModelStore(models_dir).resolve(model.name).digest == model.manifest_digest
    # The tags are read again: latest is installed, and q8 shares its GGUF already here.
    panel.run_until(lambda: "installed" in view.tags.texts[0] + view.tags.texts[1], timeout=20)
    rows = {row.split()[0]: row for row in view.tags.texts}
    assert "installed" in rows["latest"] and "already here" in rows["q8"]
    assert other.total_size > new_bytes(model, other)
    assert panel.plugin.tab_bar is not None
    panel.click(panel.plugin.tab_bar.buttons["Models"])
    panel.settle()
    assert any(i["text"].startswith(model.name) for i in panel.view.models_list.item_list)
    # The app recorded the install in the model's history.
    assert [r.action for r in history(ModelStore(models_dir), parse_model_name(model.name))] == [
        "install"
    ]


def details_text(view: DiscoverView) -> str:
    """The detail lines as one text: long sentences wrap over several labels."""
    return " ".join(label.text for label in view.detail_labels if label.text)


def header_fit_jobs(h: PanelHarness) -> int:
    return sum(1 for _, j in h.query(DiscoverJob) if j.kind is JobKind.HEADER_FIT)


def test_selecting_a_tag_reads_only_its_header_for_the_real_fit(
    offline_web: Path, models_dir: Path, proxy: CuttingProxy, unique_repo: str
) -> None:
    # 4 layers x 4 KV heads x (32 + 32) x 2048 tokens x 2 bytes (f16) = 4 MiB of KV cache.
    gguf = cached_gguf(
        48 * MIB, 51, n_layers=4, n_embd=256, n_head=8, n_head_kv=4, ctx=2048, vocab=64
    )
    model = push_model(proxy, unique_repo, "latest", [gguf_layer(gguf)])
    small = push_model(proxy, unique_repo, "q8", [gguf_layer(cached_gguf(MIB, 52))])
    blob_size = gguf.stat().st_size
    h = PanelHarness(models_dir, proxy.host)
    try:
        view = open_discover(h)
        choose_source(h, view, proxy.host)
        h.run_until(
            lambda: (c := data_of(h).catalog) is not None and c.result.source == proxy.host,
            timeout=30,
        )
        key = f"{proxy.host}/{unique_repo}"
        latest, q8 = key + ":latest", key + ":q8"
        type_into(h, view.entry, unique_repo.split("/")[1])
        proxy.reset_counters()
        # Choosing the result shows its default tag, the install candidate: its header is read.
        click_row(h, view.results, key)
        h.run_until(lambda: latest in data_of(h).header_fits, timeout=30)
        h.settle()
        shown = data_of(h).header_fits[latest]
        assert shown.error is None and shown.report is not None
        report = shown.report
        # Only the header travelled (with the tag list and manifests): far below 1 % of the blob.
        blob_gets = [r for r in proxy.requests if f"/blobs/{model.blobs[0].digest}" in r.target]
        assert blob_gets and all(r.range for r in blob_gets)
        assert proxy.bytes_to_client <= blob_size // 100
        assert report.header_bytes_fetched < blob_size // 100
        with RegistryClient(insecure=True) as client:
            expected = fit_remote(model.name, client, machine=report.machine)
        assert report.estimate == expected.estimate and report.verdict == expected.verdict
        assert report.estimate.kv_cache_bytes == 4 * MIB
        assert report.estimate.context_length == 2048
        verdict = expected.verdict
        assert (
            f"Fit (from the model's header): {verdict.verdict} — needs "
            f"{human_bytes(verdict.needed)} for 2048 tokens, {human_bytes(verdict.available)} free"
        ) in details_text(view)
        lines = [label.text for label in view.detail_labels]
        assert not any(line.startswith("latest: ") for line in lines), "size line replaced"
        # Another tag, then back: the cache (by name and digest) answers after a manifest HEAD.
        click_row(h, view.tags, "q8")
        h.run_until(lambda: q8 in data_of(h).header_fits, timeout=30)
        q8_report = data_of(h).header_fits[q8].report
        assert q8_report is not None and q8_report.model_blob_size == small.blobs[0].size
        proxy.reset_counters()
        click_row(h, view.tags, "latest")
        h.run_until(lambda: bool(proxy.requests) and header_fit_jobs(h) == 0, timeout=30)
        h.settle()
        assert data_of(h).header_fits[latest].report is report
        assert [r.method for r in proxy.requests] == ["HEAD"]
    finally:
        h.close()


def install_directly(store: ModelStore, name: str) -> None:
    from ecs_models.registry.client import RegistryClient
    from ecs_models.store.history import record_install
    from ecs_models.transfer.pull import pull_model

    with RegistryClient() as client:
        record_install(store, pull_model(name, store, registry=client))


def open_updates(h: PanelHarness, view: DiscoverView) -> None:
    h.click(view.mode_buttons[DiscoverMode.UPDATES])
    h.run_until(lambda: data_of(h).checked and not data_of(h).checking, timeout=30)
    h.settle()


def test_update_available_with_its_size_then_update_installs_the_new_digest(
    offline_web: Path, models_dir: Path, registry: RegistryServer, unique_repo: str
) -> None:
    v1 = push_version(registry, unique_repo, "{{ .Prompt }}", seed=42)
    store = ModelStore(models_dir)
    install_directly(store, v1.name)
    v2 = push_version(registry, unique_repo, "{{ .System }} {{ .Prompt }}", seed=42)
    change = new_bytes(v1, v2)
    assert 0 < change < 10_000  # the template and config only: the GGUF is here already
    h = PanelHarness(models_dir, registry.host)
    try:
        h.settle()
        view = open_discover(h)
        open_updates(h, view)
        assert view.update_buttons[0].visible and not view.install_button.visible
        key = str(parse_model_name(v1.name))
        (row,) = view.results.texts
        assert row.startswith("127.0.0.1") and "update available" in row
        status = data_of(h).statuses[key]
        assert status.outdated and status.change_bytes == change
        assert f"{change} B" in row or f"{change / 1000:.1f} kB" in row, row
        click_row(h, view.results, key)
        assert any("Update downloads" in label.text for label in view.detail_labels)
        h.click(view.update_buttons[0])
        # The update is an ordinary install task: the Models tab's rows show its progress.
        assert [t.model_name for t in tasks(h)] == [key]
        h.run_until(lambda: not data_of(h).statuses[key].outdated, timeout=60)
        h.settle()
        assert store.resolve(v1.name).digest == v2.manifest_digest
        assert "update available" not in view.results.texts[0]
        assert "Updated" in view.notice_label.text
        versions = history(store, parse_model_name(v1.name))
        assert [(r.digest, r.action) for r in versions] == [
            (v1.manifest_digest, "install"),
            (v2.manifest_digest, "update"),
        ]
        # The old version's own blobs (template, config) were freed; the shared GGUF stays.
        kept = {p.name.replace("sha256-", "sha256:") for p in (models_dir / "blobs").iterdir()}
        assert {b.digest for b in v2.blobs} <= kept
        assert not {b.digest for b in v1.blobs} - {b.digest for b in v2.blobs} & kept
    finally:
        h.close()


def test_update_all_skips_pinned_models(
    offline_web: Path, models_dir: Path, registry: RegistryServer, unique_repo: str
) -> None:
    first, second = unique_repo + "-a", unique_repo + "-b"
    old = [push_version(registry, repo, "{{ .Prompt }}", seed=43) for repo in (first, second)]
    store = ModelStore(models_dir)
    for model in old:
        install_directly(store, model.name)
    new = [push_version(registry, repo, "v2 {{ .Prompt }}", seed=43) for repo in (first, second)]
    h = PanelHarness(models_dir, registry.host)
    try:
        h.settle()
        view = open_discover(h)
        open_updates(h, view)
        keys = [str(parse_model_name(m.name)) for m in old]
        assert all(data_of(h).statuses[k].outdated for k in keys)
        click_row(h, view.results, keys[0])
        h.click(view.update_buttons[2])  # Pin
        h.run_until(lambda: data_of(h).statuses[keys[0]].pinned, timeout=10)
        h.settle()
        assert keys[0] in pinned_models(store)
        rows = {view.results._keys[t]: t for t in view.results.texts}
        assert rows[keys[0]].endswith("pinned") and not rows[keys[1]].endswith("pinned")
        h.click(view.update_buttons[1])  # Update all
        assert "skipped 1 pinned" in view.notice_label.text
        assert [t.model_name for t in tasks(h)] == [keys[1]]
        h.run_until(lambda: not data_of(h).statuses[keys[1]].outdated, timeout=60)
        assert store.resolve(old[0].name).digest == old[0].manifest_digest
        assert store.resolve(old[1].name).digest == new[1].manifest_digest
        # Unpinned, the first one updates too.
        h.click(view.update_buttons[3])
        h.run_until(lambda: not data_of(h).statuses[keys[0]].pinned, timeout=10)
        h.click(view.update_buttons[1])
        h.run_until(lambda: not data_of(h).statuses[keys[0]].outdated, timeout=60)
        assert store.resolve(old[0].name).digest == new[0].manifest_digest
    finally:
        h.close()


def test_screenshot_of_the_discover_tab(panel: PanelHarness, tmp_path: Path) -> None:
    view = open_discover(panel)
    type_into(panel, view.entry, "gemma")
    panel.click(view.category_chips["vision"])
    click_row(panel, view.results, "gemma3")
    panel.run_until(lambda: len(view.tags.texts) > 3, timeout=20)
    panel.settle()
    shot = tmp_path / "discover.png"
    pygame.image.save(panel.screen, str(shot))
    image = pygame.image.load(str(shot))

    def colour(pos: tuple[int, int]) -> tuple[int, int, int]:
        r, g, b, *_ = image.get_at(pos)
        return (r, g, b)

    def close_to(pos: tuple[int, int], hex_colour: str, tolerance: int = 24) -> bool:
        want = pygame.Color(hex_colour)
        return all(abs(a - b) <= tolerance for a, b in zip(colour(pos), want[:3], strict=True))

    status = view.status_label.rect
    assert close_to((status.right - 2, status.y - 3), "#1d2127"), "the panel background"
    # The chosen chip is drawn held down, unlike its neighbours.
    chosen, other = view.category_chips["vision"].rect, view.category_chips["chat"].rect
    assert colour((chosen.x + 4, chosen.y + 4)) != colour((other.x + 4, other.y + 4))
    # The results list and the tags list are drawn where the layout put them, with text rows.
    for rect in (view.results.widget.rect, view.tags.widget.rect):
        assert not close_to((rect.x + 3, rect.y + 3), "#1d2127", tolerance=2)
        row = [colour((x, rect.y + 14)) for x in range(rect.x + 6, rect.x + 160)]
        assert len(set(row)) > 3, "no text drawn in the list's first row"
    # Nothing of the Models view shows through.
    assert not panel.view.visible and not panel.view.install_button.visible


def test_recommended_for_this_machine_says_why(panel: PanelHarness) -> None:
    view = open_discover(panel)
    panel.click(view.mode_buttons[DiscoverMode.RECOMMENDED])
    catalog = data_of(panel).catalog
    assert catalog is not None
    picks = catalog.recommendations
    assert "RAM free now" in view.origin_label.text
    assert len(view.results.texts) == len(picks) > 0
    # Every pick fits the memory measured now, most pulled first.
    assert all(p.fit.verdict == "fits" for p in picks)
    pulls = [p.entry.pulls or 0 for p in picks]
    assert pulls == sorted(pulls, reverse=True)
    first = picks[0]
    click_row(panel, view.results, f"{first.entry.name}\t{first.tag.name}")
    panel.run_until(lambda: bool(view.tags.texts), timeout=20)
    lines = [label.text for label in view.detail_labels]
    assert any(line.startswith(f"Recommended: {first.tag.name} fits") for line in lines)
    assert any(line.startswith("Needs about") for line in lines)
    assert view.install_button.text.endswith(f"{first.entry.name}:{first.tag.name}")


def test_a_cached_catalog_is_shown_with_its_age(
    offline_web: Path, models_dir: Path, registry: RegistryServer
) -> None:
    import datetime as dt

    from ecs_models.catalog import CatalogCache, load_snapshot
    from ecs_models.catalog.service import LIBRARY_KEY

    saved = [e.to_json() for e in load_snapshot().entries[:3]]
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3, minutes=5)
    CatalogCache(offline_web / "ecs_models").store(LIBRARY_KEY, saved, fetched_at=when)
    h = PanelHarness(models_dir, registry.host)
    try:
        view = open_discover(h)
        assert view.origin_label.text == "3 models from ollama.com · cached copy, 3 hours old"
        assert result_names(view) == [doc["name"] for doc in saved]
        # Younger than the refresh age: no network request was started behind it.
        assert not data_of(h).catalog_loading
    finally:
        h.close()


def test_install_is_not_offered_while_the_registry_is_known_offline(
    offline_web: Path, models_dir: Path, fresh_registry: RegistryServer
) -> None:
    push_version(fresh_registry, "library/offline-check", "{{ .Prompt }}", seed=42)
    h = PanelHarness(models_dir, fresh_registry.host)
    try:
        h.settle()
        view = open_discover(h)
        choose_source(h, view, fresh_registry.host)
        h.run_until(
            lambda: (
                (c := data_of(h).catalog) is not None and c.result.source == fresh_registry.host
            ),
            timeout=30,
        )
        type_into(h, view.entry, "offline-check")
        click_row(h, view.results, f"{fresh_registry.host}/library/offline-check")
        h.run_until(lambda: len(view.tags.texts) == 1, timeout=20)
        click_row(h, view.tags, "latest")
        assert view.install_button.text.startswith("Install ")
        assert view.install_button.is_enabled

        fresh_registry.kill()
        h.click(view.install_button)  # refused: the app learns the registry is offline
        h.run_until(lambda: bool(tasks(h)) and tasks(h)[0].state.finished, timeout=20)
        h.settle()
        assert view.install_button.text == "Registry offline"
        assert not view.install_button.is_enabled
        assert "is the registry running?" in view.tags_label.text

        # Once its catalog loads again, Install is offered again.
        fresh_registry.restart()
        h.click(view.refresh_button)
        h.run_until(lambda: view.install_button.is_enabled, timeout=30)
        assert view.install_button.text.startswith("Install ")
    finally:
        h.close()
