"""Idle frame with the Performance tab shown vs the Models tab, 200 installed models (JSON)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frame_time import Window, idle_figures, populate

from ecs_models.components.model import InstalledModelEntry


def idle(models_dir: Path, count: int, tab: str, frames: int) -> dict[str, float]:
    window = Window(models_dir, None)
    try:
        deadline = time.monotonic() + 30
        while len(window.query(InstalledModelEntry)) < count:
            window.frame()
            if time.monotonic() > deadline:
                raise RuntimeError("the inventory never listed every model")
        window.plugin.show_tab(tab)
        for _ in range(60):  # first samples, list build, gauges drawn
            window.frame()
        return idle_figures(window, frames)
    finally:
        window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--frames", type=int, default=600)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-models-perf-tab-"))
    try:
        populate(work, args.models)
        result = {
            "installed_models": args.models,
            # Interleaved: the Models tab is the reference measured in the same run.
            "models_tab": idle(work, args.models, "Models", args.frames),
            "performance_tab": idle(work, args.models, "Performance", args.frames),
        }
        result["targets"] = {
            "performance_tab_idle_median_ms<=2": result["performance_tab"]["median_ms"] <= 2.0
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
