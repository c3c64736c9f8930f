"""A host pygame tool with its own loop, UIManager and esper world, embedding the model manager."""

from __future__ import annotations

import esper
import pygame
import pygame_gui

from ecs_models import ModelManagementPlugin


class Spin(esper.Processor):
    """The host's own system, in the host's own world: the plugin never touches it."""

    def process(self, dt: float) -> None:
        for _, angle in esper.get_component(list):
            angle[0] = (angle[0] + 90 * dt) % 360


def main() -> None:
    pygame.init()
    screen = pygame.display.set_mode((1280, 720))
    manager = pygame_gui.UIManager((1280, 720))
    pygame_gui.elements.UILabel(pygame.Rect(10, 10, 240, 30), "Host tool", manager=manager)
    esper.add_processor(Spin())
    esper.create_entity([0.0])

    plugin = ModelManagementPlugin(manager=manager, rect=pygame.Rect(280, 0, 1000, 720))
    clock = pygame.time.Clock()
    running = True
    while running:
        dt = clock.tick(60) / 1000
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                running = False
            manager.process_events(event)
            if plugin.process_event(event):
                continue  # the panel used it: the host's own handling skips it
        esper.process(dt)
        plugin.update(dt)
        manager.update(dt)
        screen.fill((30, 30, 30))
        manager.draw_ui(screen)
        pygame.display.flip()
    plugin.close()  # cancels running pulls (partials stay resumable) and waits for workers
    pygame.quit()


if __name__ == "__main__":
    main()
