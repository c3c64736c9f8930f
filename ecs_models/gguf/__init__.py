"""What a GGUF file says: its header (local or still in the registry), memory needed, fit on this machine."""
