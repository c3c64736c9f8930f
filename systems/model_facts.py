"""Lifecycle set: read the focused model's facts (its GGUF header) on a worker, once per manifest."""

from __future__ import annotations

import esper

from ecs_models.app.config import LocalModelConfig
from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.app.workers import WorkerPools
from ecs_models.components.facts_cache import ModelFactsCache
from ecs_models.components.panel import ModelManagerPanel
from ecs_models.errors import EcsModelsError
from ecs_models.explain import explain
from ecs_models.show.facts import ModelFacts, model_facts
from ecs_models.store.model_store import ModelStore


def read_facts(store: ModelStore, name: str) -> ModelFacts:
    """On a worker: the model's manifest, config and GGUF header; never raises."""
    try:
        return model_facts(store, store.resolve(name))
    except (EcsModelsError, OSError) as exc:
        return _unreadable(explain(exc))
    except Exception as exc:  # a worker must hand back a sentence, not a traceback
        return _unreadable(f"Reading the model failed unexpectedly: {exc.__class__.__name__}.")


def _unreadable(problem: str) -> ModelFacts:
    return ModelFacts(None, None, None, None, None, None, (), problem)


class ModelFactsSystem(System):
    """Submits a facts read for the focused model when its manifest has none yet; never waits."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.config = resources.get(LocalModelConfig)
        self.store = resources.get(ModelStore)
        self.pools = resources.get(WorkerPools)
        self.cache = resources.get(ModelFactsCache)

    def process(self, dt: float) -> None:
        for digest, future in list(self.cache.pending.items()):
            if future.done():
                del self.cache.pending[digest]
                self.cache.put(digest, future.result())
        for _, panel in esper.get_component(ModelManagerPanel):
            metadata = self.config.installed_models.get(panel.focused_model or "")
            if metadata is not None and self.cache.wanted(metadata.digest):
                self.cache.pending[metadata.digest] = self.pools.chores.submit(
                    read_facts, self.store, metadata.name
                )
