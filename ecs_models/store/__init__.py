"""The models directory, byte-for-byte Ollama's: manifests, blobs, locks, the one scan, usage and history."""
