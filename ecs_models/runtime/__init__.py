"""Running models: llama.cpp in-process, the Ollama daemon, several hosts, the model cache, stats, machine samples."""
