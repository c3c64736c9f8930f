"""UI set, Models area: widget intents become requests; widgets are synced from components on change."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import esper

from ecs_models.app.config import LocalModelConfig, ManagerSettings, ModelMetadata
from ecs_models.app.frame_state import InventoryState, SystemStatus
from ecs_models.app.health_records import HealthRecords
from ecs_models.app.model_filter import search_texts
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.sorting import sort_models
from ecs_models.app.store_totals import totals_text
from ecs_models.components import downloads as dl
from ecs_models.components.facts_cache import ModelFactsCache
from ecs_models.components.fit_cache import FitVerdicts
from ecs_models.components.installation import ModelInstallationTask, ModelInstallRequest
from ecs_models.components.lifecycle import (
    ModelRemoveRequest,
    ModelVerifyRequest,
    RemovalPlanRequest,
)
from ecs_models.components.model import InstalledModelEntry
from ecs_models.components.notice import Notice, NoticeLevel
from ecs_models.components.panel import ModelManagerPanel, RemovalConfirmation
from ecs_models.errors import InvalidNameError
from ecs_models.formatting import human_bytes, human_rate, progress_text
from ecs_models.names import parse_model_name
from ecs_models.show.facts import ModelFacts
from ecs_models.storage.create import human_number
from ecs_models.systems.captions import RowCaptions, whole_percent
from ecs_models.systems.downloads import task_display
from ecs_models.systems.notices import post_error
from ecs_models.transfer.progress import PullState
from ecs_models.ui.core.health_badge import badge_clock, health_badge, health_line
from ecs_models.ui.models import intents
from ecs_models.ui.models.view import ModelManagerView
from ecs_models.ui.widgets.confirm import name_list
from ecs_models.ui.widgets.downloads import DownloadRowView


def _queue_caption(position: int) -> str:
    return f"queued, #{position} in line" if position else "queued"


def task_caption(task: ModelInstallationTask) -> str:
    """The text drawn on a task's progress bar for its current state."""
    state = task.state
    retry = task.snapshot.retry if task.snapshot is not None else None
    if retry is not None and not state.finished:
        # "38 % · retrying 2/6 in 4 s · the connection was cut", counting down as frames pass.
        percent = f"{whole_percent(task.fraction)} % · " if task.bytes_total else ""
        return f"{percent}{retry.text()} · {retry.reason}"
    if state is PullState.QUEUED:
        return _queue_caption(task.queue_position)
    if state is PullState.RESOLVING:
        return "resolving manifest"
    if state is PullState.DOWNLOADING:
        text = progress_text(task.fraction, task.bytes_per_second, task.eta_seconds)
        source = task.snapshot.source_note if task.snapshot is not None else ""
        return f"{text} {source}" if source else text
    if state is PullState.VERIFYING:
        return "verifying digests"
    if state is PullState.WRITING:
        return "writing manifest"
    if state is PullState.DONE:
        return f"done, {human_bytes(task.bytes_total)}"
    if state is PullState.CANCELLED:
        return paused_caption(task)
    return "failed: " + (task.error or "unknown error")


def paused_caption(task: ModelInstallationTask) -> str:
    """'paused · 42 % · 20.1 MB of 48.0 MB': short enough for the bar of an 800 px window
    (the row's tooltip says more, such as where a found download came from)."""
    if not task.name_known:
        return f"{human_bytes(task.bytes_done)} here · no model names it"
    if task.bytes_total <= 0:
        return "paused before anything was downloaded"
    return (
        f"paused · {whole_percent(task.fraction)} % · "
        f"{human_bytes(task.bytes_done)} of {human_bytes(task.bytes_total)}"
    )


def row_actions(task: ModelInstallationTask) -> tuple[str, ...]:
    """The buttons a download's row offers in its state, left to right."""
    state = task.state
    if not state.finished:
        return (dl.DownloadAction.PAUSE.value,)
    if state is PullState.DONE:
        return (dl.DownloadAction.DISMISS.value,)
    actions = []
    if task.name_known:
        again = dl.DownloadAction.RESUME if state is PullState.CANCELLED else dl.DownloadAction.RETRY
        actions.append(again.value)
    if task.digests:  # blobs are known, so there may be a partial download to delete
        actions.append(dl.DownloadAction.DISCARD.value)
    actions.append(dl.DownloadAction.DISMISS.value)
    return tuple(actions)


