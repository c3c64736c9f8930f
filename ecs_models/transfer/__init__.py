"""Moving blobs between registries and the store: pull, push and mirror, with the pull engine's parts."""
