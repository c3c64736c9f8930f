"""The streams setting beside Install, driven headless, bounding a real pull's connections."""

from __future__ import annotations

from pathlib import Path

from panel_harness import PanelHarness
from pygame_gui.elements.ui_drop_down_menu import UIExpandedDropDownState
from support.faults import LinkProfile, ProxyFactory
from support.model_builder import MIB, push_small_model
from support.registry_server import RegistryServer

from ecs_models.app.config import LocalModelConfig
from ecs_models.components.installation import ModelInstallationTask
from ecs_models.transfer.progress import PullState


def test_streams_picked_beside_install_bound_the_next_pull(
    models_dir: Path, registry: RegistryServer, proxy_factory: ProxyFactory, unique_repo: str
) -> None:
    pushed = push_small_model(registry, unique_repo, "v1", gguf_size=8 * MIB, seed=71)
    # Each connection is capped, so the pull would take more streams if it could.
    capped = proxy_factory(registry, profile=LinkProfile(rate=1.5 * MIB))
    harness = PanelHarness(models_dir, capped.host)
    try:
        harness.settle()
        menu = harness.view.streams_menu.menu
        assert menu.selected_option[0] == "16 streams"
        harness.click(menu.menu_states["closed"].selected_option_button)
        expanded = menu.menu_states["expanded"]
        assert isinstance(expanded, UIExpandedDropDownState)
        assert expanded.options_selection_list is not None
        options = expanded.options_selection_list.item_list
        harness.click(next(o["button_element"] for o in options if o["text"] == "2 streams"))

        config = harness.plugin.resources.get(LocalModelConfig)
        harness.run_until(lambda: config.resource_limits.download_streams == 2, timeout=5)
        assert menu.selected_option[0] == "2 streams"
        harness.type_text(f"{pushed.repository}:{pushed.tag}")
        harness.press_enter()

        def done() -> bool:
            tasks = [task for _, task in harness.query(ModelInstallationTask)]
            return bool(tasks) and tasks[0].state is PullState.DONE

        harness.run_until(done, timeout=60)
    finally:
        harness.close()
    assert capped.peak_blob_connections == 2
