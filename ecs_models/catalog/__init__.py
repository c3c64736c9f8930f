"""Discovery: ollama.com pages, OCI registry catalogs, the shipped snapshot, cache and search."""

from ecs_models.catalog.cache import CatalogCache, default_cache_dir
from ecs_models.catalog.categories import CATEGORIES, SIZE_BUCKETS, categories_of, size_bucket
from ecs_models.catalog.errors import CatalogOfflineError, CatalogUnavailableError
from ecs_models.catalog.model import CatalogEntry, CatalogResult, TagInfo
from ecs_models.catalog.recommend import (
    Recommendation,
    fit_for,
    recommend,
)
from ecs_models.catalog.search import SearchHit, SearchIndex
from ecs_models.catalog.service import Catalog
from ecs_models.catalog.sizes import DownloadSize, download_size
from ecs_models.catalog.snapshot import load_snapshot
from ecs_models.catalog.sources import (
    CatalogSource,
    OllamaWebSource,
    RegistrySource,
    SnapshotSource,
)

__all__ = [
    "CATEGORIES",
    "SIZE_BUCKETS",
    "Catalog",
    "CatalogCache",
    "CatalogEntry",
    "CatalogOfflineError",
    "CatalogResult",
    "CatalogSource",
    "CatalogUnavailableError",
    "DownloadSize",
    "OllamaWebSource",
    "Recommendation",
    "RegistrySource",
    "SearchHit",
    "SearchIndex",
    "SnapshotSource",
    "TagInfo",
    "categories_of",
    "default_cache_dir",
    "download_size",
    "fit_for",
    "load_snapshot",
    "recommend",
    "size_bucket",
]
