"""The assembled command line: importing the command modules registers their commands on `app`."""

from __future__ import annotations

import signal
import sys

from nnapp.cli import inspect, lab, lab_anim, signals, sweep, train  # noqa: F401  (registers the commands)
from nnapp.cli.shell import (
    app,
    err,
)


def main() -> None:
    signals.console_script = True
    # Until a command installs its own handlers (training saves, a sweep stops its workers), SIGTERM and
    # SIGHUP end the command like Ctrl-C: one line and exit code 130, not a silent kill or a traceback.
    for s in signals.stop_signals()[1:]:
        signal.signal(s, signals.interrupt)
    try:
        app()
    except KeyboardInterrupt:  # before typer runs the command (e.g. while importing)
        err.print("interrupted")
        sys.exit(130)
