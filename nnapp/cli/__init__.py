"""The command line layer: the only code that prints, exits or imports typer and rich."""

from nnapp.cli.app import app, main

__all__ = ["app", "main"]
