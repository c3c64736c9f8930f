"""Ollama's resume of a partial blob download, ported from its server/download.go.

What a partial state we leave behind must satisfy for a real Ollama to finish it: `Prepare`
globs `<blob>-partial-*`, decodes each file's first JSON value (keys matched case-insensitively,
values must be integers), and takes the blob's size as the sum of the parts' `Size`; `run`
truncates `<blob>-partial` to that size, fetches `[Offset+Completed, Offset+Size)` of every part
not complete and writes it at `Offset+Completed`, then deletes `-partial-0` ... `-partial-(n-1)`
by index (a missing number is an error) and renames the data file into place. Only the HTTP
client differs: a plain ranged GET against the real registry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx


class OllamaResumeError(Exception):
    """Where Ollama's own code would have returned an error."""


@dataclass
class OllamaPart:
    n: int
    offset: int
    size: int
    completed: int

    @property
    def starts_at(self) -> int:
        return self.offset + self.completed

    @property
    def stops_at(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class OllamaResume:
    """What a resume did: the parts it read and the ranges it fetched."""

    parts: list[OllamaPart]
    fetched: list[tuple[int, int]]  # (start, end exclusive)

    @property
    def fetched_bytes(self) -> int:
        return sum(end - start for start, end in self.fetched)


def read_part(path: Path) -> OllamaPart:
    """`readPart`: json.NewDecoder(file).Decode(&part), through jsonBlobDownloadPart."""
    try:
        value, _ = json.JSONDecoder().raw_decode(path.read_text().lstrip())
    except (OSError, ValueError) as exc:
        raise OllamaResumeError(f"{path.name}: {exc}") from exc
    if not isinstance(value, dict):
        raise OllamaResumeError(f"{path.name}: not a JSON object")
    fields = {"n": 0, "offset": 0, "size": 0, "completed": 0}
    for key, item in value.items():
        name = key.lower()
        if name in fields:
            if not isinstance(item, int) or isinstance(item, bool):
                raise OllamaResumeError(f"{path.name}: {key} is not an integer")
            fields[name] = item
    return OllamaPart(**fields)


def prepare(blob: Path) -> list[OllamaPart]:
    """`Prepare`: the parts of an existing partial download (Go's Glob sorts its matches)."""
    paths = sorted(blob.parent.glob(blob.name + "-partial-*"))
    return [read_part(path) for path in paths]


def ollama_resume(blob: Path, blob_url: str) -> OllamaResume:
    """Finish the partial download of `blob` (its final path in blobs/) the way Ollama does."""
    parts = prepare(blob)
    if not parts:
        raise OllamaResumeError("no partial download to resume")
    total = sum(part.size for part in parts)
    data = Path(str(blob) + "-partial")
    fetched: list[tuple[int, int]] = []
    fd = os.open(data, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.ftruncate(fd, total)
        with httpx.Client(timeout=30) as client:
            for part in parts:
                if part.completed == part.size:
                    continue
                start, stop = part.starts_at, part.stops_at
                response = client.get(blob_url, headers={"Range": f"bytes={start}-{stop - 1}"})
                if response.status_code not in (200, 206):
                    raise OllamaResumeError(f"HTTP {response.status_code} for part {part.n}")
                body = response.content[: stop - start]
                os.pwrite(fd, body, start)
                part.completed += len(body)
                fetched.append((start, start + len(body)))
                (data.parent / f"{data.name}-{part.n}").write_text(
                    json.dumps(
                        {
                            "N": part.n,
                            "Offset": part.offset,
                            "Size": part.size,
                            "Completed": part.completed,
                        }
                    )
                    + "\n"
                )
    finally:
        os.close(fd)
    for index in range(len(parts)):
        try:
            os.remove(f"{data}-{index}")
        except FileNotFoundError as exc:
            raise OllamaResumeError(f"{data.name}-{index} is missing") from exc
    os.rename(data, blob)
    return OllamaResume(parts, fetched)
