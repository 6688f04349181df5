"""Command-line entry points of the package."""
