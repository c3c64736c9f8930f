"""The Models area's view: the name entry, installed list, details, downloads and confirmations."""
