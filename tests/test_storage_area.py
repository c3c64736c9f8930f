"""The Storage tab driven headless against real stores pulled from the registry fixture."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pygame
import pytest
from lifecycle_support import pull, via
from panel_harness import PanelHarness
from support.faults import CuttingProxy, SmallFilesystemFactory, fill_filesystem, flip_byte
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.config import ResourceLimits
from ecs_models.app.health_records import HealthRecords
from ecs_models.components.storage import StorageSettings, StorageState
from ecs_models.formatting import human_bytes
from ecs_models.storage.disk import DiskLevel
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.storage.gauge import BACKGROUND, LEVEL_COLOURS, WARN_MARK, mark_x
from ecs_models.ui.storage.view import StorageView

OLD = time.time() - 7200


@pytest.fixture(scope="module")
def pair(registry: RegistryServer) -> tuple[PushedModel, PushedModel]:
    # Same GGUF (size and seed): the two tags share their model blob, as real tags do.
    first = push_small_model(registry, "library/storage-a", "latest", gguf_size=3 * MIB, seed=71)
    second = push_small_model(registry, "team/storage-b", "v1", gguf_size=3 * MIB, seed=71)
    return first, second


def _storage(harness: PanelHarness) -> StorageView:
    return next(a.view for a in harness.plugin.areas if a.title == "Storage")  # type: ignore[return-value]


def _state(harness: PanelHarness) -> StorageState:
    return harness.plugin.resources.get(StorageState)


def _open_storage(harness: PanelHarness) -> StorageView:
    harness.click_tab("Storage")
    harness.run_until(
        lambda: _state(harness).report is not None and not _state(harness).report_stale
    )
    harness.settle(2)
    return _storage(harness)


def _level(state: StorageState) -> DiskLevel | None:
    return state.disk.level if state.disk is not None else None


def _click_row(harness: PanelHarness, view: StorageView, prefix: str) -> None:
    for item in view.report_list.item_list:
        if item["text"].startswith(prefix) and item["button_element"] is not None:
            harness.click(item["button_element"])
            time.sleep(0.6)  # keep clicks apart: two quick ones are a double click
            return
    raise AssertionError(f"no report row starts with {prefix!r}")


def _notice(harness: PanelHarness, view: StorageView, needle: str) -> bool:
    return needle in view.notice_label.text


def test_tab_shows_report_matching_plan_removal_and_back(
    models_dir: Path,
    registry: RegistryServer,
    pair: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    store = ModelStore(models_dir)
    for pushed in pair:
        pull(store, pushed.name)
    harness = harness_for(models_dir, registry.host)
    assert not _storage(harness).visible and harness.view.visible

    view = _open_storage(harness)

    assert view.visible and not harness.view.visible
    report = _state(harness).report
    assert report is not None and len(report.models) == 2
    rows = [item["text"] for item in view.report_list.item_list]
    for model in report.models:
        freed = store.plan_removal([model.name]).bytes_freed
        shared = model.logical - freed
        assert model.unique == freed and model.shared == shared > 0
        (row,) = [r for r in rows if r.startswith(model.display)]
        assert f"frees {human_bytes(freed)}" in row and f"shared {human_bytes(shared)}" in row
        assert "not verified" in row
    totals = " ".join(label.text for label in view.total_labels)
    assert "2 models" in totals and f"dedup saves {human_bytes(report.dedup_savings)}" in totals
    assert report.dedup_savings == sum(m.shared for m in report.models) // 2
    assert "Never used" in totals

    harness.click_tab("Models")
    harness.settle(2)
    assert harness.view.visible and not view.visible


def test_cleanup_lists_orphan_and_stale_partial_then_clean_removes_them(
    models_dir: Path,
    registry: RegistryServer,
    pair: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    store = ModelStore(models_dir)
    pull(store, pair[0].name)
    orphan_bytes = os.urandom(200_000)
    orphan = store.blobs_dir / f"sha256-{hashlib.sha256(orphan_bytes).hexdigest()}"
    orphan.write_bytes(orphan_bytes)
    partial = store.blobs_dir / f"sha256-{'c' * 64}-partial"
    partial.write_bytes(os.urandom(300_000))
    os.utime(partial, (OLD, OLD))
    young = store.blobs_dir / f"sha256-{'d' * 64}-partial"
    young.write_bytes(b"x" * 1000)  # being written a moment ago: never litter
    harness = harness_for(models_dir, registry.host)

    view = _open_storage(harness)

    rows = [item["text"] for item in view.cleanup_list.item_list]
    assert f"{human_bytes(200_000)}   orphaned blob: blobs/{orphan.name[:16]}" in rows[0], rows
    assert rows[1].startswith(f"{human_bytes(300_000)}   stale partial: blobs/sha256-ccc"), rows
    assert len(rows) == 2
    plan = _state(harness).cleanup
    assert plan is not None and plan.reclaimable_bytes >= 200_000 + 300_000
    assert human_bytes(plan.reclaimable_bytes) in view.cleanup_total.text
    assert orphan.exists() and partial.exists()  # a dry run

    # One row picked: Clean asks about that item only, by the button; Escape deletes nothing.
    assert view.clean_button.text == "Clean all…"
    harness.click_item(view.cleanup_list, human_bytes(200_000))
    harness.settle(2)
    assert view.clean_button.text == "Clean 1 selected…"
    harness.click(view.clean_button)
    assert view.confirm.is_open and view.confirm.panel.rect.top >= view.clean_button.rect.bottom
    assert view.confirm.text == (
        f"Delete the orphaned blob blobs/{orphan.name[:16]}…{orphan.name[-14:]}? "
        f"This frees {human_bytes(200_000)}."
    )
    harness.press_key(pygame.K_ESCAPE)
    assert not view.confirm.is_open
    harness.settle(5)
    assert orphan.exists() and partial.exists()

    harness.click(view.clean_button)
    harness.press_key(pygame.K_RETURN)
    harness.run_until(lambda: _notice(harness, view, "Deleted 1 item "))
    assert not orphan.exists() and partial.exists() and young.exists()
    harness.run_until(lambda: len(view.cleanup_list.item_list) == 1)
    harness.settle(2)
    assert view.clean_button.text == "Clean all…"  # the picked row is gone

    harness.click(view.clean_button)
    assert view.confirm.text == (
        f"Delete the stale partial blobs/sha256-{'c' * 9}…{'c' * 6}-partial? "
        f"This frees {human_bytes(300_000)}."
    )
    assert view.confirm.yes is not None
    harness.click(view.confirm.yes)
    # The first clean's notice reads the same: wait for this clean's list, then its notice.
    harness.run_until(lambda: not view.cleanup_list.item_list)
    harness.run_until(lambda: _notice(harness, view, "Deleted 1 item "))
    assert not partial.exists() and young.exists()
    assert store.resolve(pair[0].name).size == pair[0].total_size
    harness.run_until(lambda: view.cleanup_total.text == "Nothing to clean up.")
    assert not view.confirm.is_open


def test_report_rows_select_as_on_a_desktop(
    models_dir: Path,
    registry: RegistryServer,
    pair: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    for pushed in pair:
        pull(ModelStore(models_dir), pushed.name)
    harness = harness_for(models_dir, registry.host)
    view = _open_storage(harness)
    first, second = (m.name for m in pair)
    _click_row(harness, view, pair[0].name)
    _click_row(harness, view, pair[1].name)  # a plain click: the other row is dropped
    assert _state(harness).selected == {second}
    assert view.report_title.text.endswith("  ·  1 selected")
    pygame.key.set_mods(pygame.KMOD_LCTRL)
    try:
        _click_row(harness, view, pair[0].name)
    finally:
        pygame.key.set_mods(0)
    assert _state(harness).selected == {first, second}
    assert view.report_title.text.endswith("  ·  2 selected")
    assert view.verify_button.text == "Verify selected"
    drawn = [i["button_element"].state for i in view.report_list.item_list]
    assert drawn == ["selected", "selected"]


def test_verify_finds_a_flipped_byte_and_repair_refetches_only_that_blob(
    models_dir: Path,
    registry: RegistryServer,
    proxy: CuttingProxy,
    pair: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    store = ModelStore(models_dir)
    first = pair[0]
    for pushed in pair:
        pull(store, via(proxy, pushed))
    template = first.layer("template")
    flip_byte(store.blob_path(template.digest))
    damaged = store.resolve(via(proxy, first)).display
    harness = harness_for(models_dir, registry.host)
    view = _open_storage(harness)

    harness.click(view.verify_button)
    saved = harness.plugin.resources.get(HealthRecords)
    harness.run_until(
        lambda: len(saved.results) == 2 and "failed verification" in view.notice_label.text
    )
    harness.settle(2)
    assert view.notice_label.text.endswith("; press Repair.")  # the fix, named by its button
    bad = [h for h in saved.results.values() if not h.ok]
    # Both tags share the template blob: both are damaged by one flipped byte.
    assert len(bad) == 2 and all(h.findings[0].digest == template.digest for h in bad)
    rows = [item["text"] for item in view.report_list.item_list]
    assert all("   failed · just now   " in r for r in rows), rows
    assert view.progress_bar.caption.startswith("no verify")  # finished, bar idle again

    _click_row(harness, view, damaged)
    assert damaged in view.health_labels[0].text and "failed" in view.health_labels[0].text
    assert view.health_labels[1].text.startswith("Template blob " + template.digest[7:19])
    assert "does not match its digest" in view.health_labels[1].text

    proxy.reset_counters()
    harness.click(view.repair_button)
    harness.run_until(lambda: "Repaired" in view.notice_label.text, timeout=30)
    # The other tag needed the same blob: it was checked again and is healthy too.
    assert len(saved.results) == 2 and all(h.ok for h in saved.results.values())
    health = saved.results[str(store.resolve(damaged).name)]
    assert time.time() - health.checked_at < 30
    # Exactly the one bad blob came over the wire again (plus HTTP headers).
    assert template.size <= proxy.bytes_to_client < template.size + 64 * 1024
    assert hashlib.sha256(store.blob_path(template.digest).read_bytes()).hexdigest() == (
        template.digest.removeprefix("sha256:")
    )
    harness.run_until(
        lambda: "OK" in view.health_labels[0].text or "healthy" in view.health_labels[0].text
    )


def test_export_then_import_into_another_store_round_trips(
    tmp_path: Path,
    registry: RegistryServer,
    pair: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    source = ModelStore(source_dir)
    original = pull(source, pair[0].name)
    archive = tmp_path / "out" / "model.tar"
    archive.parent.mkdir()
    harness = harness_for(source_dir, registry.host)
    view = _open_storage(harness)
    _click_row(harness, view, original.display)
    assert view.path_entry.get_text() == "~/storage-a.tar"  # the suggested default
    view.path_entry.set_text(str(archive))
    harness.click(view.export_button)
    harness.run_until(lambda: _notice(harness, view, "Exported"))
    assert view.notice_label.text == (
        f"Exported {original.display} to {archive} "
        f"({human_bytes(archive.stat().st_size)}, uncompressed)."
    )
    harness.close()

    other = harness_for(target_dir, registry.host)
    view = _open_storage(other)
    assert view.report_list.item_list == []
    view.path_entry.set_text(str(archive))
    other.click(view.import_button)
    other.run_until(lambda: _notice(other, view, "Imported"))
    imported = ModelStore(target_dir).resolve(original.name)
    assert imported.id == original.id and imported.digest == original.digest
    assert f"(ID {original.id})" in view.notice_label.text
    other.run_until(
        lambda: any(i["text"].startswith(original.display) for i in view.report_list.item_list)
    )


def test_disk_gauge_crosses_warn_on_a_small_filesystem(
    small_fs: SmallFilesystemFactory, registry: RegistryServer, harness_for: Any, tmp_path: Path
) -> None:
    root = small_fs(32 * MIB)
    (root / "models").mkdir()
    fill_filesystem(root / "models", leave_free=24 * MIB)  # a quarter used: OK
    limits = ResourceLimits(min_free_disk=4 * MIB, warn_free_disk=16 * MIB)
    harness = harness_for(root / "models", registry.host, limits=limits)
    harness.plugin.resources.get(StorageSettings).disk_interval_s = 0.1
    view = _open_storage(harness)
    state = _state(harness)
    harness.run_until(lambda: state.disk is not None and view.gauge.status is state.disk)
    assert state.disk is not None and state.disk.level is DiskLevel.OK
    assert state.disk.limits.warn_free == 16 * MIB and state.disk.limits.critical_free == 4 * MIB
    assert view.disk_labels[0].text.startswith("Disk: ")
    assert view.disk_labels[1].text == (
        f"warn below {human_bytes(16 * MIB)}, installs stop below {human_bytes(4 * MIB)}"
    )

    def pixels(*fractions: float) -> list[pygame.Color]:
        harness.frame()
        shot = tmp_path / "storage.png"
        pygame.image.save(harness.screen, str(shot))
        image = pygame.image.load(str(shot))
        gauge = view.gauge.rect
        return [image.get_at((gauge.x + int(f * gauge.width), gauge.centery)) for f in fractions]

    def close(got: pygame.Color, want: pygame.Color) -> bool:
        return all(abs(a - b) <= 12 for a, b in zip(got[:3], want[:3], strict=True))

    gauge = view.gauge.rect
    # The warn mark sits where 16 MiB would be left free: half-way along a 32 MiB gauge.
    warn_at = (mark_x(gauge.width, 32 * MIB, 16 * MIB) + 1) / gauge.width
    assert 0.45 < warn_at < 0.55
    used, free, mark = pixels(0.1, 0.4, warn_at)
    assert close(used, LEVEL_COLOURS[DiskLevel.OK]), used
    assert close(free, BACKGROUND), free
    assert close(mark, WARN_MARK), mark

    fill_filesystem(root / "models", leave_free=10 * MIB)  # about 70 % used: below the warn level
    harness.run_until(lambda: _level(state) is DiskLevel.WARN)
    harness.settle(2)
    assert view.disk_labels[0].text.startswith("Disk low: ")
    used, more, free, mark = pixels(0.1, 0.6, 0.9, warn_at)
    assert close(used, LEVEL_COLOURS[DiskLevel.WARN]), used
    assert close(more, LEVEL_COLOURS[DiskLevel.WARN]), more
    assert close(free, BACKGROUND), free
    assert close(mark, WARN_MARK), mark  # drawn over the used part, still visible
