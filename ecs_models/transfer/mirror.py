"""Mirror models from one registry to another byte for byte, from the store or relayed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ecs_models.errors import EcsModelsError, ModelNotFoundError
from ecs_models.manifest import Manifest
from ecs_models.names import DEFAULT_HOST, ModelName, parse_model_name
from ecs_models.registry.blobhttp import ConnectionPool
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.blobdownload import fetch_settings
from ecs_models.transfer.blobsource import BlobSource, FileBlobSource, RegistryBlobSource
from ecs_models.transfer.progress import PullProgress, PullState
from ecs_models.transfer.pull import PullOptions
from ecs_models.transfer.push import (
    HINTS_FILE_NAME,
    MountHints,
    PushOptions,
    PushResult,
    resolve_destination,
    unique_blobs,
    upload_manifest,
)


@dataclass(frozen=True, slots=True)
class MirrorJob:
    """One model to copy: from where, to where."""

    source: ModelName
    dest: ModelName


def plan_mirror(
    sources: Sequence[str],
    dest: str,
    store: ModelStore,
    *,
    all_installed: bool = False,
    default_host: str = DEFAULT_HOST,
) -> list[MirrorJob]:
    """Turn the command line's SRC... DEST [--all] into jobs.

    With several sources, or with `all_installed` (each source is then a prefix: a host,
    host/namespace or host/namespace/model whose installed models all go), DEST is a registry
    host or host/namespace and each model keeps the rest of its name.
    """
    if not sources:
        raise EcsModelsError("Name at least one model (or a registry host with --all) to mirror.")
    names: list[ModelName] = []
    if all_installed:
        installed = store.list_models()
        for prefix in sources:
            matched = [m.name for m in installed if _under(m.name, prefix)]
            if not matched:
                raise ModelNotFoundError(f"No installed model is under {prefix}.")
            names.extend(matched)
    else:
        names = [parse_model_name(text, default_host=default_host) for text in sources]
    if (all_installed or len(names) > 1) and not dest.endswith("/"):
        dest += "/"  # several models can only go under a host or a namespace
    jobs = [MirrorJob(n, resolve_destination(n, dest, default_host=default_host)) for n in names]
    unique = list(dict.fromkeys(jobs))
    targets = [str(j.dest) for j in unique]
    if len(set(targets)) != len(targets):
        raise EcsModelsError(f"Several models would land on the same name under {dest}.")
    return unique


def _under(name: ModelName, prefix: str) -> bool:
    wanted = [p.lower() for p in prefix.strip().strip("/").split("/") if p]
    have = [name.host.lower(), name.namespace.lower(), name.model.lower()]
    if wanted and ":" in wanted[-1] and len(wanted) == 3:
        model, _, tag = wanted[-1].partition(":")
        return have[:2] == wanted[:2] and have[2] == model and name.tag.lower() == tag
    return bool(wanted) and have[: len(wanted)] == wanted


def mirror_models(
    jobs: Sequence[MirrorJob],
    store: ModelStore,
    *,
    registry: RegistryClient | None = None,
    progress_for: Callable[[MirrorJob], PullProgress] | None = None,
    cancel: threading.Event | None = None,
    options: PushOptions | None = None,
) -> list[PushResult]:
    """Mirror each job in turn; blobs shared between them cross the network once."""
    opts = options or PushOptions()
    cancel = cancel if cancel is not None else threading.Event()
    own_client = registry is None
    client = registry if registry is not None else RegistryClient(insecure=opts.insecure)
    hints = MountHints(store.state_dir / HINTS_FILE_NAME)
    for host in {j.dest.host.lower() for j in jobs}:
        hints.add_store(store, host)
    try:
        results = []
        for job in jobs:
            progress = progress_for(job) if progress_for else PullProgress(job.dest.display)
            results.append(
                mirror_model(
                    job,
                    store,
                    registry=client,
                    progress=progress,
                    cancel=cancel,
                    options=opts,
                    hints=hints,
                )
            )
        return results
    finally:
        if own_client:
            client.close()


def mirror_model(
    job: MirrorJob,
    store: ModelStore,
    *,
    registry: RegistryClient,
    progress: PullProgress,
    cancel: threading.Event,
    options: PushOptions,
    hints: MountHints,
) -> PushResult:
    """Copy one model without rewriting a byte; nothing is written to the store's models.

    An installed model goes from the store (its manifest bytes are the registry's); otherwise
    the manifest comes from the source registry and each blob the store lacks is relayed
    registry to registry through a bounded window, fetched like a pull (rangerelay).
    """
    progress.set_state(PullState.RESOLVING, "retrieving manifest")
    pool = ConnectionPool(timeout=options.timeout, verify_tls=not registry.insecure)
    settings = fetch_settings(PullOptions(insecure=registry.insecure))
    sources: dict[str, BlobSource] = {}
    try:
        try:
            raw = store.resolve(job.source).manifest.raw
        except ModelNotFoundError:
            raw = registry.get_manifest(job.source)
        for layer in unique_blobs(Manifest.parse(raw)):
            if store.has_blob(layer):
                sources[layer.digest] = FileBlobSource(store.blob_path(layer.digest))
            else:
                sources[layer.digest] = RegistryBlobSource(
                    registry, pool, job.source, layer, settings
                )
    except EcsModelsError as exc:
        pool.close()
        progress.fail(str(exc))
        raise
    same_host = job.source.host.lower() == job.dest.host.lower()
    try:
        return upload_manifest(
            raw,
            job.dest,
            sources,
            registry=registry,
            progress=progress,
            cancel=cancel,
            options=options,
            hints=hints,
            mount_from=[job.source.repository] if same_host else [],
            session_dir=store.state_dir / "pushes",
        )
    finally:
        for source in sources.values():
            source.close()
        pool.close()
