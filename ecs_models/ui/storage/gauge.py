"""The disk gauge: used space of the models filesystem with its warn and critical marks, in pygame."""

from __future__ import annotations

from typing import Any

import pygame
import pygame_gui

from ecs_models.storage.disk import DiskLevel, DiskStatus

BACKGROUND = pygame.Color("#2a2f37")
BORDER = pygame.Color("#3a4049")
LEVEL_COLOURS = {
    DiskLevel.OK: pygame.Color("#3fb950"),
    DiskLevel.WARN: pygame.Color("#d29922"),
    DiskLevel.CRITICAL: pygame.Color("#f85149"),
}
WARN_MARK = pygame.Color("#f2cc60")
CRITICAL_MARK = pygame.Color("#ff7b72")
MARK_WIDTH = 3


def mark_x(width: int, total: int, free_floor: int) -> int:
    """The x where the used bar reaches `free_floor` bytes free (clamped inside the gauge)."""
    if total <= 0:
        return 0
    used_at = max(0, total - free_floor)
    return max(0, min(width - MARK_WIDTH, round(used_at / total * width)))


def draw_gauge(size: tuple[int, int], status: DiskStatus | None) -> pygame.Surface:
    """Used space fills from the left in the level's colour; marks show where warn/critical begin."""
    width, height = max(4, size[0]), max(4, size[1])
    surface = pygame.Surface((width, height))
    surface.fill(BACKGROUND)
    if status is not None and status.total > 0:
        # Measured as "not free" (reserved blocks included), like the marks, which are in free bytes.
        used = round((status.total - status.free) / status.total * width)
        pygame.draw.rect(surface, LEVEL_COLOURS[status.level], (0, 0, used, height))
        for floor, colour in (
            (status.limits.warn_free, WARN_MARK),
            (status.limits.critical_free, CRITICAL_MARK),
        ):
            x = mark_x(width, status.total, floor)
            pygame.draw.rect(surface, colour, (x, 0, MARK_WIDTH, height))
    pygame.draw.rect(surface, BORDER, surface.get_rect(), 1)
    return surface


class DiskGauge(pygame_gui.elements.UIImage):
    """Redraws its surface only when the reading (or its own size) changes."""

    def __init__(self, relative_rect: pygame.Rect, **kwargs: Any) -> None:
        super().__init__(
            relative_rect=relative_rect,
            image_surface=draw_gauge(relative_rect.size, None),
            **kwargs,
        )
        self.status: DiskStatus | None = None
        self._key: tuple[object, ...] = ((relative_rect.width, relative_rect.height), None)

    def show_status(self, status: DiskStatus | None) -> bool:
        """True when the gauge was redrawn."""
        size = (int(self.rect.width), int(self.rect.height))
        reading = (
            None if status is None else (status.total, status.used, status.level, status.limits)
        )
        key = (size, reading)
        if key == self._key:
            return False
        self._key = key
        self.status = status
        self.set_image(draw_gauge(size, status))
        return True

    def place(self, rect: pygame.Rect) -> None:
        self.set_relative_position(rect.topleft)
        self.set_dimensions(rect.size)
        self.show_status(self.status)
