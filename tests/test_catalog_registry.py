"""Catalog and tags of a real OCI registry (the docker-registry fixture), sizes from manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.model_builder import MIB, push_small_model
from support.registry_server import RegistryServer

from ecs_models.catalog import Catalog, CatalogCache, RegistrySource, SearchIndex
from ecs_models.cli.main import main
from ecs_models.errors import RegistryError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import RegistryClient
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import pull_model


def test_catalog_lists_repositories_with_tags(fresh_registry: RegistryServer) -> None:
    push_small_model(fresh_registry, "library/alpha", "latest", gguf_size=1 * MIB, seed=11)
    push_small_model(fresh_registry, "library/alpha", "q8", gguf_size=2 * MIB, seed=12)
    push_small_model(fresh_registry, "team/bravo-coder", "v1", gguf_size=1 * MIB, seed=13)
    host = fresh_registry.host
    with RegistryClient() as client:
        entries = RegistrySource(client, host).list_models()
    by_name = {e.name: e for e in entries}
    assert set(by_name) == {f"{host}/library/alpha", f"{host}/team/bravo-coder"}
    assert sorted(t.name for t in by_name[f"{host}/library/alpha"].tags) == ["latest", "q8"]
    assert by_name[f"{host}/team/bravo-coder"].tag_count == 1
    assert all(e.source == host for e in entries)
    # Typo-tolerant search works over a registry's catalog too.
    index = SearchIndex(entries)
    assert [h.entry.name for h in index.search("alpah")] == [f"{host}/library/alpha"]
    assert [h.entry.name for h in index.search("codr")] == [f"{host}/team/bravo-coder"]


def test_tags_have_exact_sizes_and_what_is_already_here(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    small = push_small_model(registry, unique_repo, "latest", gguf_size=1 * MIB, seed=21)
    # Same GGUF, other template: shares the model blob, like real tags of one model.
    big = push_small_model(registry, unique_repo, "big", gguf_size=3 * MIB, seed=22)
    store = ModelStore(tmp_path / "models")
    with RegistryClient() as client:
        pull_model(small.name, store, registry=client)
        source = RegistrySource(client, registry.host)
        sizes = dict(source.download_sizes(f"{registry.host}/{unique_repo}", store))
        entry = source.model_tags(f"{registry.host}/{unique_repo}")
    assert set(sizes) == {"latest", "big"}
    latest, other = sizes["latest"], sizes["big"]
    assert latest is not None and other is not None
    assert latest.total == small.total_size and latest.present == small.total_size
    assert latest.to_download == 0 and latest.missing_blobs == 0
    assert latest.manifest_digest == small.manifest_digest
    shared = sum(b.size for b in big.blobs if b.digest in {x.digest for x in small.blobs})
    assert shared > 0  # template, params and licence are the same texts
    assert other.total == big.total_size
    assert other.present == shared
    assert other.to_download == big.total_size - shared
    tag_sizes = {t.name: t.size for t in entry.tags}
    assert tag_sizes == {"latest": small.total_size, "big": big.total_size}
    assert all(t.size_exact for t in entry.tags)


def test_registry_catalog_is_cached_and_used_when_the_registry_is_down(
    fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    push_small_model(fresh_registry, "library/charlie", "latest", gguf_size=1 * MIB, seed=31)
    host = fresh_registry.host
    catalog = Catalog(cache=CatalogCache(tmp_path), offline=True)
    with RegistryClient(retries=0, timeout=5) as client:
        live = catalog.registry_models(host, client)
        assert live.origin == "live" and [e.name for e in live.entries] == [
            f"{host}/library/charlie"
        ]
        fresh_registry.kill()
        later = Catalog(cache=CatalogCache(tmp_path), offline=True)
        cached = later.registry_models(host, client, refresh=True)
        assert cached.origin == "cache"
        assert [e.name for e in cached.entries] == [f"{host}/library/charlie"]
        refused = f"Can't connect to {host} — is the registry running?"
        assert cached.notice == f"{refused} Showing the cached list (just now).", cached.notice
        empty = Catalog(cache=CatalogCache(tmp_path / "elsewhere"), offline=True)
        with pytest.raises(RegistryError, match=re.escape(refused)):
            empty.registry_models(host, client)


def test_a_registry_without_a_catalog_is_one_sentence(registry: RegistryServer) -> None:
    name = parse_model_name(f"{registry.host}/library/nothing-here")
    with RegistryClient() as client, pytest.raises(RegistryError):
        RegistrySource(client, registry.host).model_tags(str(name))


def test_cli_search_and_tags_against_a_registry(
    fresh_registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pushed = push_small_model(fresh_registry, "library/delta", "7b", gguf_size=1 * MIB, seed=41)
    host = fresh_registry.host
    assert main(["search", "delat", "--registry", host, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == host and doc["origin"] == "live"
    assert [r["name"] for r in doc["results"]] == [f"{host}/library/delta"]
    assert main(["tags", f"{host}/library/delta", "--json", "--models", str(tmp_path / "m")]) == 0
    tags = json.loads(capsys.readouterr().out)["tags"]
    assert tags == [
        {
            "name": "7b",
            "digest": pushed.manifest_digest,
            "size": pushed.total_size,
            "present": 0,
            "to_download": pushed.total_size,
            "fit": "fits",
        }
    ]
    assert main(["tags", f"{host}/library/delta"]) == 0
    text = capsys.readouterr().out
    assert f"{host}/library/delta:7b" in text and pushed.manifest_digest[7:19] in text
    assert (tmp_path / "cache" / "ecs_models" / "catalog").is_dir()
