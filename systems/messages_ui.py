"""UI set: every notice goes into the history, and the Messages list shows it when open."""

from __future__ import annotations

import esper
import pygame

from ecs_models.app.resources import Resources
from ecs_models.app.schedule import System
from ecs_models.components.notice import Notice, NoticeLevel, NoticeLog
from ecs_models.ui.widgets.messages import MessagesPanel, messages_html


class NoticeLogSystem(System):
    """Copies each new notice into the NoticeLog: the notice line fades, the history stays."""

    def __init__(self, resources: Resources) -> None:
        super().__init__()
        self.log = resources.get(NoticeLog)

    def process(self, dt: float) -> None:
        new = [n for _, n in esper.get_component(Notice) if not n.logged]
        for notice in sorted(new, key=lambda n: n.created_at):
            notice.logged = True
            self.log.add(notice.text, notice.level)


class MessagesUISystem(System):
    """Keeps the Messages button's count and the open list in step with the log."""

    def __init__(self, resources: Resources, panel: MessagesPanel, bounds: pygame.Rect) -> None:
        super().__init__()
        self.log = resources.get(NoticeLog)
        self.panel = panel
        self.bounds = pygame.Rect(bounds)
        self.wanted_open = False
        self._shown_version = -1

    def toggle(self, open_it: bool) -> None:
        self.wanted_open = open_it

    def process(self, dt: float) -> None:
        version = self.log.version
        if self.wanted_open != self.panel.is_open:
            if self.wanted_open:
                self.panel.open(self.bounds, self._html())
            else:
                self.panel.close()
            self._shown_version = version
        elif self.panel.is_open and version != self._shown_version:
            self._shown_version = version
            self.panel.show_messages(self._html())
        self.panel.show_count(len(self.log.entries))

    def _html(self) -> str:
        return messages_html(
            [
                (e.at.strftime("%H:%M:%S"), e.text, e.level is NoticeLevel.ERROR)
                for e in self.log.entries
            ]
        )
