"""pygame_gui widgets of the model manager panel; only the app and the plugin import these."""
