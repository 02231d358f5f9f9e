"""The package version, here at the bottom so that run files can record it without importing the
notebook API above them (pyproject.toml reads the same string)."""

__version__ = "0.1.0"
