"""Subcommands of the `layerwise` command line, one module each (see layerwise.cli)."""
