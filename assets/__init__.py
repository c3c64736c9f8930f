"""Package data: theme, catalog snapshot."""
