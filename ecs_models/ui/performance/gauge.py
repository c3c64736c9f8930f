"""A monitor gauge: title, value text and a level-coloured bar, redrawn only on visible change."""

from __future__ import annotations

from typing import Any

import pygame
import pygame_gui

from ecs_models.ui.performance.draw import BACKGROUND, BORDER, TRACK, blit_text, level_colour

BAR_HEIGHT = 14


def draw_gauge(size: tuple[int, int], title: str, caption: str, fill: int | None) -> pygame.Surface:
    """`fill` is the bar's filled width in pixels (None: no reading yet, an empty track)."""
    width, height = max(8, size[0]), max(BAR_HEIGHT + 4, size[1])
    surface = pygame.Surface((width, height))
    surface.fill(BACKGROUND)
    blit_text(surface, title, (6, 4))
    blit_text(surface, caption, (width - 6, 4), right=True)
    bar = pygame.Rect(6, height - BAR_HEIGHT - 6, width - 12, BAR_HEIGHT)
    pygame.draw.rect(surface, TRACK, bar)
    if fill is not None and fill > 0:
        filled = pygame.Rect(bar.x, bar.y, min(fill, bar.width), bar.height)
        pygame.draw.rect(surface, level_colour(fill / max(1, bar.width)), filled)
    pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
    return surface


class Gauge(pygame_gui.elements.UIImage):
    """`show(fraction, caption)`: quantized to whole pixels of the bar, so an idle monitor whose
    readings wobble below a pixel costs one comparison per frame and no redraw."""

    def __init__(self, relative_rect: pygame.Rect, title: str, **kwargs: Any) -> None:
        self.title = title
        super().__init__(
            relative_rect=relative_rect,
            image_surface=draw_gauge(relative_rect.size, title, "", None),
            **kwargs,
        )
        self.caption = ""
        self.fraction: float | None = None
        self.redraws = 0
        self._key: tuple[object, ...] = ((relative_rect.width, relative_rect.height), None, "")

    def bar_width(self) -> int:
        return max(1, int(self.rect.width) - 12)

    def show_reading(self, fraction: float | None, caption: str | None = None) -> bool:
        """Set the reading (None: none yet); True when the gauge was redrawn."""
        caption = self.caption if caption is None else caption
        size = (int(self.rect.width), int(self.rect.height))
        fill = None if fraction is None else round(max(0.0, min(1.0, fraction)) * self.bar_width())
        key = (size, fill, caption)
        if key == self._key:
            return False
        self._key = key
        self.fraction, self.caption = fraction, caption
        self.set_image(draw_gauge(size, self.title, caption, fill))
        self.redraws += 1
        return True

    def place(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)
        self.show_reading(self.fraction, self.caption)
