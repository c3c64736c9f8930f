"""Typo-tolerant search, categories, size buckets and recommendations over the real snapshot."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from ecs_models.catalog import (
    CATEGORIES,
    SearchIndex,
    categories_of,
    fit_for,
    load_snapshot,
    recommend,
    size_bucket,
)
from ecs_models.catalog.search import edit_distance, name_words
from ecs_models.errors import EcsModelsError
from ecs_models.gguf.memory import MachineMemory, Verdict

GB = 10**9


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex(load_snapshot().entries)


def names(index: SearchIndex, query: str, **kwargs: object) -> list[str]:
    return [hit.entry.name for hit in index.search(query, **kwargs)]  # type: ignore[arg-type]


def test_snapshot_is_the_real_library_with_its_sources() -> None:
    snapshot = load_snapshot()
    assert len(snapshot.entries) == 235
    assert snapshot.origin == "snapshot"
    assert snapshot.fetched_at.date().isoformat() == "2026-08-21"
    sources = snapshot.extra["sources"]
    assert sources["library"]["repo"] == "https://github.com/auditomatic/ollama-models-registry"
    assert sources["exact_sizes"]["repo"] == "https://github.com/josh/ollama-models"
    by_name = {e.name: e for e in snapshot.entries}
    latest = by_name["llama3.1"].tag("latest")
    assert latest is not None and latest.size_exact and latest.digest_prefix == "46e0c10c039e"
    # Exact from the registry manifest (layers + config), within the page's rounded "4.9GB".
    assert latest.size is not None and abs(latest.size - 4.9 * GB) < 0.05 * GB
    raw = resources.files("ecs_models.assets").joinpath("catalog-snapshot.json").read_bytes()
    assert len(raw) < 1_000_000
    assert json.loads(raw)["snapshot_date"] == "2026-08-21"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("lamma", "llama3.1"),
        ("lama 3.2", "llama3.2"),
        ("deepsek", "deepseek-r1"),
        ("mistrall", "mistral"),
        ("mixtrall", "mixtral"),
        ("gema", "gemma"),
        ("codelama", "codellama"),
        ("qwne3", "qwen3"),
        ("nomic embed", "nomic-embed-text"),
    ],
)
def test_a_misspelt_query_finds_the_model_first(index: SearchIndex, typed: str, meant: str) -> None:
    assert names(index, typed)[0] == meant


def test_exact_name_beats_a_more_popular_near_miss(index: SearchIndex) -> None:
    assert names(index, "llama3")[0] == "llama3"
    assert names(index, "phi")[0] == "phi"
    assert names(index, "qwen2")[0] == "qwen2"


def test_equal_relevance_is_ranked_by_popularity(index: SearchIndex) -> None:
    hits = index.search("deepsek")
    top = [h for h in hits if h.score == hits[0].score]
    assert len(top) >= 5
    pulls = [h.entry.pulls or 0 for h in top]
    assert pulls == sorted(pulls, reverse=True)


def test_descriptions_and_capabilities_are_searched(index: SearchIndex) -> None:
    # "reasoning" is in descriptions and is a category; "visoin" is a misspelt capability.
    reasoning = names(index, "reasoning", limit=10)
    assert "deepseek-r1" in reasoning
    vision = index.search("visoin")
    assert vision and all("vision" in hit.categories for hit in vision[:10])
    embedding = index.search("embeding")
    assert embedding and all("embedding" in hit.categories for hit in embedding[:8])


def test_filters_by_category_and_size(index: SearchIndex) -> None:
    code_small = index.search("", category="code", size="small")
    assert code_small
    for hit in code_small:
        assert "code" in hit.categories
        assert any(t.size is not None and not t.cloud and t.size <= 4 * GB for t in hit.entry.tags)
    assert "qwen2.5-coder" in [h.entry.name for h in code_small]
    # An empty query lists the filtered catalog by popularity.
    pulls = [h.entry.pulls or 0 for h in code_small]
    assert pulls == sorted(pulls, reverse=True)
    embedding = names(index, "", category="embedding")
    assert "nomic-embed-text" in embedding and "llama3.1" not in embedding
    large = names(index, "llama", size="large")
    assert "llama3.1" in large and "llama3.2" not in large


def test_every_category_has_models(index: SearchIndex) -> None:
    for category in CATEGORIES:
        assert index.search("", category=category), category
    by_name = {e.name: e for e in index.entries}
    assert categories_of(by_name["llama3.2-vision"]) >= {"vision", "chat"}
    assert "embedding" in categories_of(by_name["nomic-embed-text"])
    assert "chat" not in categories_of(by_name["nomic-embed-text"])
    assert "code" in categories_of(by_name["qwen2.5-coder"])
    assert "reasoning" in categories_of(by_name["deepseek-r1"])
    assert "tools" in categories_of(by_name["llama3.1"])
    assert (size_bucket(3 * GB), size_bucket(8 * GB), size_bucket(40 * GB)) == (
        "small",
        "medium",
        "large",
    )


def test_nonsense_finds_nothing_and_bad_filters_are_one_sentence(index: SearchIndex) -> None:
    assert index.search("xyzzyq") == []
    with pytest.raises(EcsModelsError, match="Unknown category 'poetry'"):
        index.search("llama", category="poetry")
    with pytest.raises(EcsModelsError, match="Unknown size 'huge'"):
        index.search("llama", size="huge")


def test_word_helpers() -> None:
    assert {"llama3.1", "llama3", "llama", "3.1"} <= name_words("llama3.1")
    assert edit_distance("visoin", "vision", 1) == 1  # a swap is one typo
    assert edit_distance("lama", "llama", 1) == 1
    assert edit_distance("abc", "xyz", 1) == 2  # gives up past the limit


def _machine(ram_total: float, ram_available: float) -> MachineMemory:
    return MachineMemory(
        ram_total=int(ram_total), ram_available=int(ram_available), swap_total=0, swap_free=0
    )


def test_fit_verdicts_follow_the_memory_rules() -> None:
    machine = _machine(16 * GB, 10 * GB)
    assert fit_for(2 * GB, machine).verdict is Verdict.FITS
    assert fit_for(8 * GB, machine).verdict is Verdict.TIGHT
    too_large = fit_for(40 * GB, machine)
    assert too_large.verdict is Verdict.TOO_LARGE
    assert too_large.needed > 40 * GB
    assert "RAM" in too_large.reason


def test_recommendations_fit_the_machine_and_say_why() -> None:
    entries = load_snapshot().entries
    machine = _machine(16 * GB, 8 * GB)
    picks = recommend(entries, machine, limit=8)
    assert len(picks) == 8
    for pick in picks:
        assert pick.fit.verdict is Verdict.FITS
        assert pick.tag.size is not None and pick.fit.needed <= 8 * GB
        assert pick.reference in pick.reason and "free now" in pick.reason
    pulls = [p.entry.pulls or 0 for p in picks]
    assert pulls == sorted(pulls, reverse=True)
    assert picks[0].entry.name == "llama3.1"
    # Less memory, smaller builds: the same model recommended at a smaller size, or not at all.
    small = {p.entry.name: p for p in recommend(entries, _machine(4 * GB, 2 * GB), limit=8)}
    big = {p.entry.name: p for p in picks}
    for name, pick in small.items():
        assert pick.fit.needed <= 2 * GB
        if name in big:
            assert (pick.tag.size or 0) <= (big[name].tag.size or 0)
    code = recommend(entries, machine, limit=3, category="code")
    assert code and all("code" in categories_of(p.entry) for p in code)
