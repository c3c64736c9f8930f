"""Which pygame events belong to a view: one rule shared by every view of the manager."""

from __future__ import annotations

from typing import Any

import pygame

_MOUSE = (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEWHEEL)


def owns(view: Any, element: object) -> bool:
    """True when `element` is `view`, its container, or a widget (or part of one) inside it."""
    roots = (view, view.get_container())
    probe: object | None = element
    for _ in range(32):
        if probe is None:
            return False
        if any(probe is root for root in roots):
            return True
        parent = getattr(probe, "parent_element", None)
        probe = parent if parent is not None else getattr(probe, "ui_container", None)
    return False


def claim_event(view: Any, event: pygame.event.Event) -> tuple[bool, Any]:
    """(handled, element): the view's own widget the event is about, or None.

    A mouse event with no widget still counts as handled when it lands on the visible view,
    so a host does not act on clicks that went to the panel's background.
    """
    element = getattr(event, "ui_element", None)
    if element is None:
        if event.type in _MOUSE:
            pos = getattr(event, "pos", None) or pygame.mouse.get_pos()
            return bool(view.visible and view.rect.collidepoint(pos)), None
        return False, None
    if not owns(view, element):
        return False, None
    return True, element
