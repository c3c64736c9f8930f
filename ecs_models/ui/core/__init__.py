"""What every pygame_gui view shares: the view base, event claims, notices, sleeping and visibility."""
