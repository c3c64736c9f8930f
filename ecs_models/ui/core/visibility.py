"""Show, hide and kill pygame_gui elements: typed wrappers for methods pygame_gui leaves untyped."""

from __future__ import annotations

from typing import Any


def show(*elements: Any) -> None:
    for element in elements:
        element.show()


def hide(*elements: Any) -> None:
    for element in elements:
        element.hide()


def kill(*elements: Any) -> None:
    for element in elements:
        element.kill()
