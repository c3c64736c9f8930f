"""The Discover area's requests, background jobs, and its state resources (what it shows)."""

from __future__ import annotations

import enum
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ecs_models.catalog import CatalogEntry, CatalogResult, Recommendation, SearchIndex
from ecs_models.catalog.updates import UpdateChecker, UpdateStatus
from ecs_models.gguf.fit import FitReport
from ecs_models.gguf.memory import FitVerdict, MachineMemory

OLLAMA_SOURCE = "ollama.com"


class DiscoverMode(enum.StrEnum):
    """What the left list shows; the value is the label of its button."""

    RESULTS = "Results"
    RECOMMENDED = "Recommended"
    UPDATES = "Updates"


# -- requests (entities the UI system creates, the work system consumes) ------------------------
@dataclass(slots=True)
class CatalogLoadRequest:
    """Load the catalog of `source` (ollama.com or a registry host); refresh asks the network."""

    source: str
    refresh: bool = False
    # Saved data only (cache or snapshot), at once; a network refresh follows if it is stale.
    quick: bool = False


@dataclass(slots=True)
class TagsLoadRequest:
    """Read one entry's tags with sizes, what is here already, and the fit of each."""

    entry: CatalogEntry


@dataclass(slots=True)
class HeaderFitRequest:
    """Read the GGUF header of one install candidate (a full name) for its real fit."""

    reference: str


@dataclass(slots=True)
class UpdateCheckRequest:
    """Ask the registries whether installed models changed; fresh drops remembered answers."""

    fresh: bool = True


@dataclass(slots=True)
class PinRequest:
    """Pin (or unpin) an installed model, by its full name."""

    model_name: str
    pinned: bool


@dataclass(slots=True)
class PendingUpdate:
    """Rides on a ModelInstallRequest entity made by Update: the model it updates (the pull
    itself deletes the replaced version's unused blobs)."""

    model_name: str


class JobKind(enum.StrEnum):
    CATALOG = "catalog"
    QUICK_CATALOG = "saved catalog"
    TAGS = "tags"
    CHECK = "update check"
    PIN = "pin"
    AFTER_UPDATE = "after update"
    HEADER_FIT = "header fit"


@dataclass(slots=True)
class DiscoverJob:
    """A chore of this area on the thread pool; `key` says which request it serves."""

    kind: JobKind
    future: Future[Any]
    key: str = ""


# -- results -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TagRow:
    """One tag as the details pane lists it."""

    name: str
    reference: str  # the full name an install pulls
    size: int | None
    size_exact: bool
    present: int | None  # bytes of it already in blobs/ (None: cannot tell)
    installed: bool
    fit: FitVerdict | None
    cloud: bool = False


@dataclass(frozen=True, slots=True)
class TagsView:
    entry_name: str
    rows: tuple[TagRow, ...]
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogLoad:
    """What a catalog job hands back: built off-frame, swapped in whole."""

    result: CatalogResult
    index: SearchIndex
    memory: MachineMemory
    recommendations: tuple[Recommendation, ...]


@dataclass(frozen=True, slots=True)
class HeaderFit:
    """The header fit of one reference, or why its header could not be read."""

    reference: str
    report: FitReport | None
    error: str | None = None


class HeaderFitCache:
    """Reports by (name, manifest digest): a tag moved to a new build is read again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # filled from worker threads
        self._reports: dict[tuple[str, str], FitReport] = {}

    def get(self, name: str, digest: str) -> FitReport | None:
        with self._lock:
            return self._reports.get((name, digest))

    def put(self, name: str, digest: str, report: FitReport) -> None:
        with self._lock:
            self._reports[(name, digest)] = report


@dataclass(slots=True)
class DiscoverData:
    """Resource: what the workers found. `version` grows on every change the view must show."""

    catalog: CatalogLoad | None = None
    catalog_source: str = OLLAMA_SOURCE
    catalog_loading: bool = False
    catalog_error: str | None = None
    tags: TagsView | None = None
    tags_loading: str | None = None  # the entry whose tags are being read
    statuses: dict[str, UpdateStatus] = field(default_factory=dict)
    checking: bool = False
    checked: bool = False
    checker: UpdateChecker = field(default_factory=UpdateChecker)
    # The header fit last read per reference; header_cache keeps reports by name + digest.
    header_fits: dict[str, HeaderFit] = field(default_factory=dict)
    header_cache: HeaderFitCache = field(default_factory=HeaderFitCache)
    version: int = 0

    def changed(self) -> None:
        self.version += 1


@dataclass(slots=True)
class DiscoverPanel:
    """Resource: what the person chose in the Discover area."""

    query: str = ""
    category: str | None = None
    size: str | None = None
    source: str = OLLAMA_SOURCE
    mode: DiscoverMode = DiscoverMode.RESULTS
    selected_entry: str | None = None
    selected_tag: str | None = None
    selected_model: str | None = None  # Updates mode: an installed model's full name
    version: int = 0

    def changed(self) -> None:
        self.version += 1
