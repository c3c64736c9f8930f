"""ollama.com source, cache and fallbacks: a real HTTP server serving the real saved pages.

The server stands where ollama.com would (OllamaWebSource takes a base URL); routes map to the
saved pages, so fetching, parsing, caching and every fallback run for real.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ecs_models.catalog import Catalog, CatalogCache, OllamaWebSource, default_cache_dir
from ecs_models.catalog.errors import CatalogOfflineError, CatalogUnavailableError
from ecs_models.errors import ModelNotFoundError

PAGES = Path(__file__).parent / "fixtures" / "ollama-pages"


class SavedSite:
    """Serves saved ollama.com pages; `routes` can be changed while it runs."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.routes: dict[str, tuple[int, str]] = {
            "/library": (200, "library_listing-popular"),
            "/search?q=wizard": (200, "library_listing-search-wizard"),
            "/library/magistral/tags": (200, "models_magistral_tags"),
        }
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query)
                key = parsed.path
                if parsed.path == "/search":
                    key = f"/search?q={query.get('q', [''])[0]}"
                status, name = site.routes.get(key, (0, ""))
                if not status and parsed.path == "/search":
                    status, name = 200, "library_listing-search-no-results"
                if not status:
                    status, name = 404, ""
                body = (
                    (PAGES / f"helgesverre__{name}.html").read_bytes()
                    if name
                    else b"<html><body>Not found</body></html>"
                )
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[SavedSite]:
    saved = SavedSite()
    try:
        yield saved
    finally:
        saved.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback port nobody listens on: connections are refused at once, like no network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_default_cache_dir_follows_xdg() -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": "/var/cache/me"}) == Path(
        "/var/cache/me/ecs_models"
    )
    assert default_cache_dir({}) == Path.home() / ".cache" / "ecs_models"
    # A relative XDG_CACHE_HOME is invalid by the spec and ignored.
    assert default_cache_dir({"XDG_CACHE_HOME": "rel"}) == Path.home() / ".cache" / "ecs_models"


def test_web_source_reads_library_search_and_tags(site: SavedSite) -> None:
    web = OllamaWebSource(site.url)
    try:
        library = web.list_models()
        assert len(library) == 176 and library[0].name == "deepseek-r1"
        assert [e.name for e in web.search("wizard")][:2] == [
            "wizardlm2",
            "wizard-vicuna-uncensored",
        ]
        assert web.search("xyzabc123notfound") == []
        tags = web.model_tags("magistral")
        assert len(tags.tags) == 5 and tags.tags[0].size == 14 * 10**9
        with pytest.raises(ModelNotFoundError, match=r"ollama\.com has no model named nosuch"):
            web.model_tags("nosuch")
    finally:
        web.close()
    assert "/library?sort=popular" in site.requests
    assert any(r.startswith("/search?q=wizard") for r in site.requests)


def test_search_with_a_capability_sends_c(site: SavedSite) -> None:
    web = OllamaWebSource(site.url)
    try:
        web.search("wizard", capability="tools")
    finally:
        web.close()
    assert any("c=tools" in r for r in site.requests)


def test_changed_markup_is_a_clear_error_never_an_empty_catalog(site: SavedSite) -> None:
    site.routes["/library"] = (200, "models_magistral_tags")
    site.routes["/search?q=llama"] = (200, "models_wizard-math_tags")
    web = OllamaWebSource(site.url)
    try:
        with pytest.raises(CatalogUnavailableError, match=r"^Could not read ollama\.com"):
            web.list_models()
        with pytest.raises(CatalogUnavailableError, match=r"^Could not read ollama\.com"):
            web.search("llama")
        site.routes["/library"] = (503, "library_listing-popular")
        with pytest.raises(CatalogUnavailableError, match="answered HTTP 503"):
            web.list_models()
    finally:
        web.close()


def test_unreachable_site_is_an_offline_error(dead_url: str) -> None:
    web = OllamaWebSource(dead_url)
    try:
        with pytest.raises(CatalogOfflineError, match=r"^Could not reach ollama\.com"):
            web.list_models()
    finally:
        web.close()