def downloads_summary(tasks: list[ModelInstallationTask]) -> str:
    """'2 running · 1 paused · 1 failed' (states with no download are left out)."""
    counts: dict[str, int] = {}
    for task in tasks:
        if task.state is PullState.QUEUED:
            word = "queued"
        elif not task.state.finished:
            word = "running"
        else:
            word = {PullState.DONE: "done", PullState.CANCELLED: "paused"}.get(task.state, "failed")
        counts[word] = counts.get(word, 0) + 1
    order = ("running", "queued", "paused", "failed", "done")
    return "  ·  ".join(f"{counts[w]} {w}" for w in order if w in counts)


def discard_question(pending: dl.PendingDiscard) -> str:
    """'Discard the partial download of x? This deletes 48.0 MB; installing it again starts
    over.'"""
    plan = pending.plan
    text = f"Discard the partial download of {pending.display}? "
    text += f"This deletes {human_bytes(plan.reclaimable_bytes)}"
    if plan.reported:
        text += "; a blob another download is using right now stays"
    return text + "; installing it again starts over."


@dataclass(frozen=True, slots=True)
class Details:
    """What the details pane shows: text lines, and capability tags in line `tags_row`."""

    lines: list[str]
    tags: tuple[str, ...] = ()
    tags_row: int | None = None


def detail_lines(
    model: ModelMetadata | None,
    config: LocalModelConfig,
    fit: str | None = None,
    facts: ModelFacts | None = None,
    health: str | None = None,
) -> Details:
    """The focused model's facts; those from its GGUF header appear once `facts` is read.

    `health` is its health line (the last check's badge and what it found)."""
    if model is None:
        return Details(["Select a model to see its details."])
    reading = "…" if facts is None else "unknown"
    known = facts if facts is not None and facts.problem is None else None
    count = known.parameter_count if known is not None else None
    parameters = model.parameter_size or (human_number(count) if count else "")
    if count:
        parameters = f"{parameters} ({count:,})"
    lines = [
        f"Name: {model.display}",
        f"ID: {model.model_id}",
        f"Size: {human_bytes(model.size)}",
        f"Architecture: {(known and known.architecture) or model.family or reading}",
        f"Parameters: {parameters or reading}",
        f"Context length: {_number(known.context_length if known else None, reading)}",
        f"Embedding length: {_number(known.embedding_length if known else None, reading)}",
        f"Quantization: {model.quantization or (known and known.quantization) or reading}",
        f"Modified: {model.modified.astimezone().strftime('%Y-%m-%d %H:%M')}",
    ]
    if health:
        lines.append(health)
    tags: tuple[str, ...] = ()
    tags_row = len(lines)
    if facts is None:
        lines.append("Capabilities: reading the model file…")
    elif facts.problem is not None:
        lines.append(f"Model file: {facts.problem}")
    elif facts.capabilities:
        tags = facts.capabilities
        lines.append("")  # the tags' row
    else:
        lines.append("Capabilities: none known")
    if fit:
        lines.append(f"Fit: {fit}")
    stats = config.performance_stats.get(model.name)
    measured = []
    if stats is not None and stats.download_bytes_per_second:
        measured.append(f"pulled at {human_rate(stats.download_bytes_per_second)}")
    if stats is not None and stats.verify_seconds is not None:
        measured.append(f"verified in {stats.verify_seconds:.1f} s")
    if measured:
        lines.append("Measured: " + ", ".join(measured))
    return Details(lines, tags, tags_row if tags else None)


def _number(value: int | None, missing: str) -> str:
    return str(value) if value is not None else missing


def removal_question(pending: RemovalConfirmation) -> str:
    """'Remove a and b? This frees 1.2 GB; 300 MB other models share stays.'"""
    displays = [parse_model_name(n).display for n in pending.model_names]
    text = f"Remove {name_list(displays, 'models')}? "
    text += f"This frees {human_bytes(pending.bytes_freed)}"
    if pending.bytes_kept:
        text += f"; {human_bytes(pending.bytes_kept)} shared with other models stays"
    return text + "."


