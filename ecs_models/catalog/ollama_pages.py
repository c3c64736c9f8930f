"""Entries read from ollama.com's library, search and tags pages (their HTML is the only API).

Each field is looked up by the `x-test-*` attributes the site carries first, then by its visible
text, so a markup change loses a field before it loses the page. A page where no model can be
recognised at all is a CatalogUnavailableError, never an empty catalog that looks valid.
"""

from __future__ import annotations

import re

from ecs_models.catalog.dom import Element, parse_html
from ecs_models.catalog.errors import CatalogUnavailableError
from ecs_models.catalog.model import (
    KNOWN_CAPABILITIES,
    CatalogEntry,
    TagInfo,
    parse_count,
    parse_size,
)

# /library/llama3.1 or, for community models, /user/model (never one of the site's own pages).
_MODEL_HREF = re.compile(r"^/(?:library/)?([A-Za-z0-9_][\w.-]*(?:/[A-Za-z0-9_][\w.-]*)?)/?$")
_SITE_PATHS = frozenset(
    [
        "library",
        "search",
        "models",
        "download",
        "blog",
        "signin",
        "signup",
        "settings",
        "public",
        "api",
        "docs",
        "pricing",
        "turbo",
        "cloud",
        "about",
        "privacy",
        "terms",
    ]
)
_TAG_HREF = re.compile(r"^/(?:library/)?([A-Za-z0-9_][\w./-]*):([A-Za-z0-9_][\w.-]*)$")
# Size chips are lower case ("8b", "e4b", "8x22b"); pull counts are upper case ("386.8K").
_SIZE_CHIP = re.compile(r"^(?:e?\d+(?:\.\d+)?[kmbt]|\d+x\d+(?:\.\d+)?[kmbt])$")
_PULLS_TEXT = re.compile(r"([\d.,]+\s*[KMB]?)\s+(?:Pulls|Downloads)\b", re.IGNORECASE)
_TAGS_TEXT = re.compile(r"(\d[\d,]*)\s+Tags\b", re.IGNORECASE)
_AGO = re.compile(
    r"\b(?:(?:\d+|an?|one)\s+(?:second|minute|hour|day|week|month|year)s?\s+ago|yesterday|just now)",
    re.IGNORECASE,
)
_DIGEST12 = re.compile(r"\b[0-9a-f]{12}\b")
_CONTEXT = re.compile(r"(\d+(?:\.\d+)?[KM]?)\s+context window", re.IGNORECASE)
_INPUT = re.compile(r"((?:Text|Image|Audio|Video)(?:\s*,\s*(?:Text|Image|Audio|Video))*)\s+input")
_NO_RESULTS = re.compile(r"^\s*No (?:models|results)\b", re.IGNORECASE)

_UNREADABLE = (
    "Could not read ollama.com: the {what} page holds no model we can recognise "
    "(the site's layout may have changed); showing saved data instead is safest."
)


def parse_listing(html: str) -> list[CatalogEntry]:
    """Models of a /library or /search page, in page order; [] only for a real "No models"."""
    root = parse_html(html)
    items = root.with_attr("x-test-model") or _anchor_items(root)
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for item in items:
        entry = _listing_entry(item)
        if entry is not None and entry.name not in seen:
            seen.add(entry.name)
            entries.append(entry)
    if entries:
        return entries
    if _says_no_results(root):
        return []
    raise CatalogUnavailableError(_UNREADABLE.format(what="library"))


def parse_tags_page(html: str, model: str | None = None) -> CatalogEntry:
    """A model's /tags page: the model's header facts plus every tag with its size."""
    root = parse_html(html)
    tags = _tag_rows(root, model)
    if not tags:
        raise CatalogUnavailableError(_UNREADABLE.format(what="tags"))
    name = model or _header_name(root) or _model_of_tag_links(root) or ""
    return _header_entry(root, name).with_tags(tuple(tags))


