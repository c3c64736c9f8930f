"""The Remote area's blocking jobs, run on worker threads; each returns its one-sentence result."""

from __future__ import annotations

import threading

from ecs_models.formatting import human_bytes
from ecs_models.names import ModelName, parse_model_name
from ecs_models.registry.mirror_probe import MirrorProbe, probe_mirrors
from ecs_models.registry.mirrors import MIRRORS_ENV, ListedMirror, MirrorList, listed_mirrors
from ecs_models.runtime.hosts import OllamaHost
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.mirror import MirrorJob, mirror_models
from ecs_models.transfer.progress import PullProgress
from ecs_models.transfer.push import PushOptions, PushResult, push_model


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _what_happened(result: PushResult) -> str:
    parts = [f"{_plural(len(result.uploaded), 'blob')} uploaded"]
    if result.mounted:
        parts.append(f"{len(result.mounted)} mounted")
    if result.present:
        parts.append(f"{len(result.present)} already there")
    return f"{', '.join(parts)}, {human_bytes(result.bytes_sent)} sent in {result.seconds:.1f} s"


def push_job(
    store: ModelStore,
    source: str,
    dest: ModelName,
    options: PushOptions,
    progress: PullProgress,
    cancel: threading.Event,
) -> str:
    result = push_model(source, store, dest, progress=progress, cancel=cancel, options=options)
    shown = parse_model_name(source, default_host=options.default_host).display
    return f"Pushed {shown} to {result.name.display}: {_what_happened(result)}."


def mirror_job(
    store: ModelStore,
    job: MirrorJob,
    options: PushOptions,
    progress: PullProgress,
    cancel: threading.Event,
) -> str:
    (result,) = mirror_models(
        [job], store, progress_for=lambda _job: progress, cancel=cancel, options=options
    )
    return (
        f"Mirrored {job.source.display} to {result.name.display} byte for byte: "
        f"{_what_happened(result)}."
    )


def host_pull_job(url: str, model: str, progress: PullProgress, cancel: threading.Event) -> str:
    with OllamaHost(url) as host:
        host.pull(model, progress, cancel)
    return f"{url} pulled {model}."


def host_delete_job(url: str, model: str) -> str:
    with OllamaHost(url, timeout=30.0) as host:
        host.delete(model)
    return f"Deleted {model} on {url}."


def mirrors_list_job() -> list[ListedMirror]:
    return listed_mirrors()


def mirror_add_job(text: str, default_host: str) -> tuple[str, list[ListedMirror]]:
    """`UPSTREAM=URL`, or a URL alone for the default registry, appended to mirrors.json."""
    upstream, sep, url = text.strip().partition("=")
    if not sep:
        upstream, url = default_host, text
    host, added = MirrorList().add(upstream, url)
    listed = listed_mirrors()
    note = ""
    if any(row.upstream == host and row.origin == MIRRORS_ENV for row in listed):
        note = f"; {MIRRORS_ENV} decides {host}'s mirrors while it is set"
    return f"Added {added} as a mirror of {host}{note}.", listed


def mirror_remove_job(upstream: str, url: str) -> tuple[str, list[ListedMirror]]:
    (removed,) = MirrorList().remove(upstream, url)
    return f"Removed {removed} from the mirrors of {upstream}.", listed_mirrors()


def mirrors_test_job(rows: list[ListedMirror], insecure: bool) -> list[MirrorProbe]:
    return probe_mirrors([(row.upstream, row.mirror) for row in rows], insecure=insecure)
