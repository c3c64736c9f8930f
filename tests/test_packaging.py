"""The wheel must carry every subpackage: pyproject lists them by hand beside the path mapping."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "ecs_models").glob("**/__init__.py")
    }
    # systems/ components/ assets/ are reached through the symlinks inside ecs_models/.
    found |= {f"ecs_models.{name}" for name in ("systems", "components", "assets")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    mapping = config["tool"]["setuptools"]["package-dir"]
    assert mapping["ecs_models.systems"] == "systems"
    assert mapping["ecs_models.components"] == "components"
