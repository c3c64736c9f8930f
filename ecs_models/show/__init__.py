"""What `ollama show` answers about an installed model: facts, capabilities, its Go template, Go-style values."""
