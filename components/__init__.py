"""Plain-data ECS components of the model manager."""
