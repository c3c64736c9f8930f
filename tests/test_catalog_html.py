"""ollama.com HTML parsing, on real pages saved from the site (tests/fixtures/ollama-pages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_models.catalog.errors import CatalogUnavailableError
from ecs_models.catalog.ollama_pages import parse_listing, parse_model_page, parse_tags_page

PAGES = Path(__file__).parent / "fixtures" / "ollama-pages"


def page(name: str) -> str:
    path = PAGES / f"helgesverre__{name}.html"
    # Every saved page says where it came from; a page without its note does not belong here.
    assert (PAGES / (path.name + ".source.txt")).is_file()
    return path.read_text("utf-8")


def test_library_listing_gives_every_model_with_its_facts() -> None:
    entries = parse_listing(page("library_listing-popular"))
    assert len(entries) == 176
    assert len({e.name for e in entries}) == 176
    first = entries[0]
    assert first.name == "deepseek-r1"
    assert first.description.startswith("DeepSeek-R1 is a family of open reasoning models")
    assert first.capabilities == ("tools", "thinking")
    assert first.parameter_sizes == ("1.5b", "7b", "8b", "14b", "32b", "70b", "671b")
    assert first.pulls == 55_700_000
    assert first.tag_count == 35
    assert first.updated == "1 month ago"
    by_name = {e.name: e for e in entries}
    assert by_name["gemma3n"].parameter_sizes == ("e2b", "e4b")
    assert by_name["gemma3n"].capabilities == ()
    assert "embedding" in by_name["nomic-embed-text"].capabilities
    # Popular order: pull counts only go down the page, give or take rounding of "K"/"M".
    assert entries[0].pulls is not None and entries[-1].pulls is not None
    assert entries[0].pulls > entries[-1].pulls


def test_search_page_lists_only_matches() -> None:
    entries = parse_listing(page("library_listing-search-wizard"))
    assert [e.name for e in entries] == [
        "wizardlm2",
        "wizard-vicuna-uncensored",
        "wizardcoder",
        "wizard-math",
        "wizardlm",
        "wizardlm-uncensored",
        "wizard-vicuna",
    ]
    assert all(e.pulls and e.pulls > 0 for e in entries)


def test_search_without_results_is_an_empty_list_not_an_error() -> None:
    assert parse_listing(page("library_listing-search-no-results")) == []


def test_tags_page_gives_each_tag_with_size_digest_context_and_input() -> None:
    entry = parse_tags_page(page("models_magistral_tags"))
    assert entry.name == "magistral"
    assert (
        entry.description == "Magistral is a small, efficient reasoning model with 24B parameters."
    )
    assert entry.capabilities == ("tools", "thinking")
    assert entry.parameter_sizes == ("24b",)
    assert entry.pulls == 221_000
    assert [t.name for t in entry.tags] == [
        "latest",
        "24b",
        "24b-small-2506-q4_K_M",
        "24b-small-2506-q8_0",
        "24b-small-2506-fp16",
    ]
    latest = entry.tags[0]
    assert latest.size == 14 * 10**9
    assert latest.digest_prefix == "27bcbbf6d324"
    assert latest.context == "39K"
    assert latest.inputs == ("Text",)
    assert latest.updated == "1 month ago"
    assert entry.tag("24b-small-2506-fp16") is not None
    fp16 = entry.tag("24b-small-2506-fp16")
    assert fp16 is not None and fp16.size == 47 * 10**9 and fp16.digest_prefix == "0a0e2be3b6c4"


def test_tags_pages_of_other_models() -> None:
    math = parse_tags_page(page("models_wizard-math_tags"))
    assert math.name == "wizard-math"
    assert len(math.tags) == 64
    assert math.tags[0].size == 4_100_000_000 and math.tags[0].context == "32K"
    assert math.tag("70b-fp16") is not None
    embedding = parse_tags_page(page("models_granite-embedding_tags"))
    assert embedding.capabilities == ("embedding",)
    assert len(embedding.tags) == 6
    assert embedding.tag("30m") is not None
    assert embedding.tags[0].size == 63_000_000
    assert embedding.tags[0].context == "512"


def test_model_page_gives_description_and_the_tags_it_shows() -> None:
    entry = parse_model_page(page("models_magistral_details"))
    assert entry.name == "magistral"
    assert entry.pulls == 221_000
    assert entry.description.startswith("Magistral is a small, efficient reasoning model")
    # The model page's short list: a "24b" in a tag name is never taken for a size of 24 bytes.
    assert {t.name: t.size for t in entry.tags} == {"latest": 14 * 10**9, "24b": 14 * 10**9}


@pytest.mark.parametrize(
    "wrong_page", ["models_magistral_tags", "models_magistral_details", "models_wizard-math_tags"]
)
def test_a_page_that_is_not_a_listing_is_unreadable_not_empty(wrong_page: str) -> None:
    with pytest.raises(CatalogUnavailableError, match=r"^Could not read ollama\.com"):
        parse_listing(page(wrong_page))


def test_a_listing_cut_before_its_models_is_unreadable() -> None:
    text = page("library_listing-popular")
    with pytest.raises(CatalogUnavailableError, match=r"^Could not read ollama\.com"):
        parse_listing(text[: text.index("x-test-repos")])


def test_a_listing_is_not_a_tags_page() -> None:
    with pytest.raises(
        CatalogUnavailableError, match=r"^Could not read ollama\.com: the tags page"
    ):
        parse_tags_page(page("library_listing-search-wizard"))


def test_pages_without_the_test_markers_still_parse_by_their_text() -> None:
    # The site has dropped x-test-* attributes before; the same real page without them must
    # still give names, descriptions, chips and counts.
    stripped = page("library_listing-search-wizard")
    for marker in (
        "x-test-model-title",
        "x-test-model",
        "x-test-pull-count",
        "x-test-size",
        "x-test-capability",
        "x-test-tag-count",
        "x-test-updated",
    ):
        stripped = stripped.replace(f" {marker} ", " ").replace(f" {marker}>", ">")
    assert "x-test-model " not in stripped
    entries = parse_listing(stripped)
    names = [e.name for e in entries]
    assert names[:3] == ["wizardlm2", "wizard-vicuna-uncensored", "wizardcoder"]
    assert set(names) >= {"wizard-math", "wizardlm", "wizardlm-uncensored", "wizard-vicuna"}
    original = {e.name: e for e in parse_listing(page("library_listing-search-wizard"))}
    for entry in entries:
        if entry.name in original:
            assert entry.pulls == original[entry.name].pulls
            assert entry.parameter_sizes == original[entry.name].parameter_sizes
            assert entry.description == original[entry.name].description