class UISystem(System):
    """The only system that touches pygame_gui, and always on the UI thread."""

    def __init__(self, resources: Resources, view: ModelManagerView) -> None:
        super().__init__()
        self.view = view
        self.config = resources.get(LocalModelConfig)
        self.settings = resources.get(ManagerSettings)
        self.inventory = resources.get(InventoryState)
        self.status = resources.get(SystemStatus)
        # Present when the Performance area computes fit verdicts (its FitSystem fills it).
        self.fits = resources.try_get(FitVerdicts)
        self.facts = resources.try_get(ModelFactsCache)
        self.downloads = resources.try_get(dl.DownloadsState)
        self.health = HealthRecords.of(resources)
        self._shown_inventory: tuple[object, ...] | None = None
        self._items: list[tuple[str, str]] = []
        self._search: dict[str, str] = {}
        self._shown_selection: frozenset[str] = frozenset()
        self._shown_details: tuple[object, ...] = ()
        self._notice_count = 0
        self._shown_status: tuple[object, ...] = ()
        self._totals: tuple[int, str] = (-1, "")  # inventory version, the models' bytes
        self._captions = RowCaptions()
        view.streams_menu.show(self.config.resource_limits.download_streams)

    def process(self, dt: float) -> None:
        panel_entities = esper.get_component(ModelManagerPanel)
        if not panel_entities:
            return
        _, panel = panel_entities[0]
        for intent in self.view.drain_intents():
            self._apply_intent(panel, intent)
        self._sync_tasks()
        self._sync_models(panel)
        self._sync_notices(panel)
        self._sync_status()

    # -- intents -> requests -----------------------------------------------------------
    def _apply_intent(self, panel: ModelManagerPanel, intent: intents.UiIntent) -> None:
        if isinstance(intent, intents.InputChanged):
            panel.installation_input = intent.text
        elif isinstance(intent, intents.InstallPressed):
            self._install(panel, intent.text)
        elif isinstance(intent, intents.DownloadButtonPressed):
            action = dl.DownloadAction(intent.action)
            esper.create_entity(dl.DownloadActionRequest(intent.task_entity, action))
        elif isinstance(intent, intents.ClearFinishedPressed):
            esper.create_entity(dl.ClearFinishedRequest())
        elif isinstance(intent, intents.DiscardAnswered):
            esper.create_entity(dl.DiscardAnswered(intent.confirmed))
        elif isinstance(intent, intents.SelectionChanged):
            if set(intent.selected) != panel.selected_models:
                # The question was about the rows highlighted when Remove was pressed.
                panel.pending_removal = None
            panel.selected_models = set(intent.selected)
            panel.focused_model = intent.focused
        elif isinstance(intent, intents.SortChanged):
            panel.sort_criteria = intent.criteria
        elif isinstance(intent, intents.RemovePressed):
            if not panel.selected_models:
                post_error("Select one or more installed models to remove.")
            else:
                esper.create_entity(RemovalPlanRequest(tuple(sorted(panel.selected_models))))
        elif isinstance(intent, intents.VerifyPressed):
            names = panel.selected_models or ({panel.focused_model} - {None})
            if not names:
                post_error("Select one or more installed models to verify.")
            else:
                esper.create_entity(ModelVerifyRequest(tuple(sorted(n for n in names if n))))
        elif isinstance(intent, intents.RemovalAnswered):
            pending, panel.pending_removal = panel.pending_removal, None
            if pending is not None and intent.confirmed:
                esper.create_entity(ModelRemoveRequest(pending.model_names))
        elif isinstance(intent, intents.StreamsChanged):
            # Pulls that start from now on open at most this many connections.
            self.config.resource_limits.download_streams = intent.count

    def _install(self, panel: ModelManagerPanel, text: str) -> None:
        esper.create_entity(ModelInstallRequest(text.strip(), insecure=self.settings.insecure))
        try:
            parse_model_name(text, default_host=self.settings.default_host)
        except InvalidNameError:
            return  # keep the text so the person can correct it; the notice says why
        self.view.clear_entry()
        panel.installation_input = ""

    # -- components -> widgets ---------------------------------------------------------
    def _sync_tasks(self) -> None:
        now = time.monotonic()
        rows = []
        tasks = sorted(esper.get_component(ModelInstallationTask), key=lambda pair: pair[0])
        for ent, task in tasks:
            fraction = 1.0 if task.state is PullState.DONE else task.fraction
            caption, fraction, changed = self._captions.read(
                ent, task.state, fraction, partial(task_caption, task), now
            )
            if changed and task.state is PullState.FAILED and task.typed:
                self.view.restore_entry(task.typed)  # no retyping a long name
            # Failed and paused rows explain themselves in full on hovering the bar.
            finished = task.state.finished and task.state is not PullState.DONE
            detail = (task.error or "") if finished else ""
            rows.append(
                DownloadRowView(
                    ent, task_display(task), fraction, caption, row_actions(task), detail
                )
            )
        self._captions.keep([ent for ent, _ in tasks])
        states = [task for _, task in tasks]
        can_clear = any(t.state in (PullState.DONE, PullState.FAILED) for t in states)
        self.view.show_tasks(rows, downloads_summary(states), can_clear)
        pending = self.downloads.pending_discard if self.downloads is not None else None
        if pending is None:
            self.view.show_discard_question(None)
        else:
            self.view.show_discard_question(pending.task_entity, discard_question(pending))

    def _sync_models(self, panel: ModelManagerPanel) -> None:
        now = badge_clock(time.time())
        key = (self.inventory.version, panel.sort_criteria, self.health.version, now)
        selection = frozenset(panel.selected_models)
        if key != self._shown_inventory:
            self._shown_inventory = key
            models = [entry.metadata for _, entry in esper.get_component(InstalledModelEntry)]
            ordered = sort_models(models, panel.sort_criteria)
            self._items = [(self._with_badge(m, self._item_text(m), now), m.name) for m in ordered]
            self._search = search_texts(models)
            self.view.show_sort(panel.sort_criteria)
            self.view.show_models(self._items, selection, self._search)
        elif selection != self._shown_selection:
            self.view.show_models(self._items, selection, self._search)
        self._shown_selection = selection
        # Details change with the focus, the inventory, or a finished verify (a notice appears).
        fits_version = self.fits.version if self.fits is not None else 0
        facts_version = self.facts.version if self.facts is not None else 0
        details_key = (
            panel.focused_model,
            self.inventory.version,
            self._notice_count,
            fits_version,
            facts_version,
            self.health.version,
            now,
        )
        if details_key != self._shown_details:
            self._shown_details = details_key
            focused = self.config.installed_models.get(panel.focused_model or "")
            fit = self.fits.line_for(panel.focused_model) if self.fits is not None else None
            facts = (
                self.facts.get(focused.digest)
                if self.facts is not None and focused is not None
                else None
            )
            health = (
                health_line(self.health.verdict(focused.name, focused.digest), now)
                if focused is not None
                else None
            )
            details = detail_lines(focused, self.config, fit, facts, health)
            self.view.show_details(details.lines, details.tags, details.tags_row)

    @staticmethod
    def _item_text(model: ModelMetadata) -> str:
        parts = [model.display, human_bytes(model.size)]
        if model.parameter_size:
            parts.append(model.parameter_size)
        return "   ".join(parts)

    def _with_badge(self, model: ModelMetadata, text: str, now: float) -> str:
        """A row's text with the model's health badge (its last check, if that still holds)."""
        verdict = self.health.verdict(model.name, model.digest)
        return f"{text}   {health_badge(verdict, now)}"

    def _sync_notices(self, panel: ModelManagerPanel) -> None:
        now = time.monotonic()
        newest: Notice | None = None
        notices = esper.get_component(Notice)
        self._notice_count = sum(1 for _ in notices)
        for ent, notice in notices:
            if notice.expires_at <= now:
                esper.delete_entity(ent)
            elif newest is None or notice.created_at >= newest.created_at:
                newest = notice
        if newest is None:
            self.view.show_notice("", error=False)
        else:
            self.view.show_notice(newest.text, error=newest.level is NoticeLevel.ERROR)
        pending = panel.pending_removal
        if pending is None:
            self.view.show_confirmation(None)
            return
        self.view.show_confirmation(removal_question(pending))

    def _sync_status(self) -> None:
        sample = self.status.sample
        key = (sample, self.inventory.version, self.inventory.loaded)
        if key == self._shown_status:
            return
        self._shown_status = key
        # The models' bytes first: on a narrow window the end of the line is cut.
        parts = []
        if self.inventory.loaded:
            if self._totals[0] != self.inventory.version:
                self._totals = (
                    self.inventory.version,
                    totals_text(self.config.installed_models.values()),
                )
            parts.append(self._totals[1])
        else:
            parts.append("Reading the models directory")
        if sample is None:
            parts.append("Measuring disk and memory")
        else:
            parts.append(f"Disk free {human_bytes(sample.disk_free)}")
            parts.append(
                f"RAM {human_bytes(sample.ram_available)} free of {human_bytes(sample.ram_total)}"
            )
            parts.append(f"CPU {sample.cpu_percent:.0f} %")
        self.view.show_status("  ·  ".join(parts))
