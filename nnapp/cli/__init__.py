"""The command line layer: the only code that prints, exits or imports typer and rich.

Deliberately empty: nnapp.cli.launcher (the console script) must be importable without typer and rich.
The typer app is nnapp.cli.app.app.
"""