def parse_model_page(html: str, model: str | None = None) -> CatalogEntry:
    """A model's own page: description, capabilities, sizes, pulls (and the tags it shows)."""
    root = parse_html(html)
    name = model or _header_name(root)
    if not name:
        raise CatalogUnavailableError(_UNREADABLE.format(what="model"))
    entry = _header_entry(root, name)
    if entry.pulls is None and not entry.description:
        raise CatalogUnavailableError(_UNREADABLE.format(what="model"))
    return entry.with_tags(tuple(_tag_rows(root, name)))


# -- listings ----------------------------------------------------------------------------------


def _model_name_from_href(href: str) -> str | None:
    match = _MODEL_HREF.match(href.split("?", 1)[0])
    if match is None:
        return None
    name = match.group(1)
    first = name.split("/", 1)[0].lower()
    if first in _SITE_PATHS and (not href.startswith("/library/") or "/" in name):
        return None
    return name


def _anchor_items(root: Element) -> list[Element]:
    # Without the x-test markers, a result is a link to a model page that carries more than a
    # name (a description, chips or counts); the header's own links carry only the name.
    return [
        a
        for a in root.find_all(lambda e: e.tag == "a")
        if _model_name_from_href(a.get("href")) is not None
    ]


def _listing_entry(item: Element) -> CatalogEntry | None:
    anchor = item if item.tag == "a" else item.find(lambda e: e.tag == "a" and e.has("href"))
    href_name = _model_name_from_href(anchor.get("href")) if anchor is not None else None
    title = item.find(
        lambda e: e.has("x-test-model-title") or e.has("x-test-search-response-title")
    )
    name = (title.get("title") or title.text()) if title is not None else None
    name = (name or href_name or "").strip()
    if not name or " " in name:
        return None
    text = item.text()
    capabilities = _chips(item, "x-test-capability", lambda t: t.lower() in KNOWN_CAPABILITIES)
    sizes = _chips(item, "x-test-size", lambda t: _SIZE_CHIP.match(t) is not None)
    pulls = parse_count(_marked_text(item, "x-test-pull-count") or _first(_PULLS_TEXT, text))
    tag_count = parse_count(_marked_text(item, "x-test-tag-count") or _first(_TAGS_TEXT, text))
    updated = _marked_text(item, "x-test-updated") or _first(_AGO, text, whole=True)
    description = _description(item, name)
    if not (description or capabilities or sizes or pulls is not None):
        return None
    return CatalogEntry(
        name=name,
        description=description,
        capabilities=tuple(c.lower() for c in capabilities),
        parameter_sizes=tuple(s.lower() for s in sizes),
        pulls=pulls,
        tag_count=tag_count,
        updated=updated,
    )


def _description(item: Element, name: str) -> str:
    for paragraph in item.find_all(lambda e: e.tag == "p"):
        if paragraph.with_attr("x-test-pull-count") or paragraph.with_attr("x-test-updated"):
            continue
        text = paragraph.text()
        if text and text != name and not _PULLS_TEXT.search(text):
            return text
    return ""


def _says_no_results(root: Element) -> bool:
    return any(
        _NO_RESULTS.match(e.text()) and len(e.text()) < 80
        for e in root.find_all(lambda e: e.tag in ("p", "div", "span", "li", "h2", "h3"))
    )


# -- model header and tags -------------------------------------------------------------------


def _header_name(root: Element) -> str | None:
    marked = root.find(lambda e: e.has("x-test-model-name"))
    if marked is not None:
        return (marked.get("title") or marked.text()).strip() or None
    return None


def _model_of_tag_links(root: Element) -> str | None:
    for anchor in root.find_all(lambda e: e.tag == "a"):
        match = _TAG_HREF.match(anchor.get("href"))
        if match:
            return match.group(1)
    return None


