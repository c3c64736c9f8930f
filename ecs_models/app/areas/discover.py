"""The Discover tab: search the catalog, see tags, sizes and fit, install, and keep models current."""

from __future__ import annotations

from ecs_models.app.area import Area, AreaContext
from ecs_models.app.config import ManagerSettings
from ecs_models.app.schedule import ModelManagementSystemSet
from ecs_models.catalog import Catalog
from ecs_models.components.discover import (
    OLLAMA_SOURCE,
    CatalogLoadRequest,
    DiscoverData,
    DiscoverPanel,
)
from ecs_models.names import DEFAULT_HOST
from ecs_models.systems.discover import DiscoverWorkSystem
from ecs_models.systems.discover_ui import DiscoverUISystem
from ecs_models.ui.discover.view import DiscoverView

TITLE = "Discover"


def sources_for(settings: ManagerSettings) -> list[str]:
    """ollama.com's library, and the configured registry's own catalog when it is another."""
    host = settings.default_host
    return [OLLAMA_SOURCE] if host.lower() == DEFAULT_HOST else [OLLAMA_SOURCE, host]


class _FirstShow:
    """Loads the catalog (on a worker) the first time the tab opens, then focuses the search."""

    def __init__(self, view: DiscoverView, panel: DiscoverPanel, data: DiscoverData) -> None:
        self.view, self.panel, self.data = view, panel, data
        self.pending: list[CatalogLoadRequest] = []

    def __call__(self) -> None:
        if self.data.catalog is None and not self.data.catalog_loading and not self.pending:
            # A request component needs the plugin's world: the work system picks this up there.
            self.pending.append(CatalogLoadRequest(self.panel.source, quick=True))
        self.view.focus_entry()


def build(context: AreaContext) -> Area:
    settings = context.resources.get(ManagerSettings)
    data, panel = DiscoverData(), DiscoverPanel()
    context.resources.insert(data)
    context.resources.insert(panel)
    view = DiscoverView(context.manager, context.rect, sources_for(settings))
    first_show = _FirstShow(view, panel, data)
    catalog = Catalog()
    work = DiscoverWorkSystem(context.resources, catalog, first_show.pending)
    return Area(
        title=TITLE,
        view=view,
        systems=[
            (ModelManagementSystemSet.LIFECYCLE, work),
            (ModelManagementSystemSet.UI, DiscoverUISystem(context.resources, view)),
        ],
        on_show=[first_show],
        on_close=[catalog.close],  # its ollama.com HTTP client
    )
