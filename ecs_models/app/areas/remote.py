"""The Remote area (the "Hosts" module): push and mirror to registries, several Ollama hosts."""

from __future__ import annotations

from ecs_models.app.area import Area, AreaContext
from ecs_models.app.recent_destinations import load_recent, recent_destinations_file
from ecs_models.app.schedule import ModelManagementSystemSet
from ecs_models.components.remote_state import RemoteState
from ecs_models.errors import EcsModelsError
from ecs_models.runtime.hosts import HostList, hosts_file
from ecs_models.systems.remote import HostsSystem, RemoteTransferSystem
from ecs_models.systems.remote_mirrors import MirrorsSystem
from ecs_models.systems.remote_ui import RemoteUISystem
from ecs_models.ui.remote.view import RemoteView

TITLE = "Remote"


def build(context: AreaContext) -> Area:
    state = context.resources.try_get(RemoteState)
    if state is None:
        # Two small files, read once while the area is built (never in a frame).
        state = RemoteState(hosts_path=hosts_file(), recent_path=recent_destinations_file())
        state.recent = load_recent(state.recent_path)
        try:
            state.hosts = HostList(state.hosts_path).load()
        except EcsModelsError as exc:
            state.set_result(str(exc), error=True)
        context.resources.insert(state)
    view = RemoteView(context.manager, context.rect)
    sets = ModelManagementSystemSet
    return Area(
        title=TITLE,
        view=view,
        systems=[
            (sets.INSTALLATION, RemoteTransferSystem(context.resources)),
            (sets.LIFECYCLE, HostsSystem(context.resources)),
            (sets.LIFECYCLE, MirrorsSystem(context.resources)),
            (sets.UI, RemoteUISystem(context.resources, view)),
        ],
        # The mirrors are read again on each show: `mirrors add` may have changed the file.
        on_show=[state.request_survey, state.reload_mirrors],
    )
