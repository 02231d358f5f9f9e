"""The `nnapp` console script: stop signals handled from the first instruction, then the command line.

Importing typer and rich (and through them the commands) takes about 0.1 s. A SIGTERM or SIGHUP in that
window used to kill the process silently (exit 143): this module imports nothing heavy, so its handler is
in place before anything else is imported; nnapp.cli.app.main then installs the full policy.
"""

from __future__ import annotations

import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    # rich may not be imported yet: the same line the command line prints, written plainly
    sys.stderr.write(f"error: interrupted by {signal.Signals(signum).name}\n")
    sys.stderr.flush()
    raise SystemExit(130)


def main() -> None:
    """The entry point of pyproject's [project.scripts]."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(s) != signal.SIG_IGN:  # nohup's ignored SIGHUP stays ignored
            signal.signal(s, _interrupted_while_starting)
    try:
        from nnapp.cli.app import main as run_command_line
    except KeyboardInterrupt:  # Ctrl-C while importing: what nnapp.cli.app.main says, not a traceback
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run_command_line()
