"""Ctrl-C, SIGTERM and SIGHUP during training: finish the step, save everything, exit 130."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from nnapp.cli.shell import (
    fail,
)

console_script = False  # set by main(): the process ends when the command does


def stop_signals() -> list[signal.Signals]:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP, unless started under nohup, which ignores it)."""
    hangup = [] if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else [signal.SIGHUP]
    return [signal.SIGINT, signal.SIGTERM, *hangup]


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM/SIGHUP set the event: training finishes its step, then everything is saved.

    On the way out, the console script keeps ignoring them (everything is saved; a late Ctrl-C
    must not turn exit code 130 into a traceback), while in-process callers such as tests get their
    own handlers back.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in stop_signals()}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_IGN if console_script else handler)


def interrupt(signum: int, frame: object) -> None:
    # SystemExit, not KeyboardInterrupt: typer would turn the latter into a silent exit 130
    raise SystemExit(fail(f"interrupted by {signal.Signals(signum).name}", 130).exit_code)
