"""The spacing every view's layout shares, so the areas line up when a person switches tabs."""

MARGIN = 8  # between widgets and around the area's edge
ROW = 30  # one line of buttons, entries and drop-downs
