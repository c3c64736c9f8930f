"""Shorten a model name to a width by its middle: `host…/model:tag` keeps where it comes from
and what it is, the two parts a person tells downloads apart by."""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"
# A model shortened below this many characters says nothing: drop the host first.
MIN_MODEL_CHARS = 8


def elide_name(text: str, width: int, measure: Callable[[str], int]) -> str:
    """`text` if it fits `width` (as `measure` draws it), else shortened by its middle.

    In order: `host…/model:tag` (the namespace dropped), `host…/mo…el:tag` (the model cut in
    its middle, keeping a few letters), `…/model:tag`, then the middle of `model:tag` cut.
    The tag is never cut before the model: it is what tells two downloads apart.
    """
    if measure(text) <= width:
        return text
    host, slash, rest = text.partition("/")
    tail = rest.rsplit("/", 1)[-1] if slash else text  # model:tag
    model, colon, tag = tail.rpartition(":")
    if not colon:
        model, tag = tail, ""
    suffix = colon + tag
    if slash:
        candidate = f"{host}{ELLIPSIS}/{tail}"
        if measure(candidate) <= width:
            return candidate
        room = width - measure(f"{host}{ELLIPSIS}/{suffix}")
        shortened = elide_middle(model, room, measure)
        if len(shortened) > MIN_MODEL_CHARS:
            return f"{host}{ELLIPSIS}/{shortened}{suffix}"
        candidate = f"{ELLIPSIS}/{tail}"
        if measure(candidate) <= width:
            return candidate
    shortened = elide_middle(model, width - measure(suffix), measure)
    if len(shortened) > MIN_MODEL_CHARS:
        return shortened + suffix
    return elide_middle(tail, width, measure)


def elide_middle(text: str, width: int, measure: Callable[[str], int]) -> str:
    """The most of both ends of `text` that fits around an ellipsis (a bisection on length)."""
    if measure(text) <= width:
        return text
    low, high = 0, len(text)  # characters kept: `low` fits, `high` does not
    while high - low > 1:
        keep = (low + high) // 2
        if measure(_cut(text, keep)) <= width:
            low = keep
        else:
            high = keep
    return _cut(text, low)


def _cut(text: str, keep: int) -> str:
    head = (keep + 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (keep - head) :]
