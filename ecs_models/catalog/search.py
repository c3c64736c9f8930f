"""Typo-tolerant search over catalog entries, ranked by relevance and then by popularity.

Everything that depends only on the entries is computed once in SearchIndex(): the words of
each field with their weights, and a trigram index of the vocabulary, so a query costs a few
dictionary lookups and edit distances against a handful of candidate words.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ecs_models.catalog.categories import (
    CATEGORIES,
    SIZE_BUCKETS,
    categories_of,
    size_buckets_of,
)
from ecs_models.catalog.model import CatalogEntry
from ecs_models.errors import EcsModelsError

NAME_WEIGHT = 3.0
CATEGORY_WEIGHT = 2.0
DESCRIPTION_WEIGHT = 1.0
SIZE_WEIGHT = 1.0  # "small", "medium", "large" typed in a query
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
_SPLIT_NAME = re.compile(r"[-_.:/]+")
_RUN_OF_SAME = re.compile(r"(.)\1+")
_RUNS = re.compile(r"[a-z]+|[0-9]+(?:\.[0-9]+)?")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
        "model",
        "models",
        "its",
        "can",
        "which",
        "into",
        "than",
        "their",
        "our",
        "your",
        "use",
        "used",
        "using",
    ]
)
# Relevance is compared in steps this wide; within a step the more popular model wins.
_RELEVANCE_STEP = 0.5
_MAX_CANDIDATES = 25


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry: CatalogEntry
    score: float
    categories: frozenset[str]


def _trigrams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distances(a: str, b: str, limit: int) -> tuple[int, int]:
    """Damerau-Levenshtein distance from `a` to `b` and to the closest prefix of `b`.

    Adjacent swaps count once; both figures give up (limit + 1) past `limit`. One table
    answers both: the last row's final cell is the whole word, its minimum the best prefix.
    """
    over = limit + 1
    b = b[: len(a) + limit]  # a prefix longer than this can never be within the limit
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            if value < best:
                best = value
        if best > limit:
            return over, over
        previous2, previous = previous, current
    return min(previous[-1], over), min(min(previous), over)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance, or limit + 1 when it is larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    return edit_distances(a, b, limit)[0]


def _squeeze(word: str) -> str:
    return _RUN_OF_SAME.sub(r"\1", word)


def _allowed_typos(token: str) -> int:
    if len(token) >= 8:
        return 2
    return 1 if len(token) >= 4 else 0


def name_words(name: str) -> set[str]:
    """'library/llama3.1' -> llama3.1, llama3, llama, 3, 1 and 3.1: every way to type it."""
    lowered = name.lower().rsplit("/", 1)[-1]
    words = {lowered}
    for part in _SPLIT_NAME.split(lowered):
        if part:
            words.add(part)
            words.update(_RUNS.findall(part))
    words.update(_RUNS.findall(lowered))
    return {w for w in words if w}


def query_tokens(query: str) -> list[str]:
    tokens = _WORD.findall(query.lower())
    kept = [t for t in tokens if t not in _STOPWORDS]
    return kept or tokens


class SearchIndex:
    """Build once per catalog (a few milliseconds), then search as often as the user types."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries: list[CatalogEntry] = list(entries)
        self.categories = [categories_of(e) for e in self.entries]
        self.buckets = [size_buckets_of(e) for e in self.entries]
        self._popularity = [e.pulls or 0 for e in self.entries]
        self._compact_names = [
            re.sub(r"[-_.:]", "", e.name.lower().rsplit("/", 1)[-1]) for e in self.entries
        ]
        postings: dict[str, dict[int, float]] = defaultdict(dict)

        def add(word: str, index: int, weight: float) -> None:
            slot = postings[word]
            if slot.get(index, 0.0) < weight:
                slot[index] = weight

        for index, entry in enumerate(self.entries):
            for word in _WORD.findall(entry.description.lower()):
                if word not in _STOPWORDS:
                    add(word, index, DESCRIPTION_WEIGHT)
            for word in (*entry.capabilities, *self.categories[index]):
                add(word, index, CATEGORY_WEIGHT)
            for word in self.buckets[index]:
                add(word, index, SIZE_WEIGHT)
            for word in name_words(entry.name):
                add(word, index, NAME_WEIGHT)
        self._words = list(postings)
        self._postings = [postings[w] for w in self._words]
        self._word_ids = {w: i for i, w in enumerate(self._words)}
        trigram_index: dict[str, list[int]] = defaultdict(list)
        for word_id, word in enumerate(self._words):
            for gram in _trigrams(word):
                trigram_index[gram].append(word_id)
        self._trigrams = dict(trigram_index)
        self._sorted_words = sorted(self._words)
        self._token_cache: dict[str, list[tuple[int, float]]] = {}
        self._all = frozenset(range(len(self.entries)))
        self._exact_names: dict[str, list[int]] = defaultdict(list)
        name_trigrams: dict[str, list[int]] = defaultdict(list)
        for index, name in enumerate(self._compact_names):
            self._exact_names[name].append(index)
            for gram in _trigrams(name):
                name_trigrams[gram].append(index)
        self._name_trigrams = dict(name_trigrams)

    def __len__(self) -> int:
        return len(self.entries)

    def clear_query_cache(self) -> None:
        self._token_cache.clear()

    def _matches(self, token: str) -> list[tuple[int, float]]:
        """Vocabulary words a typed token stands for, each with how sure we are (0..1)."""
        cached = self._token_cache.get(token)
        if cached is not None:
            return cached
        found: dict[int, float] = {}
        exact = self._word_ids.get(token)
        if exact is not None:
            found[exact] = 1.0
        if len(token) >= 2:
            for word_id in self._prefixed(token):
                word = self._words[word_id]
                found.setdefault(word_id, 0.9 - 0.4 * (1 - len(token) / len(word)))
        # A token that is a known word was typed right: looking for typos would only add noise.
        limit = 0 if exact is not None else _allowed_typos(token)
        if limit:
            for word_id in self._near(token):
                if word_id in found:
                    continue
                word = self._words[word_id]
                whole, prefix = edit_distances(token, word, limit)
                if len(word) - len(token) > limit:
                    whole = limit + 1
                if whole > limit and prefix > limit:
                    # Doubled letters are the commonest slip ("lamma", "mixtrall"): compare
                    # the words with runs squeezed, and count that as one typo.
                    typed, known = _squeeze(token), _squeeze(word)
                    whole_s, prefix_s = edit_distances(typed, known, limit)
                    if len(known) - len(typed) > limit:
                        whole_s = limit + 1
                    whole = max(1, whole_s) if whole_s < limit else whole
                    prefix = max(1, prefix_s) if prefix_s < limit else prefix
                if whole <= limit:
                    found[word_id] = 0.85 - 0.15 * (whole - 1)
                elif prefix <= limit:
                    # A typo inside a prefix: "lamma" for "llama3.1".
                    found[word_id] = 0.6 - 0.1 * (prefix - 1)
        result = list(found.items())
        self._token_cache[token] = result
        return result

    def _prefixed(self, token: str) -> list[int]:
        words = self._sorted_words
        lo, hi = 0, len(words)
        while lo < hi:  # bisect for the first word >= token
            mid = (lo + hi) // 2
            if words[mid] < token:
                lo = mid + 1
            else:
                hi = mid
        out: list[int] = []
        while lo < len(words) and words[lo].startswith(token) and len(out) < 200:
            if words[lo] != token:
                out.append(self._word_ids[words[lo]])
            lo += 1
        return out

    def _near(self, token: str) -> list[int]:
        grams = _trigrams(token)
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for word_id in self._trigrams.get(gram, ()):
                shared[word_id] += 1
        # One typo (a swap included) spoils at most four trigrams: fewer shared than that rules a word out.
        needed = max(1, len(grams) - 4 * _allowed_typos(token))
        candidates = [w for w, n in shared.items() if n >= needed]
        candidates.sort(key=lambda w: -shared[w])
        return candidates[:_MAX_CANDIDATES]

    def search(
        self,
        query: str,
        *,
        category: str | None = None,
        size: str | None = None,
        limit: int | None = None,
    ) -> list[SearchHit]:
        """Entries matching every word of the query (else any word), best first.

        An empty query lists the (filtered) catalog by popularity.
        """
        allowed = self._filter(category, size)
        tokens = query_tokens(query)
        if not tokens:
            ranked = sorted(allowed, key=lambda i: -self._popularity[i])
            hits = [SearchHit(self.entries[i], 0.0, self.categories[i]) for i in ranked]
            return hits[:limit] if limit is not None else hits
        per_token: list[dict[int, float]] = []
        for token in tokens:
            scores: dict[int, float] = {}
            for word_id, certainty in self._matches(token):
                for index, weight in self._postings[word_id].items():
                    value = certainty * weight
                    if value > scores.get(index, 0.0):
                        scores[index] = value
            per_token.append(scores)
        totals = self._combine(per_token, allowed)
        self._name_bonus(totals, "".join(tokens))
        ranked = sorted(
            totals,
            key=lambda i: (-math.floor(totals[i] / _RELEVANCE_STEP), -self._popularity[i]),
        )
        hits = [SearchHit(self.entries[i], totals[i], self.categories[i]) for i in ranked]
        return hits[:limit] if limit is not None else hits

    def _name_bonus(self, totals: dict[int, float], typed: str) -> None:
        """Typing a model's whole name (even misspelt) puts it first: "mistrall" is mistral."""
        for index in self._exact_names.get(typed, ()):
            if index in totals:
                totals[index] += 2 * NAME_WEIGHT
        limit = _allowed_typos(typed)
        if not limit:
            return
        grams = _trigrams(typed)
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for index in self._name_trigrams.get(gram, ()):
                if index in totals:
                    shared[index] += 1
        needed = max(1, len(grams) - 4 * limit)
        for index, count in shared.items():
            name = self._compact_names[index]
            if (
                count >= needed
                and name != typed
                and abs(len(name) - len(typed)) <= limit
                and edit_distance(typed, name, limit) <= limit
            ):
                totals[index] += 1.5 * NAME_WEIGHT

    def _filter(self, category: str | None, size: str | None) -> frozenset[int] | set[int]:
        if category is not None and category not in CATEGORIES:
            raise EcsModelsError(
                f"Unknown category {category!r}; choose one of {', '.join(CATEGORIES)}."
            )
        if size is not None and size not in SIZE_BUCKETS:
            raise EcsModelsError(f"Unknown size {size!r}; choose one of {', '.join(SIZE_BUCKETS)}.")
        if category is None and size is None:
            return self._all
        return {
            i
            for i in range(len(self.entries))
            if (category is None or category in self.categories[i])
            and (size is None or size in self.buckets[i])
        }

    @staticmethod
    def _combine(
        per_token: Sequence[dict[int, float]], allowed: frozenset[int] | set[int]
    ) -> dict[int, float]:
        smallest = min(range(len(per_token)), key=lambda i: len(per_token[i]))
        every = set(per_token[smallest])
        for scores in per_token:
            every.intersection_update(scores.keys())
        every &= allowed
        # All words matched is the norm; a query with one unmatched word still finds something.
        chosen = every or {i for s in per_token for i in s if i in allowed}
        return {i: sum(s.get(i, 0.0) for s in per_token) for i in chosen}
