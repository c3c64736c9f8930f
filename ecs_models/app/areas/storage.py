"""The Storage tab: storage report, disk gauge, cleanup, verify and repair, export and import."""

from __future__ import annotations

from typing import Any

from ecs_models.app.area import Area, AreaContext
from ecs_models.app.schedule import ModelManagementSystemSet
from ecs_models.components.storage import StorageSettings, StorageState
from ecs_models.systems.storage import StorageSystem
from ecs_models.systems.storage_ui import StorageUISystem
from ecs_models.ui.storage.view import StorageView

TITLE = "Storage"

# Left-aligned rows for the report and cleanup lists (merged into the host's theme).
THEME: dict[str, Any] = {
    "#ecsm_storage_list.@selection_list_item": {
        "misc": {"text_horiz_alignment": "left", "text_horiz_alignment_padding": "6"}
    }
}


def build(context: AreaContext) -> Area:
    resources = context.resources
    if StorageSettings not in resources:
        resources.insert(StorageSettings())
    resources.insert(StorageState())
    context.manager.get_theme().load_theme(THEME)
    view = StorageView(context.manager, context.rect)
    jobs = StorageSystem(resources)
    ui = StorageUISystem(resources, view)
    return Area(
        title=TITLE,
        view=view,
        systems=[(ModelManagementSystemSet.LIFECYCLE, jobs), (ModelManagementSystemSet.UI, ui)],
        on_show=[ui.on_show],
        on_close=[jobs.close],
    )
