"""Orders installed models by the criteria the Models view's sort selector offers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from ecs_models.app.config import ModelMetadata
from ecs_models.components.panel import ModelSortCriteria
from ecs_models.formatting import parameter_count

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Name breaks every tie so the order is stable frame to frame. Sizes and dates sort largest and
# newest first: that is what a person looking for space or for recent pulls wants on top.
_KEYS: dict[ModelSortCriteria, tuple[Callable[[ModelMetadata], Any], bool]] = {
    ModelSortCriteria.NAME: (lambda m: m.display.lower(), False),
    ModelSortCriteria.SIZE: (lambda m: m.size, True),
    ModelSortCriteria.MODIFIED: (lambda m: m.modified, True),
    ModelSortCriteria.FAMILY: (lambda m: (m.family or "~").lower(), False),
    ModelSortCriteria.PARAMETER_SIZE: (lambda m: parameter_count(m.parameter_size), True),
    ModelSortCriteria.LAST_USED: (lambda m: m.last_used or _EPOCH, True),
}


def sort_models(
    models: Iterable[ModelMetadata], criteria: ModelSortCriteria
) -> list[ModelMetadata]:
    key, newest_first = _KEYS[criteria]
    by_name = sorted(models, key=lambda m: m.display.lower())
    return sorted(by_name, key=key, reverse=newest_first)
