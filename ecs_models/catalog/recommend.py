"""Will it fit? Memory estimates from a tag's size, fit verdicts, and picks for this machine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecs_models.catalog.categories import categories_of
from ecs_models.catalog.model import CatalogEntry, TagInfo
from ecs_models.gguf.memory import (
    DEFAULT_CONTEXT,
    RUNTIME_BASE,
    FitVerdict,
    MachineMemory,
    MemoryEstimate,
    Verdict,
    judge_fit,
    measure_machine,
)

# From a download size alone (no GGUF header at hand): the weights are the download, the KV
# cache at Ollama's default context is about a tenth of them for today's GQA models, and the
# runtime adds its base and one batch of compute buffers. ecs_models.gguf.fit gives the exact
# figure from the header when a registry is reachable.
KV_SHARE = 0.10
BUFFERS_BYTES = 256 << 20
_PARAMETER_TAG = re.compile(r"^(?:e?\d+(?:\.\d+)?[kmbt]|\d+x\d+(?:\.\d+)?[kmbt])$")



def estimate_from_download_size(download_size: int) -> MemoryEstimate:
    """What a model of this download size needs at Ollama's default context, roughly."""
    return MemoryEstimate(
        weights_bytes=download_size,
        kv_cache_bytes=int(download_size * KV_SHARE),
        overhead_bytes=RUNTIME_BASE + BUFFERS_BYTES,
        context_length=DEFAULT_CONTEXT,
        kv_type="f16",
    )


def fit_for(download_size: int, memory: MachineMemory) -> FitVerdict:
    """fits / tight / too large for this machine, by ecs_models.gguf.memory's rules."""
    return judge_fit(estimate_from_download_size(download_size), memory)


@dataclass(frozen=True, slots=True)
class Recommendation:
    entry: CatalogEntry
    tag: TagInfo
    fit: FitVerdict

    @property
    def reference(self) -> str:
        return f"{self.entry.name}:{self.tag.name}"

    @property
    def reason(self) -> str:
        pulls = f"{self.entry.pulls:,} pulls" if self.entry.pulls else "listed"
        return f"{self.reference}: popular ({pulls}); {self.fit.reason}"


def _candidate_tags(entry: CatalogEntry) -> list[TagInfo]:
    sized = [t for t in entry.tags if t.size is not None and not t.cloud]
    # The default tag and the parameter-size tags ("8b") are the builds people mean to run.
    chosen = [t for t in sized if t.name == "latest" or _PARAMETER_TAG.match(t.name)]
    return chosen or sized


def best_fitting_tag(
    entry: CatalogEntry, memory: MachineMemory
) -> tuple[TagInfo, FitVerdict] | None:
    """The largest build of the model that fits in the memory free now, if any."""
    fitting = [
        (tag, fit)
        for tag in _candidate_tags(entry)
        if (fit := fit_for(tag.size or 0, memory)).verdict is Verdict.FITS
    ]
    if not fitting:
        return None
    return max(fitting, key=lambda pair: (pair[0].size or 0, pair[0].name != "latest"))


def recommend(
    entries: Iterable[CatalogEntry],
    memory: MachineMemory | None = None,
    *,
    limit: int = 10,
    category: str | None = None,
) -> list[Recommendation]:
    """Popular models whose build fits the RAM free now, most pulled first, with the reason."""
    measured = memory if memory is not None else measure_machine()
    picks: list[Recommendation] = []
    for entry in sorted(entries, key=lambda e: -(e.pulls or 0)):
        if category is not None and category not in categories_of(entry):
            continue
        best = best_fitting_tag(entry, measured)
        if best is not None:
            picks.append(Recommendation(entry, best[0], best[1]))
        if len(picks) >= limit:
            break
    return picks
