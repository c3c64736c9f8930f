"""The words of the Discover area: list rows, detail lines and where the catalog came from."""

from __future__ import annotations

from ecs_models.catalog import CatalogEntry, CatalogResult, Recommendation, fit_for
from ecs_models.catalog.updates import OUTDATED, UpdateStatus
from ecs_models.components.discover import TagRow
from ecs_models.formatting import human_bytes
from ecs_models.gguf.memory import FitVerdict, MachineMemory

SEP = "   "


def clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: max(1, length - 1)].rstrip() + "…"


def clip_middle(text: str, length: int) -> str:
    """Keep both ends of a long name: the registry at the start, the tag at the end."""
    if len(text) <= length:
        return text
    head = max(1, (length - 1) // 2)
    return text[:head] + "…" + text[len(text) - (length - 1 - head) :]


def pulls_text(pulls: int | None) -> str:
    if pulls is None:
        return ""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if pulls >= scale:
            return f"{pulls / scale:.1f}".removesuffix(".0") + f"{unit} pulls"
    return f"{pulls} pulls"


def origin_text(result: CatalogResult) -> str:
    """'ollama.com · offline snapshot from 2026-08-21 (97 days old)' and the like."""
    age = result.age_text()
    if result.origin == "snapshot":
        date = result.extra.get("snapshot_date") or f"{result.fetched_at:%Y-%m-%d}"
        where = f"offline snapshot from {date} ({age})"
    elif result.origin == "cache":
        where = f"cached copy, {age}" if age != "just now" else "cached copy from just now"
    else:
        where = "live, just now"
    return f"{len(result.entries)} models from {result.source} · {where}"


def fit_word(fit: FitVerdict | None) -> str:
    return str(fit.verdict) if fit is not None else "fit unknown"


def result_row(entry: CatalogEntry, memory: MachineMemory | None, width: int) -> str:
    """name, size of the default tag, fit, capabilities, pulls, then as much description as fits."""
    tag = entry.default_tag
    parts = [entry.name.rsplit("/", 1)[-1] if entry.source != "ollama.com" else entry.name]
    if tag is not None and tag.size is not None:
        parts.append(human_bytes(tag.size))
        if memory is not None:
            parts.append(str(fit_for(tag.size, memory).verdict))
    elif tag is not None and tag.cloud:
        parts.append("cloud")
    if entry.capabilities:
        parts.append(",".join(entry.capabilities))
    if entry.pulls:
        parts.append(pulls_text(entry.pulls))
    elif entry.tag_count:
        parts.append(f"{entry.tag_count} tag{'s' if entry.tag_count != 1 else ''}")
    head = SEP.join(parts)
    if entry.description:
        head += " - " + entry.description
    return clip(head, width)


def recommendation_row(pick: Recommendation, width: int) -> str:
    size = human_bytes(pick.tag.size or 0)
    head = SEP.join([pick.reference, size, str(pick.fit.verdict), pulls_text(pick.entry.pulls)])
    return clip(head, width)


def tag_row(row: TagRow, width: int) -> str:
    parts = [row.name]
    if row.cloud and row.size is None:
        parts.append("cloud only")
    else:
        size = human_bytes(row.size) if row.size is not None else "size unknown"
        parts.append(size if row.size_exact or row.size is None else f"~{size}")
        parts.append(fit_word(row.fit))
    if row.installed:
        parts.append("installed")
    elif row.present:
        parts.append(f"{human_bytes(row.present)} already here")
    elif row.present == 0:
        parts.append("nothing here yet")
    return clip(SEP.join(parts), width)


def status_row(status: UpdateStatus, width: int) -> str:
    """The state is what the row is for: a long name gives way in its middle, never the state."""
    tail = [status.state]
    if status.state == OUTDATED and status.change_bytes is not None:
        tail = [f"update available, {human_bytes(status.change_bytes)} to download"]
    if status.pinned:
        tail.append("pinned")
    end = SEP.join(tail)
    name = clip_middle(status.model.display, max(12, width - len(end) - len(SEP)))
    return name + SEP + end


def entry_details(entry: CatalogEntry, width: int, pick: Recommendation | None = None) -> list[str]:
    lines = [clip(entry.name, width), clip(entry.description or "No description.", width)]
    facts = []
    if entry.capabilities:
        facts.append("capabilities: " + ", ".join(entry.capabilities))
    if entry.pulls:
        facts.append(pulls_text(entry.pulls))
    if entry.updated:
        facts.append(f"updated {entry.updated}")
    lines.append(clip(" · ".join(facts) or f"from {entry.source}", width))
    if pick is not None:
        lines.append(clip(f"Recommended: {pick.tag.name} {pick.fit.verdict}", width))
        lines.append(clip(pick.fit.reason, width))
    return lines


def fit_details(row: TagRow | None, width: int) -> list[str]:
    if row is None or row.fit is None:
        return []
    return [
        clip(f"{row.name}: {row.fit.verdict} on this machine", width),
        clip(row.fit.reason, width),
    ]


def status_details(status: UpdateStatus, width: int) -> list[str]:
    model = status.model
    lines = [clip(model.display, width), f"Installed: {model.digest.removeprefix('sha256:')[:12]}"]
    if status.remote_digest:
        lines.append(f"Registry: {status.remote_digest.removeprefix('sha256:')[:12]}")
    if status.state == OUTDATED and status.change is not None:
        change = status.change
        lines.append(
            clip(
                f"Update downloads {human_bytes(change.to_download)} of {human_bytes(change.total)}"
                f" ({human_bytes(change.present)} already here)",
                width,
            )
        )
    else:
        lines.append(clip(f"State: {status.state}", width))
    lines.append("Pinned: Update all skips it" if status.pinned else "Not pinned")
    if status.error:
        lines.append(clip(status.error, width))
    return lines