def test_cache_keeps_data_with_its_time_on_disk(tmp_path: Path) -> None:
    first = CatalogCache(tmp_path, ttl=0.2)
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    first.store("k", [{"name": "x"}], when)
    assert first.fresh("k") is not None
    again = CatalogCache(tmp_path)  # another process: only the disk copy
    assert again.fresh("k") is None
    loaded = again.load("k")
    assert loaded is not None and loaded.data == [{"name": "x"}] and loaded.fetched_at == when
    time.sleep(0.3)
    assert first.fresh("k") is None  # the TTL ran out; the disk copy remains
    assert first.load("k") is not None
    files = list((tmp_path / "catalog").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    files[0].write_text("{ not json")
    assert CatalogCache(tmp_path).load("k") is None  # damaged: as if never cached


def test_library_goes_live_then_falls_back_to_the_cache_with_its_age(
    site: SavedSite, dead_url: str, tmp_path: Path
) -> None:
    cache = CatalogCache(tmp_path)
    catalog = Catalog(cache=cache, web=OllamaWebSource(site.url))
    live = catalog.library()
    catalog.close()
    assert live.origin == "live" and live.notice is None
    by_name = {e.name: e for e in live.entries}
    # Listing facts from the page, tag sizes from the snapshot; snapshot-only models kept.
    assert by_name["deepseek-r1"].pulls == 55_700_000
    assert by_name["deepseek-r1"].tags and by_name["deepseek-r1"].tags[0].size
    assert len(live.entries) >= 235

    offline = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(dead_url), max_age=0)
    cached = offline.library()
    offline.close()
    assert cached.origin == "cache"
    assert [e.name for e in cached.entries] == [e.name for e in live.entries]
    assert cached.notice is not None
    assert cached.notice.startswith("Could not reach ollama.com")
    assert "showing the cached catalog (just now)" in cached.notice


def test_offline_without_a_cache_uses_the_snapshot_and_says_how_old(
    dead_url: str, tmp_path: Path
) -> None:
    catalog = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(dead_url))
    result = catalog.library()
    catalog.close()
    assert result.origin == "snapshot" and len(result.entries) == 235
    assert result.notice is not None and "snapshot of 2026-08-21" in result.notice
    assert "days old" in result.notice


def test_an_unreadable_page_falls_back_and_says_so(site: SavedSite, tmp_path: Path) -> None:
    site.routes["/library"] = (200, "models_magistral_details")
    catalog = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(site.url))
    result = catalog.library()
    catalog.close()
    assert result.origin == "snapshot" and result.entries
    assert result.notice is not None and result.notice.startswith("Could not read ollama.com")


def test_fresh_cache_is_used_without_asking_the_site(site: SavedSite, tmp_path: Path) -> None:
    catalog = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(site.url))
    catalog.library()
    asked = len(site.requests)
    assert catalog.library().origin == "cache"
    assert len(site.requests) == asked
    assert catalog.library(refresh=True).origin == "live"
    assert len(site.requests) == asked + 1
    catalog.close()


def test_model_tags_live_then_offline_from_cache_or_snapshot(
    site: SavedSite, dead_url: str, tmp_path: Path
) -> None:
    live = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(site.url))
    result = live.model_tags("magistral")
    live.close()
    assert result.origin == "live" and len(result.entries[0].tags) == 5
    offline = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(dead_url))
    cached = offline.model_tags("magistral")
    from_snapshot = offline.model_tags("llama3.1")
    offline.close()
    assert cached.origin == "cache" and len(cached.entries[0].tags) == 5
    assert from_snapshot.origin == "snapshot" and len(from_snapshot.entries[0].tags) == 93
    assert from_snapshot.notice is not None and "Could not reach ollama.com" in from_snapshot.notice
    nowhere = Catalog(cache=CatalogCache(tmp_path), offline=True)
    with pytest.raises(ModelNotFoundError, match="not in the catalog snapshot"):
        nowhere.model_tags("no-such-model-anywhere")


def test_refresh_runs_on_a_worker(site: SavedSite, tmp_path: Path) -> None:
    catalog = Catalog(cache=CatalogCache(tmp_path), web=OllamaWebSource(site.url))
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = catalog.refresh_async(pool)
        result = future.result(timeout=30)
    catalog.close()
    assert result.origin == "live" and result.entries[0].name == "deepseek-r1"
    assert threading.current_thread() is threading.main_thread()


def test_catalog_url_can_come_from_the_environment(
    site: SavedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_MODELS_CATALOG_URL", site.url)
    web = OllamaWebSource()
    try:
        assert web.base_url == site.url
        assert web.list_models()
    finally:
        web.close()
    assert os.environ["ECS_MODELS_CATALOG_URL"] == site.url
