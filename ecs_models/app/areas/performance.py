"""The Performance tab: system monitor, the app's FPS, fit, stats and the llama.cpp model cache."""

from __future__ import annotations

from ecs_models.app.area import Area, AreaContext
from ecs_models.app.config import ManagerSettings
from ecs_models.app.frame_clock import FrameClock
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import ModelManagementSystemSet
from ecs_models.components.fit_cache import FitVerdicts
from ecs_models.components.performance import PerformanceSelection
from ecs_models.runtime.machine import SystemSampler
from ecs_models.systems.performance_runtime import FitSystem, RuntimeSystem
from ecs_models.systems.performance_ui import PerformanceAreaSystem
from ecs_models.ui.performance.view import PerformanceView

TITLE = "Performance"


def _ensure(resources: Resources, value: object) -> None:
    if type(value) not in resources:
        resources.insert(value)


def build(context: AreaContext) -> Area:
    resources = context.resources
    # Inserted before the plugin builds its own systems, which then share them.
    for value in (PerformanceSelection(), FitVerdicts(), FrameClock()):
        _ensure(resources, value)
    if SystemSampler not in resources:
        resources.insert(SystemSampler(resources.get(ManagerSettings).models_dir))
    runtime = RuntimeSystem(resources)
    # Closing the plugin kills the view after the worker pools stopped: free loaded models then.
    view = PerformanceView(context.manager, context.rect, on_close=runtime.unload_all)
    sets = ModelManagementSystemSet
    return Area(
        title=TITLE,
        view=view,
        systems=[
            (sets.PERFORMANCE, runtime),
            (sets.PERFORMANCE, FitSystem(resources)),
            (sets.UI, PerformanceAreaSystem(resources, view)),
        ],
        on_show=[runtime.probe_runtime],
    )
