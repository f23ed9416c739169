"""The version of layerwise: defined here only (pyproject.toml reads it)."""

__version__ = "0.1.0"
