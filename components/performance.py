"""Requests of the Performance area and the runtime jobs serving them."""

from __future__ import annotations

import enum
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ModelLoadRequest:
    """Load an installed model into the model cache (llama.cpp); benchmark it once loaded."""

    model_name: str  # fully qualified
    benchmark: bool = False


@dataclass(slots=True)
class ModelUnloadRequest:
    model_name: str


class RuntimeJobKind(enum.StrEnum):
    PLAN = "plan"  # resolve + fit estimate against the budget, on the chores pool
    LOAD = "load"  # llama.cpp load, on the runtime pool
    BENCHMARK = "benchmark"  # the fixed benchmark on the loaded model, on the runtime pool


@dataclass(slots=True)
class RuntimeJob:
    """One step of a load or benchmark; the runtime system applies its result."""

    kind: RuntimeJobKind
    model_name: str
    future: Future[Any]
    benchmark: bool = False
    plan: Any = None  # the LoadPlan a LOAD job carries out
    started_at: float = 0.0


@dataclass(slots=True)
class PerformanceSelection:
    """A resource: the model the Performance area shows (fully qualified name) and whether the
    in-process runtime can run (None: still finding out; '' : yes; else the reason it cannot)."""

    model_name: str | None = None
    runtime_missing: str | None = None
