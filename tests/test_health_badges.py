"""One health badge per model, the same in the Models list, its details and the Storage report.

Real stores pulled from the registry fixture, real flipped bytes, the real command line in a
subprocess; the window is driven headless through SDL's event queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lifecycle_support import pull
from panel_harness import PanelHarness
from support.faults import flip_byte
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.health_records import HealthRecords
from ecs_models.components.lifecycle import BackgroundJob
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.storage import StorageState
from ecs_models.formatting import short_age
from ecs_models.storage.health import SCOPE_HEALTH, SCOPE_VERIFY, ModelHealth, load_health
from ecs_models.store.model_store import ModelStore
from ecs_models.ui.core.health_badge import health_badge
from ecs_models.ui.performance.view import PerformanceView
from ecs_models.ui.storage.view import StorageView


def _row(items: list[dict[str, Any]], display: str) -> str:
    rows = [item["text"] for item in items if item["text"].startswith(display + " ")]
    assert len(rows) == 1, (display, [item["text"] for item in items])
    return str(rows[0])


def shows(row: str, badge: str) -> bool:
    """True when the row's text carries exactly this badge (wherever its list puts it)."""
    return f"   {badge}   " in f"{row}   "


def models_row(harness: PanelHarness, display: str) -> str:
    return _row(harness.view.models_list.item_list, display)


def health_detail(harness: PanelHarness) -> str:
    labels = [label for label in harness.view.detail_labels if label.text.startswith("Health")]
    assert len(labels) == 1, [label.text for label in harness.view.detail_labels]
    label = labels[0]
    # The whole line fits its label: nothing cut off at the right.
    assert label.font is not None
    assert label.font.get_rect(label.text).width <= label.rect.width, label.text
    return str(label.text)


def storage_row(harness: PanelHarness, display: str) -> str:
    view = next(a.view for a in harness.plugin.areas if isinstance(a.view, StorageView))
    return _row(view.report_list.item_list, display)


def performance_row(harness: PanelHarness, display: str) -> str:
    view = next(a.view for a in harness.plugin.areas if isinstance(a.view, PerformanceView))
    return _row(view.models_list.item_list, display)


def open_storage(harness: PanelHarness) -> None:
    harness.click_tab("Storage")
    state = harness.plugin.resources.get(StorageState)
    harness.run_until(lambda: state.report is not None and not state.report_stale)
    harness.settle(2)


def listed(harness: PanelHarness, display: str) -> bool:
    return any(e.metadata.display == display for _, e in harness.query(InstalledModelEntry))