def _header_entry(root: Element, name: str) -> CatalogEntry:
    rows = {id(e) for row in _row_elements(root) for e in row.iter()}
    summary = root.find(lambda e: e.get("id") == "summary-content")
    description = summary.text() if summary is not None else ""
    if not description:
        meta = root.find(lambda e: e.tag == "meta" and e.get("name") == "description")
        description = meta.get("content").strip() if meta is not None else ""
    # A chip is a span holding only its word, outside the tag rows ("latest" badges live there).
    capabilities = [
        e.text().lower()
        for e in root.find_all(lambda e: e.tag == "span" and id(e) not in rows)
        if e.text().lower() in KNOWN_CAPABILITIES and all(isinstance(c, str) for c in e.children)
    ]
    sizes = [e.text().lower() for e in root.with_attr("x-test-size") if _SIZE_CHIP.match(e.text())]
    return CatalogEntry(
        name=name,
        description=description,
        capabilities=tuple(dict.fromkeys(capabilities)),
        parameter_sizes=tuple(dict.fromkeys(sizes)),
        pulls=parse_count(_marked_text(root, "x-test-pull-count")),
        updated=_marked_text(root, "x-test-updated"),
    )


def _tag_links(root: Element, model: str | None) -> dict[str, list[Element]]:
    links: dict[str, list[Element]] = {}
    for anchor in root.find_all(lambda e: e.tag == "a"):
        match = _TAG_HREF.match(anchor.get("href"))
        if match is None or (model is not None and match.group(1).lower() != model.lower()):
            continue
        links.setdefault(match.group(2), []).append(anchor)
    return links


def _row_of(anchor: Element, tag: str, links: dict[str, list[Element]]) -> Element:
    # The row is the widest ancestor that still links to this tag only: it holds the tag's
    # size, digest and context however the cells inside it are arranged.
    others = {id(a) for t, anchors in links.items() if t != tag for a in anchors}
    row = anchor
    for ancestor in anchor.ancestors():
        if any(id(a) in others for a in ancestor.find_all(lambda e: e.tag == "a")):
            break
        row = ancestor
    return row


def _row_elements(root: Element) -> list[Element]:
    links = _tag_links(root, None)
    if len(links) < 2:
        return []
    return [_row_of(anchors[0], tag, links) for tag, anchors in links.items()]


def _tag_rows(root: Element, model: str | None) -> list[TagInfo]:
    links = _tag_links(root, model)
    tags: list[TagInfo] = []
    for tag, anchors in links.items():
        row = _row_of(anchors[0], tag, links) if len(links) > 1 else anchors[0].parent or anchors[0]
        text = row.text()
        inputs = _first(_INPUT, text)
        digest = _DIGEST12.search(text)
        size_text = _size_cell(row) or text
        cloud = "cloud" in tag.lower()
        tags.append(
            TagInfo(
                name=tag,
                size=None if cloud else parse_size(size_text),
                digest_prefix=digest.group(0) if digest else None,
                context=_first(_CONTEXT, text) or _context_cell(row),
                inputs=tuple(x.strip() for x in inputs.split(",")) if inputs else (),
                updated=_first(_AGO, text, whole=True),
                cloud=cloud,
            )
        )
    return tags


def _size_cell(row: Element) -> str | None:
    for cell in row.find_all(lambda e: e.tag == "p"):
        text = cell.text()
        if parse_size(text) is not None and len(text) < 12:
            return text
    return None


def _context_cell(row: Element) -> str | None:
    cells = [c.text() for c in row.find_all(lambda e: e.tag == "p") if len(c.text()) < 12]
    # Desktop layout: Size, Context, Input cells in that order.
    return cells[1] if len(cells) >= 2 and parse_size(cells[1]) is None else None


# -- small helpers ---------------------------------------------------------------------------


def _marked_text(root: Element, attribute: str) -> str | None:
    marked = root.find(lambda e: e.has(attribute))
    text = marked.text() if marked is not None else ""
    return text or None


def _chips(item: Element, attribute: str, fallback: object) -> list[str]:
    marked = [e.text() for e in item.with_attr(attribute) if e.text()]
    if marked:
        return list(dict.fromkeys(marked))
    check = fallback if callable(fallback) else None
    found = [
        e.text()
        for e in item.find_all(lambda e: e.tag == "span" and len(e.children) == 1)
        if check is not None and check(e.text())
    ]
    return list(dict.fromkeys(found))


def _first(pattern: re.Pattern[str], text: str, *, whole: bool = False) -> str | None:
    match = pattern.search(text)
    if match is None:
        return None
    return match.group(0) if whole or not match.groups() else match.group(1)
