"""pygame_gui views only: core/ (what every view shares), widgets/, and one folder per area.

Views turn events into plain intents and show what they are given; they never run systems,
jobs or I/O. The UI systems in ecs_models.systems drive them, and lint-imports keeps views
from importing systems or the app.
"""
