"""The assembled command line: importing the command modules registers their commands on `app`."""

import sys

from nnapp.cli import grade, inspect, lab, lab_anim, sweep, train  # noqa: F401  (registers the commands)
from nnapp.cli.shell import app, err, fail
from nnapp.cli.signals import Interrupted, install_console_policy


def main() -> None:
    """Run the command line as the `nnapp` process (nnapp.cli.launcher calls this once it has imported)."""
    install_console_policy()
    try:
        app()
    except KeyboardInterrupt:  # before typer runs the command (e.g. while importing)
        err.print("interrupted")
        sys.exit(130)
    except Interrupted as exc:  # a stop signal before typer runs the command (parsing its arguments)
        fail(f"interrupted by {exc.signal_name}", 130)
        sys.exit(130)
