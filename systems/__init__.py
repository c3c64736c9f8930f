"""ECS systems, one concern each, run in chained sets each frame."""
