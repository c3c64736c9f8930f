"""The Performance area's view: monitor gauges, the app's FPS, fit, stats and runtime buttons."""
