"""UI set, Discover area: intents become requests; widgets follow DiscoverData when it changes."""

from __future__ import annotations

import esper

from ecs_models.app.config import ManagerSettings
from ecs_models.app.frame_state import InventoryState
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.catalog import CatalogEntry, Recommendation, SearchHit, categories_of
from ecs_models.components.discover import (
    CatalogLoadRequest,
    DiscoverData,
    DiscoverMode,
    DiscoverPanel,
    HeaderFitRequest,
    PendingUpdate,
    PinRequest,
    TagRow,
    TagsLoadRequest,
    UpdateCheckRequest,
)
from ecs_models.components.installation import ModelInstallationTask, ModelInstallRequest
from ecs_models.components.notice import Notice, NoticeLevel
from ecs_models.components.reachability import RegistryReachability
from ecs_models.formatting import human_bytes
from ecs_models.names import parse_model_name
from ecs_models.systems.discover_fit import header_failed_lines, header_fit_lines
from ecs_models.systems.discover_jobs import pull_reference
from ecs_models.systems.notices import post_error, post_notice
from ecs_models.ui.discover import intents as di
from ecs_models.ui.discover import text
from ecs_models.ui.discover.view import DiscoverView

# Rows shown at once: a person reads the top of a ranked list; 60 rows rebuild in ~15 ms.
MAX_ROWS = 60
CHAR_WIDTH = 7.4  # pixels per character of the default font, to clip rows to their list
MODELS_TAB_HINT = "its progress shows in the Models tab"


def _chars(width: int) -> int:
    return max(20, int((width - 24) / CHAR_WIDTH))


