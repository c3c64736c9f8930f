"""Pygame drawing shared by the Performance area's widgets: colours, a cached font, text."""

from __future__ import annotations

import pygame

BACKGROUND = pygame.Color("#1d2127")
TRACK = pygame.Color("#2a2f37")
BORDER = pygame.Color("#3a4049")
TEXT = pygame.Color("#d7dde5")
DIM_TEXT = pygame.Color("#a8b3c1")
OK = pygame.Color("#3fb950")
WARN = pygame.Color("#d29922")
CRITICAL = pygame.Color("#f85149")
LINE = pygame.Color("#2f81f7")

_fonts: dict[int, pygame.font.Font] = {}


def font(size: int = 16) -> pygame.font.Font:
    """pygame's built-in font, loaded once per size (loading costs far more than drawing)."""
    found = _fonts.get(size)
    if found is None:
        if not pygame.font.get_init():
            pygame.font.init()
        found = _fonts[size] = pygame.font.Font(None, size)
    return found


def level_colour(fraction: float) -> pygame.Color:
    """Green below 70 %, amber below 90 %, red above: how full a resource is."""
    if fraction < 0.7:
        return OK
    if fraction < 0.9:
        return WARN
    return CRITICAL


def blit_text(
    surface: pygame.Surface,
    text: str,
    pos: tuple[int, int],
    *,
    colour: pygame.Color = TEXT,
    size: int = 16,
    right: bool = False,
) -> None:
    image = font(size).render(text, True, colour)
    x, y = pos
    surface.blit(image, (x - image.get_width(), y) if right else (x, y))
