"""What the user did in the Performance area, as plain data for its UI system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelPicked:
    model_name: str | None  # fully qualified; None when the selection was dropped


@dataclass(frozen=True, slots=True)
class LoadPressed:
    pass


@dataclass(frozen=True, slots=True)
class UnloadPressed:
    pass


@dataclass(frozen=True, slots=True)
class BenchmarkPressed:
    pass


PerformanceIntent = ModelPicked | LoadPressed | UnloadPressed | BenchmarkPressed
