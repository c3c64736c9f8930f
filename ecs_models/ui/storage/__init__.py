"""The Storage area's view: report, disk gauge, cleanup, verify and repair, export and import."""
