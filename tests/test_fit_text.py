"""Cutting text to a width with a real pygame font: labels and list rows never spill over."""

from __future__ import annotations

import pygame
import pytest

from ecs_models.ui.core.fit_text import ELLIPSIS, elide_end, elide_middle, fit_row, text_width

# As the Storage tab lists a model: name, size, health badge, then what removing it does.
ROW = "many-llama-0005:instruct   111 KB   not verified   frees 0 B   shared 111 KB   missing 0 B"


@pytest.fixture(scope="module")
def font() -> pygame.font.Font:
    pygame.font.init()
    return pygame.font.Font(None, 18)


@pytest.mark.parametrize("width", [60, 120, 200, 320, 420, 2000])
def test_every_cut_fits_its_width(font: pygame.font.Font, width: int) -> None:
    for cut in (
        elide_end(font, ROW, width),
        elide_middle(font, ROW, width),
        fit_row(font, ROW, width),
    ):
        assert text_width(font, cut) <= width
        assert (cut == ROW) == (text_width(font, ROW) <= width)


def test_a_row_drops_middle_columns_before_the_name_or_the_badge(font: pygame.font.Font) -> None:
    full = text_width(font, ROW)
    shared = text_width(font, "   shared 111 KB")
    cut = fit_row(font, ROW, full - shared // 2)
    assert cut == "many-llama-0005:instruct   111 KB   not verified   frees 0 B   missing 0 B"
    kept = "many-llama-0005:instruct   111 KB   not verified   missing 0 B"
    assert fit_row(font, ROW, text_width(font, kept)) == kept
    # Narrower still: the name loses its middle, keeping more of its end (number and tag).
    tight = fit_row(font, ROW, text_width(font, "many-…05:instruct" + kept[24:]))
    head, _, tail = tight.partition(ELLIPSIS)
    assert tight.endswith("   111 KB   not verified   missing 0 B") and len(tail) > len(head)
