"""Run directories, report.json / report.md and figures (matplotlib). Imports
layerwise.io, layerwise.data and layerwise.nn, and reads the results of
layerwise.experiments; never cli."""
