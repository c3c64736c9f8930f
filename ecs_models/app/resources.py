"""A typed registry of ECS resources (Bevy's Resource): one instance per type, no globals."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


class Resources:
    """Holds one object per type; systems ask for the type and get that object back typed."""

    def __init__(self) -> None:
        self._items: dict[type[Any], Any] = {}

    def insert(self, value: object) -> None:
        self._items[type(value)] = value

    def get(self, kind: type[T]) -> T:
        try:
            value = self._items[kind]
        except KeyError:
            raise KeyError(f"no resource of type {kind.__name__} was inserted") from None
        assert isinstance(value, kind)
        return value

    def try_get(self, kind: type[T]) -> T | None:
        value = self._items.get(kind)
        return value if isinstance(value, kind) else None

    def __contains__(self, kind: type[Any]) -> bool:
        return kind in self._items
