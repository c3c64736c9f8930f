"""A progress bar whose caption reads '42 % 85.0 MB/s 0:12' and that redraws only when it moves."""

from __future__ import annotations

from typing import Any

import pygame_gui


class TransferProgressBar(pygame_gui.elements.UIProgressBar):
    """Takes a fraction in [0, 1] and a caption; unchanged values cost nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # UIStatusBar loads its font only if the caption is non-empty while it is themed.
        self.caption = " "
        super().__init__(*args, **kwargs)

    def status_text(self) -> str:
        return self.caption

    def show_progress(self, fraction: float, caption: str) -> bool:
        """Set fraction and caption; True when the bar will redraw."""
        # Quantize to a pixel of the bar so a redraw (about 0.4 ms) happens only on visible change.
        width = max(1, int(self.rect.width))
        quantized = round(max(0.0, min(1.0, fraction)) * width) / width
        if quantized == self.percent_full and caption == self.caption:
            return False
        self.caption = caption
        # percent_full treats values > 1 as percentages; ours never exceed 1.
        self.percent_full = quantized
        self.status_changed = True
        return True
