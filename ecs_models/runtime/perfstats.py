"""performance_stats: measured figures per model, kept as JSON lines in the store's state dir."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import psutil

from ecs_models.store.model_store import ModelStore

STATS_FILE = "performance.jsonl"
# The figures a record may carry; a record sets only the ones its measurement produced.
FIGURES = (
    "download_bytes_per_second",
    "verify_bytes_per_second",
    "load_seconds",
    "prompt_tokens_per_second",
    "generation_tokens_per_second",
    "time_to_first_token_seconds",
    "peak_memory_bytes",
)


@dataclass(slots=True)
class PerformanceRecord:
    """One measurement of one model: a pull, a verify or a benchmark run."""

    model: str  # the model's display name
    kind: str  # "download", "verify" or "benchmark"
    recorded_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    runtime: str | None = None  # "llama.cpp" or "ollama" for benchmarks
    digest: str | None = None  # manifest digest: a re-pulled tag is another model
    download_bytes_per_second: float | None = None
    verify_bytes_per_second: float | None = None
    load_seconds: float | None = None
    prompt_tokens_per_second: float | None = None
    generation_tokens_per_second: float | None = None
    time_to_first_token_seconds: float | None = None
    peak_memory_bytes: int | None = None
    machine: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> PerformanceRecord | None:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        if not isinstance(values.get("model"), str) or not isinstance(values.get("kind"), str):
            return None
        for name in FIGURES:
            if values.get(name) is not None and not isinstance(values[name], int | float):
                return None
        return cls(**values)


@dataclass(slots=True)
class ModelPerformance:
    """A model's latest value of every figure (each from its newest record) and its history."""

    model: str
    latest: dict[str, Any] = field(default_factory=dict)
    history: list[PerformanceRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "latest": self.latest,
            "history": [r.to_dict() for r in self.history],
        }


def machine_summary() -> dict[str, Any]:
    """Enough to tell two machines' figures apart: CPU, cores, RAM, OS, GPUs."""
    from ecs_models.gguf.memory import nvidia_gpus  # pynvml probing only when a record is made

    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "cores": psutil.cpu_count(logical=True),
        "ram_bytes": int(psutil.virtual_memory().total),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gpus": [f"{g.name} ({g.total} bytes)" for g in nvidia_gpus()],
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def stats_path(store: ModelStore) -> Path:
    return store.state_dir / STATS_FILE


def record(store: ModelStore, entry: PerformanceRecord) -> None:
    """Append one record; one O_APPEND write per line, so concurrent writers never interleave."""
    line = (json.dumps(entry.to_dict(), separators=(",", ":")) + "\n").encode()
    fd = os.open(stats_path(store), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def records(store: ModelStore, model: str | None = None) -> Iterator[PerformanceRecord]:
    """Every readable record, oldest first; damaged lines are skipped, never fatal."""
    try:
        handle = stats_path(store).open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            entry = PerformanceRecord.from_dict(doc) if isinstance(doc, dict) else None
            if entry is not None and (model is None or entry.model.lower() == model.lower()):
                yield entry


def performance(store: ModelStore, model: str | None = None) -> dict[str, ModelPerformance]:
    """Per model: the latest value of each figure and the full history, keyed by display name."""
    result: dict[str, ModelPerformance] = {}
    for entry in records(store, model):
        stats = result.setdefault(entry.model, ModelPerformance(entry.model))
        stats.history.append(entry)
        for name in FIGURES:
            value = getattr(entry, name)
            if value is not None:
                stats.latest[name] = value
        if entry.runtime is not None and entry.kind == "benchmark":
            stats.latest["runtime"] = entry.runtime
        stats.latest["recorded_at"] = entry.recorded_at
    return result