def run_cli(models_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line in its own process (this checkout's code, as PYTHONPATH says)."""
    return subprocess.run(
        [sys.executable, "-m", "ecs_models", "--models", str(models_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )


@pytest.fixture(scope="module")
def two(registry: RegistryServer) -> tuple[PushedModel, PushedModel]:
    # Different GGUFs: a flipped byte in one model's blob damages that model only.
    first = push_small_model(registry, "library/badge-a", "v1", gguf_size=2 * MIB, seed=81)
    second = push_small_model(registry, "library/badge-b", "v1", gguf_size=2 * MIB, seed=82)
    return first, second


def test_a_failed_verify_shows_in_every_list_and_survives_a_restart(
    models_dir: Path,
    registry: RegistryServer,
    two: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    store = ModelStore(models_dir)
    bad, good = (pull(store, pushed.name) for pushed in two)
    model_blob = two[0].layer("model")
    flip_byte(store.blob_path(model_blob.digest))
    harness = harness_for(models_dir, registry.host)
    harness.run_until(lambda: listed(harness, bad.display) and listed(harness, good.display))
    harness.settle(2)
    assert shows(models_row(harness, bad.display), "not verified")

    harness.click_list_item(bad.display)
    harness.click(harness.view.verify_button)
    harness.run_until(lambda: shows(models_row(harness, bad.display), "failed · just now"))
    # The banner says so too, and names the fix that now works: the result is kept.
    assert "failed verification" in harness.view.notice_label.text
    assert harness.view.notice_label.text.endswith("Storage tab: Repair.")
    assert shows(models_row(harness, good.display), "not verified")
    harness.settle(2)
    assert health_detail(harness) == "Health: failed · just now: model blob corrupt"

    # Kept on disk beside usage and history, never in blobs/.
    saved = load_health(store)
    record = saved[str(bad.name)]
    assert not record.ok and record.scope == SCOPE_VERIFY and record.digest == bad.digest
    assert [f.digest for f in record.findings] == [model_blob.digest]
    # Ollama reads only manifests/ and blobs/ (and prunes blobs/ of files not named by a
    # digest): the record sits in the app's own directory beside them.
    assert (store.state_dir / "health.json").is_file() and store.state_dir.parent == store.root
    assert store.state_dir not in (store.blobs_dir, store.manifests_dir)
    assert not any("health" in p.name for p in store.blobs_dir.iterdir())

    open_storage(harness)
    assert shows(storage_row(harness, bad.display), "failed · just now")
    assert shows(storage_row(harness, good.display), "not verified")
    harness.click_tab("Performance")
    harness.settle(2)
    assert shows(performance_row(harness, bad.display), "failed · just now")
    assert shows(performance_row(harness, good.display), "not verified")

    # A new plugin (new world) on the same store reads the verdict back off-frame.
    harness.close()
    again = harness_for(models_dir, registry.host)
    again.run_until(lambda: listed(again, bad.display))
    again.run_until(lambda: shows(models_row(again, bad.display), "failed · just now"))
    again.click_list_item(bad.display)
    again.run_until(lambda: health_detail(again).startswith("Health: failed · just now: model"))
    open_storage(again)
    assert shows(storage_row(again, bad.display), "failed · just now")
    # The Storage tab's Repair works from the verdict the Models tab's Verify kept.
    view = next(a.view for a in again.plugin.areas if isinstance(a.view, StorageView))
    again.click(view.repair_button)
    again.run_until(lambda: shows(storage_row(again, bad.display), "ok · just now"))
    again.click_tab("Models")
    again.run_until(lambda: shows(models_row(again, bad.display), "ok · just now"))
    assert load_health(store)[str(bad.name)].scope == SCOPE_HEALTH


def test_cli_verify_updates_the_same_record_an_open_window_shows(
    models_dir: Path,
    registry: RegistryServer,
    two: tuple[PushedModel, PushedModel],
    harness_for: Any,
) -> None:
    store = ModelStore(models_dir)
    bad, good = (pull(store, pushed.name) for pushed in two)
    blob = store.blob_path(two[0].layer("model").digest)
    offset = flip_byte(blob)
    harness = harness_for(models_dir, registry.host)
    harness.run_until(lambda: listed(harness, bad.display))
    harness.settle(2)

    failed = run_cli(models_dir, "verify", bad.display)
    assert failed.returncode == 1, failed.stderr
    # The window notices the file changed (a worker looks every few seconds), no restart.
    harness.run_until(lambda: shows(models_row(harness, bad.display), "failed · just now"))
    assert shows(models_row(harness, good.display), "not verified")

    flip_byte(blob, offset)  # the same byte back: the blob is whole again
    fixed = run_cli(models_dir, "verify", bad.display, good.display)
    assert fixed.returncode == 0, fixed.stderr
    harness.run_until(lambda: shows(models_row(harness, bad.display), "ok · just now"))
    harness.run_until(lambda: shows(models_row(harness, good.display), "ok · just now"))
    saved = load_health(store)
    assert {saved[str(m.name)].scope for m in (bad, good)} == {SCOPE_VERIFY}
    assert all(saved[str(m.name)].ok for m in (bad, good))
    # `health` writes the same record, with its deeper check.
    healthy = run_cli(models_dir, "health", good.display)
    assert healthy.returncode == 0, healthy.stderr
    assert load_health(store)[str(good.name)].scope == SCOPE_HEALTH


def test_a_re_pulled_model_drops_its_old_verdict(
    models_dir: Path, registry: RegistryServer, unique_repo: str, harness_for: Any
) -> None:
    store = ModelStore(models_dir)
    first = push_small_model(registry, unique_repo, "v1", gguf_size=2 * MIB, seed=83)
    installed = pull(store, first.name)
    harness = harness_for(models_dir, registry.host)
    harness.run_until(lambda: listed(harness, installed.display))
    harness.settle(2)
    harness.click_list_item(installed.display)
    harness.click(harness.view.verify_button)
    harness.run_until(lambda: shows(models_row(harness, installed.display), "ok · just now"))

    # The tag now names other bytes; pulling it again through the window changes the manifest.
    push_small_model(registry, unique_repo, "v1", gguf_size=2 * MIB, seed=84)
    harness.type_text(first.name)
    harness.press_enter()
    harness.run_until(lambda: store.resolve(first.name).digest != installed.digest, timeout=60)
    harness.run_until(
        lambda: shows(models_row(harness, installed.display), "not verified"), timeout=30
    )
    harness.run_until(lambda: not harness.query(BackgroundJob))
    harness.settle(2)
    assert health_detail(harness).startswith("Health: not verified")
    open_storage(harness)
    assert shows(storage_row(harness, installed.display), "not verified")
    # The old result is still on file, but it was about the old digest.
    records = harness.plugin.resources.get(HealthRecords)
    new_digest = store.resolve(first.name).digest
    assert records.verdict(str(installed.name), new_digest) is None
    assert records.verdict(str(installed.name), installed.digest) is not None


def test_badge_words() -> None:
    now = time.time()

    def checked(ago: float, *, ok: bool = True, hashed: bool = True) -> ModelHealth:
        from ecs_models.storage.health import Finding, FindingKind

        findings = [] if ok else [Finding(FindingKind.DIGEST, "bad", digest="sha256:" + "a" * 64)]
        return ModelHealth("h/n/m:t", "m:t", "sha256:1", now - ago, findings, hashed=hashed)

    assert health_badge(None, now) == "not verified"
    assert health_badge(checked(5), now) == "ok · just now"
    assert health_badge(checked(2 * 3600 + 5), now) == "ok · 2 h ago"
    assert health_badge(checked(5 * 60 + 1, ok=False), now) == "failed · 5 min ago"
    assert health_badge(checked(3 * 86400), now) == "ok · 3 d ago"
    assert health_badge(checked(60, hashed=False), now) == "sizes ok · 1 min ago"
    assert short_age(-30) == "just now"  # a clock set back does not say "-1 min"
