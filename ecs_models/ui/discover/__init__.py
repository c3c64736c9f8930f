"""The Discover area's view: search, filters, results, details and updates."""
