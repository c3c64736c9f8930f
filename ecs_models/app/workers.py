"""Every thread pool of the app, in one place that `plugin.close()` shuts down.

Downloads, disk chores, long storage jobs, model runtimes and host surveys each get their own
pool, so one kind of work never waits behind another.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

# Hosts asked at once; waiting on a silent host is all these threads do.
SURVEY_WORKERS = 4


class WorkerPools:
    """Downloads get their own pool so a long pull never delays a list scan or a removal plan."""

    def __init__(self, max_downloads: int) -> None:
        self.downloads = ThreadPoolExecutor(
            max_workers=max(1, max_downloads), thread_name_prefix="ecs-models-pull"
        )
        self.chores = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ecs-models-chore")
        # Hashing or copying whole models must not hold the chore pool (which also serves
        # inventory scans and system samples): long storage jobs get a thread of their own.
        self.long_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecs-models-storage")
        # One thread for model runtimes: loads, benchmarks and unloads run in order, so a model
        # is never freed while a benchmark still uses it, and two loads never compete for RAM.
        self.runtime = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecs-models-runtime")
        # Each Ollama host is surveyed on its own, so a silent host never delays another's row.
        self.surveys = ThreadPoolExecutor(
            max_workers=SURVEY_WORKERS, thread_name_prefix="ecs-models-hosts"
        )

    def shutdown(self, *, wait: bool = True) -> None:
        # cancel_futures drops work that never started; running work finishes (or was cancelled
        # through its own cancel event before this call).
        for pool in (self.downloads, self.chores, self.long_jobs, self.runtime, self.surveys):
            pool.shutdown(wait=wait, cancel_futures=True)
