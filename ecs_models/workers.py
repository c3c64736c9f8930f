"""The thread pools the systems hand blocking work to: downloads, and short disk chores."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


class WorkerPools:
    """Downloads get their own pool so a long pull never delays a list scan or a removal plan."""

    def __init__(self, max_downloads: int) -> None:
        self.downloads = ThreadPoolExecutor(
            max_workers=max(1, max_downloads), thread_name_prefix="ecs-models-pull"
        )
        self.chores = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ecs-models-chore")

    def shutdown(self, *, wait: bool = True) -> None:
        # cancel_futures drops work that never started; running work finishes (or was cancelled
        # through its own cancel event before this call).
        self.downloads.shutdown(wait=wait, cancel_futures=True)
        self.chores.shutdown(wait=wait, cancel_futures=True)
