"""Reusable pygame_gui widgets, one per module, named after what they show."""
