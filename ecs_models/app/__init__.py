"""The ECS app: plugin, window, pacing, schedule, resources, worker pools, config, areas and frame state."""
