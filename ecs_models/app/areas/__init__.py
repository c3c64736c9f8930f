"""The manager's areas beside Models, one module each with `build(context) -> Area`.

AREA_BUILDERS lists them in tab order; an area missing here is a bug, never skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable

from ecs_models.app.area import Area, AreaContext
from ecs_models.app.areas import discover, performance, remote, storage

AREA_BUILDERS: tuple[Callable[[AreaContext], Area], ...] = (
    discover.build,
    storage.build,
    performance.build,
    remote.build,
)


def build_areas(context: AreaContext) -> list[Area]:
    return [build(context) for build in AREA_BUILDERS]
