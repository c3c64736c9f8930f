"""Talking to OCI registries: the client, credentials, TLS, blob HTTP and ranged reads, bounded bodies, manifest policy."""
