"""Pygame drawing shared by the Performance area's widgets: colours, a cached font, text."""

from __future__ import annotations

from importlib import resources

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
_text_fonts: dict[int, pygame.font.Font] = {}


def font(size: int = 16) -> pygame.font.Font:
    """pygame's built-in font, loaded once per size (loading costs far more than drawing)."""
    found = _fonts.get(size)
    if found is None:
        if not pygame.font.get_init():
            pygame.font.init()
        found = _fonts[size] = pygame.font.Font(None, size)
    return found


def text_font(size: int) -> pygame.font.Font:
    """Noto Sans, the face pygame_gui draws its labels in, so charts read like the widgets
    around them; pygame's own font where pygame_gui's copy cannot be read."""
    found = _text_fonts.get(size)
    if found is None:
        if not pygame.font.get_init():
            pygame.font.init()
        try:
            path = resources.files("pygame_gui.data").joinpath("NotoSans-Regular.ttf")
            with resources.as_file(path) as file:
                found = pygame.font.Font(str(file), size)
        except (OSError, FileNotFoundError, ModuleNotFoundError):
            found = pygame.font.Font(None, size + 4)
        _text_fonts[size] = found
    return found


def font_size(width: int) -> int:
    """A chart's text: pygame_gui's 14 px in a small window, a little larger in wide ones."""
    return 14 if width < 760 else 15 if width < 1100 else 16


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
    face: pygame.font.Font | None = None,
) -> None:
    """Draw `text` at `pos` (its top-right corner with `right`), in `face` if given."""
    image = (face or font(size)).render(text, True, colour)
    x, y = pos
    surface.blit(image, (x - image.get_width(), y) if right else (x, y))


def fit_text(
    text: str,
    width: int,
    size: int = 16,
    *,
    middle: bool = False,
    face: pygame.font.Font | None = None,
) -> str:
    """`text`, cut with "…" when wider than `width` pixels: at the end, or in the middle
    (`middle`, for model names, whose tag at the end matters)."""
    face = face or font(size)
    if face.size(text)[0] <= width:
        return text

    def cut(keep: int) -> str:
        if not middle:
            return text[:keep] + "…"
        tail = keep // 2
        return text[: keep - tail] + "…" + (text[-tail:] if tail else "")

    low, high = 0, len(text)
    while low < high:  # the most characters that fit with the ellipsis
        count = (low + high + 1) // 2
        if face.size(cut(count))[0] <= width:
            low = count
        else:
            high = count - 1
    return cut(low) if low else ""
