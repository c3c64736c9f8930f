"""UI set, Storage area: the view's intents become requests; widgets follow the state on change."""

from __future__ import annotations

import time

import esper

from ecs_models.app.config import LocalModelConfig
from ecs_models.app.health_records import HealthRecords
from ecs_models.app.model_filter import search_text
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.components.notice import Notice, NoticeLevel
from ecs_models.components.storage import (
    LONG_JOBS,
    CleanConfirmation,
    StorageCancelRequest,
    StorageJob,
    StorageJobKind,
    StorageJobRequest,
    StorageState,
)
from ecs_models.formatting import human_bytes, human_rate
from ecs_models.storage.health import ModelHealth
from ecs_models.storage.report import ModelStorage
from ecs_models.store.model_store import ModelStore
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.ui.core.health_badge import badge_clock
from ecs_models.ui.storage import intents
from ecs_models.ui.storage import text as storage_text
from ecs_models.ui.storage.view import CLEAN_ALL, StorageView

_UNSET = object()
# A person reads the progress caption a few times a second at most.
CAPTION_INTERVAL_S = 0.25


class StorageUISystem(System):
    """Touches the Storage widgets only while the tab is on show, and only what changed."""

    def __init__(self, resources: Resources, view: StorageView) -> None:
        super().__init__()
        self.view = view
        self.state = resources.get(StorageState)
        self.health = HealthRecords.of(resources)
        self.root = resources.get(ModelStore).root
        self.config = resources.try_get(LocalModelConfig)
        self._shown_versions: tuple[object, ...] | None = None
        self._caption_at = 0.0
        self._shown_disk: object = _UNSET
        self._just_shown = False

    def process(self, dt: float) -> None:
        for intent in self.view.drain_intents():
            self._apply(intent)
        self.state.visible = bool(self.view.visible)
        if not self.state.visible:
            return
        if self._just_shown:
            self._just_shown = False
            if self.state.report is None or self.state.report_stale:
                esper_request(StorageJobKind.REPORT)
        self._sync_report()
        self._sync_job()
        if self.state.disk is not self._shown_disk:
            self._shown_disk = self.state.disk
            self.view.show_disk(self._shown_disk)
            lines = storage_text.disk_lines(self._shown_disk)
            self.view.show_lines("disk", self.view.disk_labels, lines)
        self._sync_confirmation()
        self._sync_notice()

    def on_show(self) -> None:
        """The tab came up (outside the plugin's world): redraw everything next frame."""
        self.state.visible = True
        self._just_shown = True
        self._shown_versions = None
        self._shown_disk = _UNSET
        self.view.forget_shown()

    # -- intents -> requests -----------------------------------------------------------
    def _apply(self, intent: intents.StorageIntent) -> None:
        state = self.state
        if isinstance(intent, intents.SelectionChanged):
            state.selected, state.focused = intent.selected, intent.focused
        elif isinstance(intent, intents.CleanupSelectionChanged):
            if intent.paths != state.cleanup_selected:
                state.pending_clean = None  # it asked about the rows highlighted before
            state.cleanup_selected = intent.paths
        elif isinstance(intent, intents.RefreshPressed):
            esper_request(StorageJobKind.REPORT)
        elif isinstance(intent, intents.VerifyPressed):
            esper_request(StorageJobKind.VERIFY, *sorted(state.selected))
        elif isinstance(intent, intents.RepairPressed):
            self._repair()
        elif isinstance(intent, intents.CancelPressed):
            if any(job.kind in LONG_JOBS for _, job in esper.get_component(StorageJob)):
                esper.create_entity(StorageCancelRequest())
            else:
                post_notice("Nothing is running to cancel.")
        elif isinstance(intent, intents.CleanPressed):
            self._ask_to_clean()
        elif isinstance(intent, intents.CleanAnswered):
            pending, state.pending_clean = state.pending_clean, None
            if pending is not None and intent.confirmed:
                esper.create_entity(
                    StorageJobRequest(StorageJobKind.CLEAN, cleanup_paths=pending.paths)
                )
        elif isinstance(intent, intents.ExportPressed):
            self._export(intent)
        elif isinstance(intent, intents.ImportPressed):
            if not intent.path:
                post_error("Type the path of an archive to import.")
            else:
                esper.create_entity(StorageJobRequest(StorageJobKind.IMPORT, path=intent.path))

    def _ask_to_clean(self) -> None:
        """Ask about the picked items, or about all of them when none is picked.

        The dry run is already in memory (the report's worker made it): nothing is read here.
        """
        state = self.state
        plan = state.cleanup
        if plan is None or not plan.removable:
            post_notice("Nothing to clean up: the dry run found no litter.")
            return
        picked = state.cleanup_selected
        items = [i for i in plan.removable if not picked or str(i.path) in picked]
        if not items:
            post_notice(
                "The picked rows are only reported (unreadable manifests): nothing to delete."
            )
            return
        state.pending_clean = CleanConfirmation(
            items=len(items),
            bytes=sum(i.bytes for i in items),
            paths=tuple(str(i.path) for i in items) if picked else (),
            what=storage_text.cleanup_what(items, self.root),
        )

    def _current_health(self) -> dict[str, ModelHealth]:
        """Saved results that still hold: for models in the report, at their current digest."""
        report = self.state.report
        models = report.models if report is not None else []
        verdicts = {m.name: self.health.verdict(m.name, m.digest) for m in models}
        return {name: health for name, health in verdicts.items() if health is not None}

    def _repair(self) -> None:
        state = self.state
        saved = self._current_health()
        damaged = [
            name
            for name, health in saved.items()
            if health.repairable and (not state.selected or name in state.selected)
        ]
        if not damaged:
            post_notice("Nothing to repair: press Verify first; Repair fetches only damaged blobs.")
            return
        # Models damaged only in blobs the chosen ones share are fixed too: check them again.
        bad = {f.digest for name in damaged for f in saved[name].repairable}
        damaged += [
            name
            for name, health in saved.items()
            if name not in damaged
            and health.repairable
            and {f.digest for f in health.repairable} <= bad
        ]
        esper_request(StorageJobKind.REPAIR, *sorted(damaged))

    def _export(self, intent: intents.ExportPressed) -> None:
        name = self.state.focused or (
            next(iter(self.state.selected)) if len(self.state.selected) == 1 else None
        )
        if name is None:
            post_error("Select the model to export first.")
            return
        path = intent.path or storage_text.default_export_path(name)
        esper.create_entity(
            StorageJobRequest(StorageJobKind.EXPORT, (name,), path=path, compress=intent.compress)
        )

    # -- state -> widgets --------------------------------------------------------------
    def _sync_report(self) -> None:
        state = self.state
        now = badge_clock(time.time())
        key = (
            state.report_version,
            self.health.version,
            now,
            state.selected,
            state.focused,
            state.cleanup_selected,
        )
        if key == self._shown_versions:
            return
        self._shown_versions = key
        view = self.view
        report = state.report
        saved = self._current_health()
        if report is None:
            view.show_title("Storage report (reading the store…)")
        else:
            title = f"Storage report, read in {report.seconds * 1000:.0f} ms"
            picked = len(state.selected & {m.name for m in report.models})
            view.show_title(title + (f"  ·  {picked} selected" if picked else ""))
            view.show_lines("totals", view.total_labels, storage_text.totals_lines(report))
            rows = [
                (storage_text.report_row(m, saved.get(m.name), now), m.name) for m in report.models
            ]
            view.show_report_rows(rows, state.selected, self._search_texts(report.models))
            self._sync_cleanup()
        names = {m.name: m.display for m in report.models} if report is not None else {}
        focused = state.focused if state.focused in names else None
        display = names.get(focused) if focused is not None else None
        health = saved.get(focused) if focused is not None else None
        view.show_lines("health", view.health_labels, storage_text.health_lines(health, display))
        verify_text = "Verify selected" if state.selected else "Verify all"
        view.show_button_text(view.verify_button, "verify_text", verify_text)
        if focused is not None:
            view.suggest_path(storage_text.default_export_path(focused))

    def _search_texts(self, models: list[ModelStorage]) -> dict[str, str]:
        """What the filter searches per row: the Models inventory's facts (family, size class)
        where it has the model, else the name shown."""
        installed = self.config.installed_models if self.config is not None else {}
        return {
            m.name: search_text(installed[m.name]) if m.name in installed else m.display.lower()
            for m in models
        }

    def _sync_job(self) -> None:
        job = next(
            (j for _, j in esper.get_component(StorageJob) if j.kind in LONG_JOBS),
            None,
        )
        if job is None:
            self.view.show_progress(0.0, "no verify, repair, export or import running")
            return
        now = time.monotonic()
        if now - self._caption_at < CAPTION_INTERVAL_S:
            return
        self._caption_at = now
        done, total = job.progress() if job.progress is not None else (0, 0)
        fraction = min(1.0, done / total) if total > 0 else 0.0
        elapsed = max(1e-6, now - job.started_at)
        caption = f"{job.label}: {human_bytes(done)}"
        if total > 0:
            caption += f" of {human_bytes(total)}"
        if done:
            caption += f", {human_rate(done / elapsed)}"
        self.view.show_progress(fraction, caption)

    def _sync_cleanup(self) -> None:
        plan = self.state.cleanup
        if plan is None:
            return
        state = self.state
        rows = [(storage_text.cleanup_row(item, self.root), str(item.path)) for item in plan.items]
        # Items a new dry run no longer lists are no longer picked.
        state.cleanup_selected &= {path for _, path in rows}
        self.view.show_cleanup_rows(rows, state.cleanup_selected)
        total = [storage_text.cleanup_total(plan)]
        self.view.show_lines("cleanup_total", [self.view.cleanup_total], total)
        picked = len(state.cleanup_selected)
        clean_text = f"Clean {picked} selected…" if picked else CLEAN_ALL
        self.view.show_button_text(self.view.clean_button, "clean_text", clean_text)

    def _sync_confirmation(self) -> None:
        pending = self.state.pending_clean
        self.view.show_confirmation(
            None
            if pending is None
            else f"Delete {pending.what}? This frees {human_bytes(pending.bytes)}."
        )

    def _sync_notice(self) -> None:
        now = time.monotonic()
        newest: Notice | None = None
        for _, notice in esper.get_component(Notice):
            if notice.expires_at > now and (
                newest is None or notice.created_at >= newest.created_at
            ):
                newest = notice
        if newest is None:
            self.view.show_notice("", error=False)
        else:
            self.view.show_notice(newest.text, error=newest.level is NoticeLevel.ERROR)


def esper_request(kind: StorageJobKind, *names: str) -> None:
    esper.create_entity(StorageJobRequest(kind, tuple(names)))
