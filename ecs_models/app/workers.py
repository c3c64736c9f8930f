"""The thread pools the systems hand blocking work to: downloads, disk chores, model runtimes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class WorkerPools:
    """Downloads get their own pool so a long pull never delays a list scan or a removal plan."""

    def __init__(self, max_downloads: int) -> None:
        self.downloads = ThreadPoolExecutor(
            max_workers=max(1, max_downloads), thread_name_prefix="ecs-models-pull"
        )
        self.chores = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ecs-models-chore")
        # One thread for model runtimes: loads, benchmarks and unloads run in order, so a model
        # is never freed while a benchmark still uses it, and two loads never compete for RAM.
        self.runtime = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecs-models-runtime")

    def shutdown(self, *, wait: bool = True) -> None:
        # cancel_futures drops work that never started; running work finishes (or was cancelled
        # through its own cancel event before this call).
        self.downloads.shutdown(wait=wait, cancel_futures=True)
        self.chores.shutdown(wait=wait, cancel_futures=True)
        self.runtime.shutdown(wait=wait, cancel_futures=True)