class DiscoverUISystem(System):
    """Touches only the Discover view's widgets, and only while its tab is shown."""

    def __init__(self, resources: Resources, view: DiscoverView) -> None:
        super().__init__()
        self.view = view
        self.data = resources.get(DiscoverData)
        self.panel = resources.get(DiscoverPanel)
        self.settings = resources.get(ManagerSettings)
        self.inventory = resources.get(InventoryState)
        self._shown: tuple[object, ...] = ()
        self._hits_key: tuple[object, ...] = ()
        self._hits: list[SearchHit] = []
        self._entries: dict[str, CatalogEntry] = {}
        self._entries_of: object = None
        self._inventory_seen = -1
        self._status_key: tuple[object, ...] = ()
        self._fit_asked: str | None = None
        self.reachability = resources.try_get(RegistryReachability)

    def _offline(self, host: str) -> str | None:
        return self.reachability.offline(host) if self.reachability is not None else None

    def process(self, dt: float) -> None:
        for intent in self.view.drain_intents():
            self._apply(intent)
        if not self.view.visible:
            return
        self._follow_inventory()
        offline = self.reachability.offline_hosts() if self.reachability is not None else ()
        key = (self.panel.version, self.data.version, self.view.layout, offline)
        if key != self._shown:
            self._shown = key
            self._sync()
        self._sync_notice()
        self._sync_status()

    # -- intents -> state and requests ---------------------------------------------------------
    def _apply(self, intent: di.DiscoverIntent) -> None:
        panel = self.panel
        if isinstance(intent, di.QueryChanged):
            panel.query = intent.text
        elif isinstance(intent, di.CategoryToggled):
            panel.category = None if panel.category == intent.category else intent.category
        elif isinstance(intent, di.SizeToggled):
            panel.size = None if panel.size == intent.size else intent.size
        elif isinstance(intent, di.SourceChosen):
            if intent.source != panel.source:
                panel.source = intent.source
                panel.selected_entry = panel.selected_tag = None
                esper.create_entity(CatalogLoadRequest(intent.source))
        elif isinstance(intent, di.RefreshPressed):
            esper.create_entity(CatalogLoadRequest(panel.source, refresh=True))
        elif isinstance(intent, di.ModeChosen):
            self._choose_mode(intent.mode)
        elif isinstance(intent, di.EntryChosen):
            self._choose_entry(intent.name, intent.tag)
        elif isinstance(intent, di.TagChosen):
            panel.selected_tag = intent.tag
        elif isinstance(intent, di.InstallPressed):
            self._install()
        elif isinstance(intent, di.CheckPressed):
            self._choose_mode(DiscoverMode.UPDATES, check=False)
            esper.create_entity(UpdateCheckRequest(fresh=True))
        elif isinstance(intent, di.ModelChosen):
            panel.selected_model = intent.name
        elif isinstance(intent, di.UpdatePressed):
            self._update(every=intent.every)
        elif isinstance(intent, di.PinPressed):
            if panel.selected_model is None:
                post_error("Select an installed model in the Updates list to pin or unpin it.")
            else:
                esper.create_entity(PinRequest(panel.selected_model, intent.pinned))
        panel.changed()

    def _choose_mode(self, mode: DiscoverMode, *, check: bool = True) -> None:
        self.panel.mode = mode
        if mode is DiscoverMode.UPDATES and check and not (self.data.checked or self.data.checking):
            # The first visit checks (answers stay cached a few minutes); the button asks afresh.
            esper.create_entity(UpdateCheckRequest(fresh=False))

    def _choose_entry(self, name: str, tag: str | None) -> None:
        panel = self.panel
        entry = self._entry(name)
        if entry is None:
            return
        panel.selected_entry = name
        panel.selected_tag = tag
        esper.create_entity(TagsLoadRequest(entry))

    def _entry(self, name: str | None) -> CatalogEntry | None:
        catalog = self.data.catalog
        if catalog is None or name is None:
            return None
        if self._entries_of is not catalog:
            self._entries_of = catalog
            self._entries = {e.name: e for e in catalog.result.entries}
        return self._entries.get(name)

    def _chosen_tag(self, entry: CatalogEntry) -> tuple[str, TagRow | None]:
        """The tag Install pulls: the one picked, else the default tag."""
        tags = self.data.tags
        rows = tags.rows if tags is not None and tags.entry_name == entry.name else ()
        wanted = self.panel.selected_tag
        if wanted is None and self.panel.mode is DiscoverMode.RECOMMENDED:
            wanted = next((p.tag.name for p in self._recommendations() if p.entry is entry), None)
        if wanted is None:
            default = entry.default_tag
            wanted = default.name if default is not None else (rows[0].name if rows else "latest")
        row = next((r for r in rows if r.name == wanted), None)
        return wanted, row

    def _ask_header_fit(self, row: TagRow | None) -> None:
        """A new install candidate is shown: read its real shape off-frame (cached by digest)."""
        if row is None or (row.cloud and row.size is None) or row.reference == self._fit_asked:
            return
        self._fit_asked = row.reference
        esper.create_entity(HeaderFitRequest(row.reference))

    def _fit_lines(self, row: TagRow | None, width: int) -> list[str]:
        """The header fit when it arrived; else the size-based one, with why the header is not."""
        fit = self.data.header_fits.get(row.reference) if row is not None else None
        if fit is not None and fit.report is not None:
            return header_fit_lines(fit, width)
        lines = text.fit_details(row, width)
        if lines and fit is not None and fit.error is not None:
            # The size-based verdict stays; the note takes the place of its breakdown.
            lines = lines[:1] + header_failed_lines(fit.error, width)
        return lines

    def _install(self) -> None:
        entry = self._entry(self.panel.selected_entry)
        if entry is None:
            post_error("Select a model in the results to install it.")
            return
        tag, row = self._chosen_tag(entry)
        if row is not None and row.cloud and row.size is None:
            post_error(f"{entry.name}:{tag} runs only on Ollama's cloud; pick another tag.")
            return
        reference = row.reference if row is not None else pull_reference(entry, tag)
        # Exactly what the Models tab's entry makes: the installation system takes it from here.
        esper.create_entity(ModelInstallRequest(reference, insecure=self.settings.insecure))
        post_notice(f"Installing {parse_model_name(reference).display}: {MODELS_TAB_HINT}.")

    def _update(self, *, every: bool) -> None:
        statuses = self.data.statuses
        if not statuses:
            post_error("Check for updates first.")
            return
        if every:
            chosen = [s for s in statuses.values() if s.outdated]
        else:
            selected = statuses.get(self.panel.selected_model or "")
            if selected is None:
                post_error("Select an installed model in the Updates list to update it.")
                return
            if not selected.outdated:
                post_notice(f"{selected.model.display} is {selected.state}; nothing to update.")
                return
            chosen = [selected]
        pinned = [s for s in chosen if s.pinned]
        todo = [s for s in chosen if not s.pinned]
        for status in todo:
            # One request per model: the installation system runs them through its queue (at most
            # max_concurrent_downloads at once) and shows each in the Models tab's task rows.
            esper.create_entity(
                ModelInstallRequest(str(status.model.name), insecure=self.settings.insecure),
                PendingUpdate(str(status.model.name)),
            )
        skipped = f"; skipped {len(pinned)} pinned" if pinned else ""
        if todo:
            names = ", ".join(s.model.display for s in todo[:3]) + ("…" if len(todo) > 3 else "")
            post_notice(f"Updating {names}{skipped}: {MODELS_TAB_HINT}.")
        elif pinned:
            post_notice(f"Nothing updated{skipped} (unpin a model to update it).")
        else:
            post_notice("Every installed model is up to date.")

    # -- data -> widgets -----------------------------------------------------------------------
    def _follow_inventory(self) -> None:
        # An install or removal changes what is already here: read the shown tags again.
        version = self.inventory.version
        if version == self._inventory_seen:
            return
        first = self._inventory_seen < 0
        self._inventory_seen = version
        entry = self._entry(self.panel.selected_entry)
        if not first and entry is not None and self.panel.mode is not DiscoverMode.UPDATES:
            esper.create_entity(TagsLoadRequest(entry))

    def _search(self) -> list[SearchHit]:
        catalog = self.data.catalog
        panel = self.panel
        key = (catalog, panel.query, panel.category, panel.size)
        if key != self._hits_key:
            self._hits_key = key
            self._hits = (
                catalog.index.search(
                    panel.query, category=panel.category, size=panel.size, limit=MAX_ROWS
                )
                if catalog is not None
                else []
            )
        return self._hits

    def _recommendations(self) -> list[Recommendation]:
        catalog = self.data.catalog
        if catalog is None:
            return []
        category = self.panel.category
        return [
            r
            for r in catalog.recommendations
            if category is None or category in categories_of(r.entry)
        ]

    def _sync(self) -> None:
        view, panel, data = self.view, self.panel, self.data
        view.show_mode(panel.mode)
        view.show_chips(panel.category, panel.size)
        width = _chars(view.layout.results.width)
        if panel.mode is DiscoverMode.UPDATES:
            rows = [
                (text.status_row(s, width), name)
                for name, s in sorted(data.statuses.items(), key=lambda p: p[1].model.display)
            ]
            view.results.show(rows, panel.selected_model)
        elif panel.mode is DiscoverMode.RECOMMENDED:
            picks = self._recommendations()
            rows = [
                (text.recommendation_row(p, width), f"{p.entry.name}\t{p.tag.name}") for p in picks
            ]
            chosen = next((k for _, k in rows if k.split("\t")[0] == panel.selected_entry), None)
            view.results.show(rows, chosen)
        else:
            memory = data.catalog.memory if data.catalog is not None else None
            hits = self._search()
            view.results.show(
                [(text.result_row(h.entry, memory, width), h.entry.name) for h in hits],
                panel.selected_entry,
            )
        view.show_origin(self._origin_text())
        if panel.mode is DiscoverMode.UPDATES:
            self._sync_update_details()
        else:
            self._sync_entry_details()

    def _origin_text(self) -> str:
        data, panel = self.data, self.panel
        if panel.mode is DiscoverMode.UPDATES:
            if data.checking:
                return "Asking the registries about installed models…"
            if not data.checked:
                return "Check for updates compares each installed model with its registry."
            outdated = sum(1 for s in data.statuses.values() if s.outdated)
            return f"{len(data.statuses)} installed models checked, {outdated} with an update."
        if data.catalog is None:
            return data.catalog_error or f"Loading the catalog of {panel.source}…"
        line = text.origin_text(data.catalog.result)
        if data.catalog_loading:
            line += " · refreshing in the background…"
        if panel.mode is DiscoverMode.RECOMMENDED:
            memory = data.catalog.memory
            line = f"Popular builds that fit the {human_bytes(memory.ram_available)} of RAM free now · {line}"
        return text.clip(line, _chars(self.view.layout.origin.width))

    def _sync_entry_details(self) -> None:
        view, panel, data = self.view, self.panel, self.data
        width = _chars(view.layout.details[0].width)
        entry = self._entry(panel.selected_entry)
        if entry is None:
            view.show_details(["Select a model to see its tags, sizes and fit for this machine."])
            view.show_tags_label("")
            view.tags.show([], None)
            view.show_install("Install", False)
            return
        pick = None
        if panel.mode is DiscoverMode.RECOMMENDED and data.catalog is not None:
            pick = next(
                (r for r in data.catalog.recommendations if r.entry.name == entry.name), None
            )
        tag, row = self._chosen_tag(entry)
        lines = text.entry_details(entry, width, pick)
        if pick is None:
            self._ask_header_fit(row)
            lines += self._fit_lines(row, width)
        view.show_details(lines)
        tags = data.tags if data.tags is not None and data.tags.entry_name == entry.name else None
        if data.tags_loading == entry.name and tags is None:
            view.show_tags_label("Reading its tags…")
        elif tags is None:
            view.show_tags_label("")
        elif tags.notice and not tags.rows:
            view.show_tags_label(text.clip(tags.notice, width))
        else:
            here = sum(1 for r in tags.rows if r.installed)
            view.show_tags_label(
                f"{len(tags.rows)} tags: size, fit, what is here"
                + (f" ({here} installed)" if here else "")
            )
        tag_rows = [(text.tag_row(r, width), r.name) for r in (tags.rows if tags else ())]
        view.tags.show(tag_rows, tag)
        name = parse_model_name(row.reference) if row else None
        display = name.display if name is not None else f"{entry.name}:{tag}"
        offline = self._offline(name.host) if name is not None else None
        if offline is not None:
            # Not offered while the app already knows it would fail; the tags line says why.
            view.show_install("Registry offline", False)
            view.show_tags_label(text.clip(offline, width))
            return
        view.show_install("Install " + text.clip_middle(display, width - 8), True)

    def _sync_update_details(self) -> None:
        view, panel, data = self.view, self.panel, self.data
        width = _chars(view.layout.details[0].width)
        status = data.statuses.get(panel.selected_model or "")
        if status is None:
            view.show_details(
                [
                    "Select an installed model to see what an update downloads.",
                    "Update all updates every outdated model that is not pinned.",
                ]
            )
        else:
            view.show_details(text.status_details(status, width))

    def _sync_notice(self) -> None:
        newest: Notice | None = None
        for _, notice in esper.get_component(Notice):
            if newest is None or notice.created_at >= newest.created_at:
                newest = notice
        if newest is None:
            self.view.show_notice("", error=False)
        else:
            self.view.show_notice(newest.text, error=newest.level is NoticeLevel.ERROR)

    def _sync_status(self) -> None:
        running = sum(
            1 for _, t in esper.get_component(ModelInstallationTask) if not t.state.finished
        )
        shown = len(self.view.results.texts)
        total = len(self.data.catalog.result.entries) if self.data.catalog else 0
        key = (running, shown, total, self.panel.mode)
        if key == self._status_key:
            return
        self._status_key = key
        parts = []
        if self.panel.mode is not DiscoverMode.UPDATES:
            parts.append(f"{shown} shown of {total}")
        else:
            parts.append(f"{shown} installed models")
        if running:
            parts.append(
                f"{running} download{'s' if running > 1 else ''} running: see the Models tab"
            )
        self.view.show_status("  ·  ".join(parts))
