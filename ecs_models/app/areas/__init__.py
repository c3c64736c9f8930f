"""The manager's extra areas, one module each; every module has `build(context) -> Area`.

A module listed here but not written yet is skipped, so areas can land one at a time.
"""

from __future__ import annotations

import importlib

from ecs_models.app.area import Area, AreaContext

AREA_MODULES = (
    "ecs_models.app.areas.discover",
    "ecs_models.app.areas.storage",
    "ecs_models.app.areas.performance",
    "ecs_models.app.areas.remote",
)


def build_areas(context: AreaContext) -> list[Area]:
    areas = []
    for name in AREA_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        areas.append(module.build(context))
    return areas
