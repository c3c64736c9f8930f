"""The Remote area's view: push and mirror to registries, several Ollama hosts side by side."""
