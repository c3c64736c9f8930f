"""A view's one-line notice: its text and its info/error colour change only when they differ."""

from __future__ import annotations

from typing import Any

from pygame_gui.core import ObjectID

NOTICE_IDS = {False: "#ecsm_notice_info", True: "#ecsm_notice_error"}


def show_notice_text(
    label: Any, shown: tuple[str, bool], text: str, error: bool
) -> tuple[str, bool]:
    """Put `text` on `label` in the error or info colour; returns what is shown now.

    Relabelling a UILabel rebuilds it, so an unchanged notice costs nothing.
    """
    if (text, error) == shown:
        return shown
    if error != shown[1]:
        label.change_object_id(ObjectID(object_id=NOTICE_IDS[error]))
    label.set_text(text)
    return (text, error)
