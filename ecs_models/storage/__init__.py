"""Keeping the store healthy: one verify engine, health, repair, cleanup and prune, report, disk, archive, create."""
